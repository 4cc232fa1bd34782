#!/usr/bin/env bash
# Builds Braid with sanitizers and runs the tests under them; any report fails the run.
#
#   asan  build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer):
#                      the whole suite but the tests named in ASAN_SKIP below.
#   tsan  build-tsan/  ThreadSanitizer: the multi-process tests (ranks as processes
#                      under braidrun, and braidrun itself) and the unit tests that run
#                      ranks or helpers as threads (all but SINGLE_THREADED below).
#
# usage: scripts/sanitize.sh [asan] [tsan]     (default: both, asan first)
# env:   SCOPE       "all" (default, what CI runs) or "quick": a shorter selection (QUICK_SKIP)
#        JOBS        parallel compile jobs (default: every core)
#        CTEST_ARGS  extra ctest arguments, e.g. "-R Communicator" to run fewer tests
#        BUILD_LOCK  a file that configure and build hold with flock (a machine shared
#                    by several builders); the tests run without it
#
# A report fails its test through the exit code, but a process whose failure a test
# expects (a rank killed on purpose, a rank that must exit non-zero) would hide it. So
# every sanitized process also writes its ASan, LSan and TSan reports under
# <build>/sanitizer-reports/, and a stage fails when that folder is not empty
# afterwards; the reports are printed. UBSan reports are looked for in ctest's log.
set -euo pipefail
cd "$(dirname "$0")/.."

JOBS=${JOBS:-$(nproc)}
read -r -a EXTRA_CTEST <<<"${CTEST_ARGS:-}"

# Not run under either sanitizer, with why:
#  - package.*: builds a consumer with the system's plain compiler flags against the
#    installed libbraid.so; an uninstrumented program cannot load a sanitized library
#    (ASan insists on coming first) and the check is of packaging, which the Release
#    suite covers. readme.example_compiles_and_runs does the same with the README code.
#  - rdma.*: boots QEMU guests under emulation that already need both cores; sanitized
#    binaries inside them would not finish in CI's time.
NEVER='^package\.|^readme\.example_compiles_and_runs$|^rdma\.'
# The simulator's exactness checks at 1000, 1024 and 4096 ranks are single-process
# plan logic that takes minutes each under ASan; the same plans at 1-64, 127 and 128
# ranks run, and the Release suite runs them all.
# netns.multihost_hierarchical_and_tuning calibrates a throttled link and checks that
# the tuner's choice moves: under ASan the calibration measures the sanitizer, not the
# link, and runs past the job's 120 s limit. Hierarchical plans still run exactly in
# the forced-algorithm tests.
ASAN_SKIP="${NEVER}|^AlgorithmScale\.IsExact/.*_ranks(1000|1024|4096)|^netns\.multihost_hierarchical_and_tuning$"

# ThreadSanitizer sees races between threads of one process, so it runs every test
# with more than one thread (ranks as threads, progress and abort threads) or process
# (braid_mp_tests, fault tests, braidrun, the perf tools) and skips the suites below,
# which check plans, parsers, kernels and models on the calling thread alone. New
# suites run under it until they are named here. The simulator's exactness check
# spreads big rank counts over threads, so AlgorithmScale keeps its 128-rank cases.
SINGLE_THREADED='AlgoOverride|Algorithms|BootstrapParsers|Bruck|Convert|Dispatch|Env|FinishAvg|HalvingDoubling|Hierarchical|Ib(HcaSpec|Gid|Settings|CreditWindow|Stream)|Isa/Kernels|OpSignature|PreMultiply|RecursiveDoubling|Simulator|SimulatorPricing|TcpLayout|TcpWire|Topology|TreeAlgorithm|Tuner|TunerMeasured|TunerTuningFile|Types'
# LargeCollectives moves several MiB through every collective, type and op: more than
# five minutes per transport under TSan, for the same code paths as the small sizes.
TSAN_SKIP="${NEVER}|^(${SINGLE_THREADED})\.|^AlgorithmScale\.IsExact/.*_ranks(1to64|127|1000|1024|4096)|^Transports/LargeCollectives\."

# A quicker check by hand (about 10-15 minutes a stage on 2 cores instead of 20):
# leaves out the simulator at scale, the forced-algorithm and large-message sweeps,
# 3-rank fault cases (2 and 4 run), all soak jobs but one, perf, probe and namespace
# scripts. CI runs SCOPE=all.
QUICK_SKIP='^AlgorithmScale\.|^Algorithms/ForcedAlgorithms\.|^Transports/LargeCollectives\.|^fault\.Faults/KilledRank\..*_3ranks_|^soak\.(shm_4|tcp_)|^perf\.|^probe\.|^netns\.'
case "${SCOPE:-all}" in
  all) ;;
  quick)
    ASAN_SKIP="$ASAN_SKIP|$QUICK_SKIP"
    TSAN_SKIP="$TSAN_SKIP|$QUICK_SKIP"
    ;;
  *) echo "sanitize: SCOPE must be all or quick, not '$SCOPE'" >&2; exit 2 ;;
esac

# configure_and_build BUILD_DIR SANITIZERS
configure_and_build() {
  local lock=()
  [ -z "${BUILD_LOCK:-}" ] || lock=(flock "$BUILD_LOCK")
  # Debug: assertions stay on; the sanitizer option sets -O1 -g itself. `&&`, not
  # set -e, stops a failed configure: run_stage is called where errexit is ignored.
  # CUDA stays out: nvcc takes no GCC sanitizer flags, and ASan's shadow memory and the
  # CUDA driver do not share an address space without extra options that CI, with no
  # GPU, could not exercise anyway. The Release suite builds and runs the CUDA code.
  "${lock[@]}" cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ \
    -DBRAID_SANITIZE="$2" -DBRAID_WITH_CUDA=OFF >/dev/null &&
    "${lock[@]}" cmake --build "$1" -j"$JOBS"
}

# check_reports BUILD_DIR: fails, printing them, when any sanitized process wrote one.
# GCC 12's UBSan ignores log_path when it shares a runtime with ASan and writes to
# stderr, so its reports are looked for in what ctest logged of each test instead.
check_reports() {
  local reports=$1/sanitizer-reports log=$1/Testing/Temporary/LastTest.log status=0
  if compgen -G "$reports/*" >/dev/null; then
    echo "sanitize: reports in $reports:" >&2
    for f in "$reports"/*; do
      echo "----- $f" >&2
      cat "$f" >&2
    done
    status=1
  fi
  if [ -f "$log" ] && grep -q "runtime error:" "$log"; then
    echo "sanitize: UndefinedBehaviorSanitizer reports in $log:" >&2
    grep -A12 "runtime error:" "$log" >&2
    status=1
  fi
  return $status
}

# run_stage NAME BUILD_DIR SANITIZERS CTEST_SELECTION...
run_stage() {
  local name=$1 dir=$2 sanitizers=$3
  shift 3
  local start=$SECONDS status=0
  configure_and_build "$dir" "$sanitizers" || return 1
  local built=$SECONDS
  local reports=$PWD/$dir/sanitizer-reports
  rm -rf "$reports"
  mkdir -p "$reports"
  # halt_on_error: the first report ends the process, so a later crash cannot bury it.
  # Every runtime's exit code is set explicitly so that a report is never exit status 0.
  ASAN_OPTIONS="halt_on_error=1:exitcode=86:detect_leaks=1:check_initialization_order=1:strict_init_order=1:log_path=$reports/asan:log_exe_name=1" \
    UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
    TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1:log_path=$reports/tsan:log_exe_name=1" \
    ctest --test-dir "$dir" --output-on-failure --timeout 900 "$@" "${EXTRA_CTEST[@]}" || status=1
  check_reports "$dir" || status=1
  echo "sanitize: $name: build $((built - start))s, tests $((SECONDS - built))s, $([ $status -eq 0 ] && echo passed || echo FAILED)"
  return $status
}

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(asan tsan)
failed=()
for stage in "${stages[@]}"; do
  case $stage in
    asan) run_stage asan build-asan address,undefined -E "$ASAN_SKIP" || failed+=(asan) ;;
    tsan) run_stage tsan build-tsan thread -E "$TSAN_SKIP" || failed+=(tsan) ;;
    *)
      echo "usage: $0 [asan] [tsan]" >&2
      exit 2
      ;;
  esac
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "sanitize: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "sanitize: all stages passed"
