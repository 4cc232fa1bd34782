#!/usr/bin/env bash
# Runs one Braid job across several "hosts" on this machine: each host is a network
# namespace joined to a private bridge by a veth pair, with its own host id, so ranks
# of one host talk over shared memory and ranks of different hosts over tcp between
# namespaces. Needs root (ip netns). Exit status: the job's (0 when every rank exited
# 0), 77 when namespaces cannot be made here, 124 when the job ran past its limit.
#
#   multihost.sh [--hosts H] [--ranks-per-host L] [--rate R] [--timeout S] [--] CMD [ARGS...]
#
# --rate R shapes host 0's link (tc tbf, e.g. 100mbit) to pose a slow network link.
# Every rank gets BRAID_RANK, BRAID_SIZE, BRAID_LOCAL_RANK, BRAID_LOCAL_SIZE,
# BRAID_ROOT (rank 0's address), BRAID_SECRET, BRAID_HOST_ID and BRAID_SOCKET_IFNAME,
# and its output lines are prefixed "[rank] ".
set -euo pipefail

hosts=2 per_host=2 rate="" limit=120
while [ $# -gt 0 ]; do
  case "$1" in
    --hosts) hosts=$2; shift 2 ;;
    --ranks-per-host) per_host=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --timeout) limit=$2; shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--hosts H] [--ranks-per-host L] [--rate R] [--timeout S] -- CMD..." >&2; exit 2; }

# Names carry this shell's pid so that concurrent runs (ctest -j) do not collide.
tag=$$
bridge="bbr$tag"
ns() { echo "braid$tag-h$1"; }
cleanup() {
  for ((h = 0; h < hosts; h++)); do ip netns del "$(ns $h)" 2>/dev/null || true; done
  ip link del "$bridge" 2>/dev/null || true
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ] || ! ip netns add "$(ns 0)" 2>/dev/null; then
  echo "multihost: SKIP: cannot create network namespaces here (needs root and ip netns)" >&2
  exit 77
fi
ip link add "$bridge" type bridge
ip link set "$bridge" up
subnet="10.$((tag % 200 + 20)).$(((tag / 200) % 250)).0"
prefix=${subnet%.0}
for ((h = 0; h < hosts; h++)); do
  n=$(ns $h)
  [ $h -eq 0 ] || ip netns add "$n"
  ip link add "bv$tag-$h" type veth peer name "eth$h" netns "$n"
  ip link set "bv$tag-$h" master "$bridge" up
  ip -n "$n" addr add "$prefix.$((h + 1))/24" dev "eth$h"
  ip -n "$n" link set "eth$h" up
  ip -n "$n" link set lo up
done
if [ -n "$rate" ]; then
  # Both directions of host 0's link: its own egress and the bridge port toward it.
  ip -n "$(ns 0)" link set eth0 txqueuelen 1000
  tc -n "$(ns 0)" qdisc add dev eth0 root tbf rate "$rate" burst 64kb latency 400ms
  tc qdisc add dev "bv$tag-0" root tbf rate "$rate" burst 64kb latency 400ms
fi

size=$((hosts * per_host))
secret=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
root="$prefix.1:$((20000 + tag % 20000))"
pids=()
for ((r = 0; r < size; r++)); do
  h=$((r / per_host))
  ip netns exec "$(ns $h)" env BRAID_RANK=$r BRAID_SIZE=$size BRAID_LOCAL_RANK=$((r % per_host)) \
    BRAID_LOCAL_SIZE=$per_host BRAID_ROOT="$root" BRAID_SECRET="$secret" BRAID_HOST_ID="netns-host-$h" \
    BRAID_SOCKET_IFNAME="eth$h" "$@" > >(sed "s/^/[$r] /") 2> >(sed "s/^/[$r] /" >&2) &
  pids+=($!)
done

# Wait for every rank, but never past the limit; a failed rank stops the others.
deadline=$((SECONDS + limit))
status=0
remaining=${#pids[@]}
while [ "$remaining" -gt 0 ]; do
  remaining=0
  for i in "${!pids[@]}"; do
    p=${pids[$i]}
    [ -n "$p" ] || continue
    if kill -0 "$p" 2>/dev/null; then
      remaining=$((remaining + 1))
      continue
    fi
    rc=0
    wait "$p" || rc=$?
    pids[$i]=""
    if [ $rc -ne 0 ] && [ $status -eq 0 ]; then
      status=$rc
      echo "multihost: rank $i exited with status $rc; stopping the others" >&2
      for q in "${pids[@]}"; do [ -n "$q" ] && kill "$q" 2>/dev/null || true; done
    fi
  done
  if [ "$remaining" -gt 0 ] && [ $SECONDS -ge $deadline ]; then
    echo "multihost: the job ran past ${limit}s; stopping it" >&2
    for q in "${pids[@]}"; do [ -n "$q" ] && kill -9 "$q" 2>/dev/null || true; done
    exit 124
  fi
  [ "$remaining" -gt 0 ] && sleep 0.2
done
exit $status
