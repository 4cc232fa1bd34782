#!/usr/bin/env bash
# The acceptance check of issue 5: under
#   braidrun -n 4 all_reduce_perf -b 256M -e 256M -n 1000
# `kill -9` of one rank mid-run makes the other three exit within 5 s, with a message
# naming the killed rank and its host. Prints the measured time for each rank killed.
#
#   kill_perf_rank.sh BUILD_DIR [RANK...]      (default: ranks 1 and 3)
#
# The kill waits for all_reduce_perf's table header, which the ranks print once the
# communicator is up and the timed loop begins: a file watched with a deadline, not a
# guess at how long start-up takes.
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR [RANK...]}
shift
victims=("$@")
[ ${#victims[@]} -gt 0 ] || victims=(1 3)
limit=5

dir=$(mktemp -d)
job=""
cleanup() {
  [ -n "$job" ] && kill -9 "$job" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

now() { date +%s.%N; }
fail() { echo "FAIL: $*" >&2; echo "--- stdout" >&2; cat "$dir/out" >&2 || true; echo "--- stderr" >&2; cat "$dir/err" >&2 || true; exit 1; }

for victim in "${victims[@]}"; do
  : >"$dir/out"
  : >"$dir/err"
  "$build/tools/braidrun" -n 4 "$build/perf/all_reduce_perf" -b 256M -e 256M -n 1000 >"$dir/out" 2>"$dir/err" &
  job=$!
  # Start-up allocates and fills 2 GiB; give it a minute before calling it stuck.
  for ((i = 0; i < 600; i++)); do
    grep -q '(elements)' "$dir/out" && break
    kill -0 "$job" 2>/dev/null || fail "the job ended before the timed loop began"
    sleep 0.1
  done
  grep -q '(elements)' "$dir/out" || fail "the timed loop did not begin within 60 s"
  # "#  Rank  2 Group  0 Pid   1234 on    host device ..." names each rank's pid and host.
  read -r pid host < <(awk -v r="$victim" '$2 == "Rank" && $3 == r { print $7, $9; exit }' "$dir/out")
  [ -n "${pid:-}" ] || fail "no pid for rank $victim in the header"

  start=$(now)
  kill -9 "$pid"
  # braidrun's own exit ends the wait; a watchdog bounds it.
  ( sleep 30; kill -9 "$job" 2>/dev/null ) &
  watchdog=$!
  rc=0
  wait "$job" || rc=$?
  end=$(now)
  kill "$watchdog" 2>/dev/null || true
  wait "$watchdog" 2>/dev/null || true
  job=""
  took=$(echo "$end - $start" | bc)
  echo "killed rank $victim (pid $pid, host $host): the job ended after ${took} s with status $rc"
  grep -v '^braidrun:' "$dir/err" | sed 's/^/  /' | head -n 12

  [ "$rc" -ne 0 ] || fail "the job exited 0 after a rank was killed"
  [ "$(echo "$took < $limit" | bc)" -eq 1 ] || fail "the job took ${took} s to end (limit ${limit} s)"
  # At least one survivor's own message names the rank and its host ("rank 2 (host h"
  # or "rank 2 (h,"); braidrun's line names the rank and pid only.
  grep -E "rank $victim \((host )?$host[,)]" "$dir/err" >/dev/null ||
    fail "no survivor named rank $victim with its host $host"
  survivors=$(grep -cE "all_reduce_perf: rank [0-9]+: error: .*rank $victim \(host $host" "$dir/err" || true)
  echo "  $survivors of 3 survivors named rank $victim (host $host) before braidrun stopped the job"
done
echo "PASS"
