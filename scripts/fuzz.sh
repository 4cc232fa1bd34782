#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ (clang, ASan + UBSan) and runs each for a
# bounded time: FUZZ_SECONDS each (default 20). Fails on any crash, sanitizer report,
# leak or timeout; the input that caused it is kept under $BUILD/artifacts/.
#   scripts/fuzz.sh                 all targets
#   scripts/fuzz.sh join_hello      only the named ones
# FUZZ_BUILD_DIR (default build-fuzz) and FUZZ_CXX (default clang++) override;
# FUZZ_BUILD_LOCK names a file to flock around the build (machines shared by builders).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-20}"
build="${FUZZ_BUILD_DIR:-build-fuzz}"
cxx="${FUZZ_CXX:-clang++}"
all=(unique_id join_hello join_reply ring_hello frame_length peer_info tcp_endpoint tcp_hello)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

command -v "$cxx" >/dev/null || { echo "fuzz: $cxx not found (scripts/install-deps.sh installs clang)" >&2; exit 1; }
lock=()
[ -z "${FUZZ_BUILD_LOCK:-}" ] || lock=(flock "$FUZZ_BUILD_LOCK")
"${lock[@]}" cmake -S fuzz -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
"${lock[@]}" cmake --build "$build" -j"$(nproc)" --target make_seeds $(printf 'fuzz_%s ' "${targets[@]}") >/dev/null

# Fresh seeds every run (they follow the structs); what the fuzzers add lives beside
# them in corpus/ and is reused by the next run on this machine.
rm -rf "$build/seeds"
"$build/make_seeds" "$build/seeds"
mkdir -p "$build/artifacts"

failed=()
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t" "$build/seeds/$t"
  # Checked-in inputs (fuzz/corpus/<target>/): earlier findings, replayed every run.
  checked_in=()
  [ -d "fuzz/corpus/$t" ] && checked_in=("fuzz/corpus/$t")
  log="$build/artifacts/$t.log"
  echo "fuzz: $t for ${seconds}s"
  # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: an allocation that
  # a length field could blow up is a finding, not something to wait out.
  if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      "$build/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$t-" "$build/corpus/$t" "$build/seeds/$t" "${checked_in[@]}" >"$log" 2>&1; then
    failed+=("$t")
    echo "fuzz: $t FAILED; last lines of $log:" >&2
    tail -n 40 "$log" >&2
    continue
  fi
  grep -E "^stat::number_of_executed_units|^#[0-9]+.*DONE" "$log" | tail -n 1 | sed "s/^/fuzz: $t: /"
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failures in: ${failed[*]} (inputs under $build/artifacts/)" >&2
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${seconds}s each without a finding"
