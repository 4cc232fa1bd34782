#!/bin/bash
# The harness's own proof that real verbs work in its guests, using rdma-core's and
# perftest's tools (the stand-in until the ibverbs transport's tests drop in):
#   selfcheck.sh one            one guest: rxe0 ACTIVE, then RC ping-pong and send
#                               latency over loopback through rxe0
#   selfcheck.sh server         guest A of two: serves the same two tests
#   selfcheck.sh client PEER    guest B of two: runs them against PEER (guest A's IP)
# GID index 1 is rxe's IPv4-mapped GID (BRAID_IB_GID_INDEX, set by run.sh).
set -uo pipefail
role=${1:?usage: selfcheck.sh one|server|client PEER}
dev=${BRAID_IB_HCA:-rxe0}
gid=${BRAID_IB_GID_INDEX:-1}
PINGPONG_PORT=18515
LAT_PORT=18516

step() { echo "--- $* ($(cut -d' ' -f1 /proc/uptime) s)"; }
fail() { echo "selfcheck FAILED: $*"; exit 1; }

# A client started before its server listens gets "connection refused" and exits;
# retrying it is harmless (the server never saw it). The server's port is not probed
# with a connect of our own: perftest servers take exactly one client.
retry() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

# Waits (deadline 20 s) until a local server listens on a TCP port, without connecting.
wait_listen() {
  local port=$1 deadline=$(( $(date +%s) + 20 ))
  until ss -ltnH "sport = :$port" | grep -q LISTEN; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

check_device() {
  step "ibv_devinfo -d $dev"
  local info
  info=$(ibv_devinfo -d "$dev") || fail "ibv_devinfo cannot open $dev"
  echo "$info"
  grep -q 'state:.*PORT_ACTIVE' <<<"$info" || fail "$dev port 1 is not PORT_ACTIVE"
  grep -q 'link_layer:.*Ethernet' <<<"$info" || fail "$dev is not RoCE (link_layer not Ethernet)"
}

pingpong_server() { timeout 60 ibv_rc_pingpong -d "$dev" -g "$gid" -p "$PINGPONG_PORT" -n 500 -c -e; }
pingpong_client() { timeout 60 ibv_rc_pingpong -d "$dev" -g "$gid" -p "$PINGPONG_PORT" -n 500 -c -e "$1"; }
lat_server() { timeout 60 ib_send_lat -d "$dev" -x "$gid" -p "$LAT_PORT" -n 500 -s 2; }
lat_client() { timeout 60 ib_send_lat -d "$dev" -x "$gid" -p "$LAT_PORT" -n 500 -s 2 "$1"; }

# Runs SERVER in the background, CLIENT against ADDR once the server listens on PORT,
# and fails unless both succeed.
local_pair() {
  local name=$1 port=$2 server=$3 client=$4 addr=$5
  step "$name loopback"
  "$server" &
  local spid=$!
  wait_listen "$port" || { kill "$spid" 2>/dev/null; fail "$name server did not listen on $port"; }
  "$client" "$addr" || { kill "$spid" 2>/dev/null; fail "$name client"; }
  wait "$spid" || fail "$name server"
}

case "$role" in
  one)
    check_device
    # The TCP side-channel goes over lo; the verbs traffic over rxe0's own GID loops
    # back inside rxe.
    local_pair ibv_rc_pingpong "$PINGPONG_PORT" pingpong_server pingpong_client 127.0.0.1
    local_pair ib_send_lat "$LAT_PORT" lat_server lat_client 127.0.0.1
    ;;
  server)
    check_device
    step "ibv_rc_pingpong server"
    pingpong_server || fail "ibv_rc_pingpong server"
    step "ib_send_lat server"
    lat_server || fail "ib_send_lat server"
    ;;
  client)
    peer=${2:?client needs the IP of the server guest}
    check_device
    step "ibv_rc_pingpong client -> $peer"
    retry 60 pingpong_client "$peer" || fail "ibv_rc_pingpong client to $peer"
    step "ib_send_lat client -> $peer"
    retry 60 lat_client "$peer" || fail "ib_send_lat client to $peer"
    ;;
  *) fail "unknown role '$role'" ;;
esac
step "selfcheck $role passed"
