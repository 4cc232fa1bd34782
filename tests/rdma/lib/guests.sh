# The one-guest and two-guest runs of tests/rdma/run.sh (sourced): each guest gets a
# share directory holding guest.env and cmd.sh on the way in, output and status on the
# way out. Uses run.sh's globals: work, mem, timeout_s, ranks, guest_env, t0.

# rdma_prepare_share NAME INDEX IP PEER_IP CMD...: writes the share of one guest.
rdma_prepare_share() {
  local name=$1 index=$2 ip=$3 peer=$4; shift 4
  local share=$work/$name
  mkdir -p "$share" || return 1
  # The guest's own deadline for the command leaves 20 s of the VM's for booting and
  # writing the status back.
  cat >"$share/guest.env" <<EOF
GUEST_INDEX=$index
GUEST_IP=$ip
PEER_IP=$peer
GUEST_NAME=guest-$name
CMD_TIMEOUT=$((timeout_s - 20))
EOF
  {
    echo "cd $(printf %q "$PWD") || exit 125"
    echo "export GUEST_INDEX=$index GUEST_IP=$ip PEER_IP=$peer"
    [ "$ranks" = 1 ] && echo "export BRAID_RANK=$index"
    local kv
    for kv in "${guest_env[@]}"; do echo "export $(printf %q "$kv")"; done
    printf 'exec'
    printf ' %q' "$@"
    echo
  } >"$share/cmd.sh"
}

# rdma_collect NAME VM_STATUS: prints a guest's output and timings, returns its status.
rdma_collect() {
  local name=$1 vm=$2 share=$work/$1
  local console=$work/$name.console status
  echo "=== guest $name: output ==="
  [ -f "$share/output" ] && cat "$share/output"
  local active
  active=$(sed -n 's/^braid-guest\[\([0-9.]*\)\]: rxe0 ACTIVE.*/\1/p' "$console" 2>/dev/null)
  echo "=== guest $name: rxe0 ACTIVE at ${active:-?} s guest uptime ==="
  if [ -f "$share/status" ]; then
    status=$(cat "$share/status")
  elif [ "$vm" = 124 ] || [ "$vm" = 137 ]; then
    echo "=== guest $name: the VM outran its ${timeout_s} s deadline and was killed ==="
    status=124
  else
    echo "=== guest $name: no status came back (QEMU exit $vm); setup error, console and QEMU log: ==="
    cat "$share/setup-error" 2>/dev/null
    tail -n 40 "$console" 2>/dev/null
    tail -n 20 "$work/$name.qemu.log" 2>/dev/null
    status=125
  fi
  echo "=== guest $name: status $status ==="
  return "$status"
}

rdma_one_guest() {
  rdma_prepare_share a 0 10.77.0.1 "" "$@" || return 125
  # A hub with no other port: eth0 has carrier and an address, and rxe loops the
  # guest's traffic to itself back without sending it anywhere.
  # Two vCPUs (where the host has two cores) let a busy-polling server and client pair
  # both run.
  local smp=2
  [ "$(nproc)" -ge 2 ] || smp=1
  rdma_start_guest a "$smp" "$mem" "$work/a" "$timeout_s" 52:54:00:77:00:01 hubport,id=n0,hubid=0
  local pid=$RDMA_GUEST_PID vm=0
  wait "$pid" || vm=$?
  echo "rdma: one guest finished after $(elapsed) s"
  rdma_collect a "$vm"
}

# rdma_two_guests [CMD_A... [::: CMD_B...]]
rdma_two_guests() {
  local a=() b=() seen=0 arg
  for arg in "$@"; do
    if [ "$seen" = 0 ] && [ "$arg" = ":::" ]; then seen=1; continue; fi
    if [ "$seen" = 0 ]; then a+=("$arg"); else b+=("$arg"); fi
  done
  if [ ${#a[@]} -eq 0 ]; then
    a=("$here/selfcheck.sh" server) b=("$here/selfcheck.sh" client 10.77.0.1)
  elif [ "$seen" = 0 ]; then
    b=("${a[@]}")
  fi
  [ ${#b[@]} -gt 0 ] || { echo "rdma: nothing after ':::'" >&2; return 2; }
  rdma_prepare_share a 0 10.77.0.1 10.77.0.2 "${a[@]}" || return 125
  rdma_prepare_share b 1 10.77.0.2 10.77.0.1 "${b[@]}" || return 125
  # Datagram sockets need no listener to exist first, so the guests start in any order;
  # frames sent before the peer binds are dropped like on a cable not yet plugged.
  local sa=$work/a.sock sb=$work/b.sock
  rdma_start_guest a 1 "$mem" "$work/a" "$timeout_s" 52:54:00:77:00:01 \
    "dgram,id=n0,local.type=unix,local.path=$sa,remote.type=unix,remote.path=$sb"
  local pa=$RDMA_GUEST_PID
  rdma_start_guest b 1 "$mem" "$work/b" "$timeout_s" 52:54:00:77:00:02 \
    "dgram,id=n0,local.type=unix,local.path=$sb,remote.type=unix,remote.path=$sa"
  local pb=$RDMA_GUEST_PID va=0 vb=0
  wait "$pa" || va=$?
  wait "$pb" || vb=$?
  echo "rdma: two guests finished after $(elapsed) s"
  local sta stb
  rdma_collect a "$va"; sta=$?
  rdma_collect b "$vb"; stb=$?
  [ "$sta" != 0 ] && return "$sta"
  return "$stb"
}
