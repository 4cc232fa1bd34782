#!/usr/bin/env bash
# Several "hosts" on this machine (network namespaces, see multihost.sh), 2 ranks each:
#  1. 2 and 3 hosts: every collective exact (collective_check), with the tuner's own
#     choices and with hierarchical forced; the log must show hierarchical plans ran.
#  2. A slow link moves the tuner: braid-probe --calibrate measures the link between two
#     hosts shaped to a low rate (tc tbf on host 0's link; this kernel has no netem, so
#     a rate limit stands in for a delay). The tuner's all-reduce choices for 2 hosts x
#     2 ranks with that tuning file must differ from its choices with the built-in
#     network costs, and real jobs (built-in costs, then the tuning file) must run the
#     algorithm each table names at the size where they differ, and be exact.
# usage: check_multihost.sh BUILD_DIR     Exit 0 pass, 1 fail, 77 skipped (no netns here).
set -u
BUILD=${1:?usage: check_multihost.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
HOSTS="$HERE/multihost.sh"
CHECK="$BUILD/tests/collective_check"
PROBE="$BUILD/tools/braid-probe"
PERF="$BUILD/perf/all_reduce_perf"
tmp=$(mktemp -d)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

bash "$HOSTS" --hosts 1 --ranks-per-host 1 -- true
case $? in
  0) ;;
  77) echo "SKIP: no network namespaces here (needs root and ip netns)"; exit 77 ;;
  *) echo "FAIL: multihost.sh cannot run a trivial job" >&2; exit 1 ;;
esac

# 1. Exact across hosts, tuned and hierarchical.
for hosts in 2 3; do
  for algo in "" hier; do
    log="$tmp/check-$hosts-${algo:-tuned}.log"
    if ! BRAID_ALGO="$algo" BRAID_DEBUG=INFO BRAID_TIMEOUT=60s bash "$HOSTS" --hosts $hosts --ranks-per-host 2 \
      --timeout 300 -- env BRAID_TRANSPORTS=shm,tcp "$CHECK" --quick >"$log" 2>&1; then
      fail "$hosts hosts, BRAID_ALGO='$algo': collective_check failed"; tail -20 "$log" >&2
    fi
    passed=$(grep -cE 'rank [0-9]+: [0-9]+ checks, 0 failed' "$log")
    [ "$passed" -eq $((hosts * 2)) ] || fail "$hosts hosts, BRAID_ALGO='$algo': $passed of $((hosts * 2)) ranks passed"
    grep -q ': hier, slice' "$log" || fail "$hosts hosts, BRAID_ALGO='$algo': no collective ran hierarchically"
  done
done

# 2. The tuner follows a calibrated slow link.
bash "$HOSTS" --hosts 2 --ranks-per-host 1 --rate 20mbit --timeout 120 -- \
  env BRAID_TRANSPORTS=shm,tcp "$PROBE" --calibrate "$tmp/slow.json" >"$tmp/calibrate.log" 2>&1 ||
  { fail "calibration of a 20 Mbit/s link failed"; tail -5 "$tmp/calibrate.log" >&2; }
grep -E 'latency|bandwidth' "$tmp/calibrate.log"
decide() { BRAID_TUNING_FILE=$1 "$PROBE" --decisions --ranks 4 --ranks-per-node 2 | awk '$1 == "all-reduce" {print $2, $3}'; }
decide "" >"$tmp/builtin.table" || fail "decisions with the built-in costs"
decide "$tmp/slow.json" >"$tmp/slow.table" || fail "decisions with the slow tuning file"
echo "all-reduce, 2 hosts x 2 ranks: size, built-in choice, choice after calibrating a 20 Mbit/s link:"
join "$tmp/builtin.table" "$tmp/slow.table"
moved=$(join "$tmp/builtin.table" "$tmp/slow.table" | awk '$2 != $3 {print $1; exit}')
if [ -z "$moved" ]; then
  fail "a 20 Mbit/s link did not change any all-reduce decision"
else
  bytes=$(awk -v s="$moved" 'BEGIN { u = substr(s, length(s)); n = s + 0;
    print (u == "K") ? n * 1024 : (u == "M") ? n * 1048576 : (u == "G") ? n * 1073741824 : n }')
  for file in "" "$tmp/slow.json"; do
    table="$tmp/builtin.table"; [ -n "$file" ] && table="$tmp/slow.table"
    want=$(awk -v s="$moved" '$1 == s {print $2}' "$table")
    BRAID_TUNING_FILE="$file" BRAID_DEBUG=INFO bash "$HOSTS" --hosts 2 --ranks-per-host 2 --timeout 120 -- \
      env BRAID_TRANSPORTS=shm,tcp "$PERF" -b "$bytes" -e "$bytes" -n 3 -w 1 -c 1 >"$tmp/perf.log" 2>&1 ||
      { fail "all_reduce_perf across 2 hosts failed"; tail -20 "$tmp/perf.log" >&2; }
    grep -q "all-reduce of $bytes bytes per rank: $want, slice" "$tmp/perf.log" ||
      fail "BRAID_TUNING_FILE='$file': the job did not run $want at $moved as its table says"
    grep -qE "^\[0\] +$bytes .* 0 +[0-9.]+ +[0-9.]+ +[0-9.]+ +0\$" "$tmp/perf.log" ||
      fail "all_reduce_perf at $moved: #wrong not 0"
  done
fi

[ $failures -eq 0 ] && echo "multihost: all checks passed" || echo "multihost: $failures failure(s)"
[ $failures -eq 0 ]
