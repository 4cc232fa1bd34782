#!/usr/bin/env bash
# all_reduce_perf with each all-reduce algorithm forced by BRAID_ALGO, 4 ranks, every
# type and op, sizes 8 B to 1 MiB: #wrong must be 0 (exit 0), and the INFO log must
# show that the forced algorithm really ran. (Hierarchical needs several hosts: the
# netns test runs it through all_reduce_perf.)
# usage: check_forced_algorithms.sh BUILD_DIR
set -u
BUILD=${1:?usage: check_forced_algorithms.sh BUILD_DIR}
failures=0
for algo in ring tree hd; do
  log=$(BRAID_ALGO="allreduce:$algo" BRAID_DEBUG=INFO "$BUILD/tools/braidrun" -n 4 --timeout 300 \
    "$BUILD/perf/all_reduce_perf" -b 8 -e 1M -f 8 -d all -o all -c 1 -n 2 -w 1 2>&1)
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "FAIL: BRAID_ALGO=allreduce:$algo: all_reduce_perf exited $rc" >&2
    echo "$log" | grep -vE 'BRAID INFO' | tail -20 >&2
    failures=$((failures + 1))
  fi
  if ! echo "$log" | grep -q "all-reduce of [0-9]* bytes per rank: $algo, slice"; then
    echo "FAIL: BRAID_ALGO=allreduce:$algo: no all-reduce ran with $algo" >&2
    failures=$((failures + 1))
  fi
  if echo "$log" | grep 'all-reduce of' | grep -v ": $algo, slice" | grep -q .; then
    echo "FAIL: BRAID_ALGO=allreduce:$algo: some all-reduce ran with another algorithm" >&2
    failures=$((failures + 1))
  fi
  echo "allreduce:$algo: $(echo "$log" | grep -c '^ *[0-9]') result rows, exit $rc"
done
[ $failures -eq 0 ]
