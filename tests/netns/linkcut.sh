#!/usr/bin/env bash
# A network link that stops carrying data without any FIN or RST (a cut cable): two
# network namespaces joined by a veth pair, one rank in each, all-reducing over tcp in
# a loop (tests/fault/fault_rank). Once both are in the loop, both ends of the link go
# down; each rank must fail within BRAID_TIMEOUT=3s (+ 2 s slack) with an error naming
# the other. Needs root (ip netns); exits 77 (skip) where namespaces cannot be made.
#
#   linkcut.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR}
program="$build/tests/fault_rank"
timeout_s=3
slack_s=3  # the communicator's status query of an unreachable peer adds up to 2 s

tag=$$
ns0="braidcut$tag-0"
ns1="braidcut$tag-1"
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  ip netns del "$ns0" 2>/dev/null || true
  ip netns del "$ns1" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ] || ! ip netns add "$ns0" 2>/dev/null; then
  echo "linkcut: SKIP: cannot create network namespaces here (needs root and ip netns)" >&2
  exit 77
fi
ip netns add "$ns1"
ip link add "cut$tag-a" netns "$ns0" type veth peer name "cut$tag-b" netns "$ns1"
prefix="10.$((tag % 200 + 20)).$(((tag / 200) % 250))"
ip -n "$ns0" addr add "$prefix.1/24" dev "cut$tag-a"
ip -n "$ns1" addr add "$prefix.2/24" dev "cut$tag-b"
for n in "$ns0" "$ns1"; do ip -n "$n" link set lo up; done
ip -n "$ns0" link set "cut$tag-a" up
ip -n "$ns1" link set "cut$tag-b" up

# Status lines (see fault_rank.cpp) go to one file, appended whole; the release FIFO
# stays open here until the end, so the ranks outlive their errors.
: >"$dir/status"
mkfifo "$dir/release"
exec 5<>"$dir/release"
secret=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
root="$prefix.1:$((20000 + tag % 20000))"
for r in 0 1; do
  n=$ns0 dev="cut$tag-a"
  [ $r -eq 1 ] && n=$ns1 dev="cut$tag-b"
  ip netns exec "$n" env BRAID_RANK=$r BRAID_SIZE=2 BRAID_LOCAL_RANK=0 BRAID_LOCAL_SIZE=1 BRAID_ROOT="$root" \
    BRAID_SECRET="$secret" BRAID_HOST_ID="cut-host-$r" BRAID_SOCKET_IFNAME="=$dev" BRAID_TRANSPORTS=tcp \
    BRAID_TIMEOUT=${timeout_s}s "$program" allreduce 1048576 3 4 3>>"$dir/status" 4<"$dir/release" \
    2>"$dir/err.$r" &
  pids+=($!)
done

# Bounded waits on the status file (both ranks in the loop, then both errors).
wait_for() {  # wait_for PATTERN COUNT TENTHS
  for ((i = 0; i < $3; i++)); do
    [ "$(grep -c "$1" "$dir/status" || true)" -ge "$2" ] && return 0
    sleep 0.05
  done
  return 1
}
if ! wait_for '^ready ' 2 1200; then
  echo "linkcut: FAIL: the ranks did not both start their loop" >&2
  cat "$dir/status" "$dir"/err.* >&2
  exit 1
fi

start=$(date +%s%N)
ip -n "$ns0" link set "cut$tag-a" down
ip -n "$ns1" link set "cut$tag-b" down
limit_tenths=$(((timeout_s + slack_s + 5) * 20))
wait_for '^error ' 2 "$limit_tenths" || true
status=0
for r in 0 1; do
  line=$(grep "^error $r " "$dir/status" || true)
  if [ -z "$line" ]; then
    echo "linkcut: FAIL: rank $r reported no error" >&2
    status=1
    continue
  fi
  # Time of the report as this script saw it: the status file's content at poll time.
  seen=$(date +%s%N)
  msg=${line#*$'\t'}
  peer=$(echo "$line" | awk '{print $4}')
  echo "rank $r: error reported by $(( (seen - start) / 1000000 )) ms after the cut (peer $peer): $msg"
  [ "$peer" -eq $((1 - r)) ] || { echo "linkcut: FAIL: rank $r did not name rank $((1 - r))" >&2; status=1; }
done
# Both errors must have appeared before the limit: the wait above ends as soon as they do.
end=$(date +%s%N)
took_ms=$(( (end - start) / 1000000 ))
echo "both ranks failed within ${took_ms} ms of the cut (BRAID_TIMEOUT=${timeout_s}s, limit $(( (timeout_s + slack_s) * 1000 )) ms)"
if [ $took_ms -gt $(( (timeout_s + slack_s) * 1000 )) ]; then
  echo "linkcut: FAIL: took longer than BRAID_TIMEOUT + ${slack_s}s" >&2
  status=1
fi
exec 5>&-
exit $status
