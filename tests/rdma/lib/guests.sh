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

# rdma_link: the guests' link, as QEMU netdev specs in RDMA_NETDEV_A and RDMA_NETDEV_B.
# Where root can make a network namespace (RDMA_NETNS, deleted by run.sh's cleanup):
# a bridge in it with two tap ports, the QEMUs running inside (RDMA_IN_NETNS). A tap
# never refuses a write and queues 1000 frames for its reader, as a NIC does: 0 drops
# in a pair run. Elsewhere: UDP between two loopback addresses (a random pair in 127/8
# and a random port: QEMU binds with SO_REUSEADDR, so two runs that drew the same would
# share frames unawares; 1 in 10^9), which drops frames when the reader falls behind
# (5.7 % in a pair run slowed by strace; rxe resends them) but never stalls either.
# What this replaced: unix datagram sockets between the QEMUs. Their receiver's queue
# holds 10 frames, so more than half of QEMU's sends failed with EAGAIN (strace of one
# pair run: 66,017 of 126,538) while QEMU held the guest's transmit queue, and in a CI
# run a guest's transmit queue never restarted ("virtio_net eth0: TX timeout").
# BRAID_RDMA_LINK=tap|udp forces one (tap fails where it cannot be had).
rdma_link() {
  local want=${BRAID_RDMA_LINK:-auto}
  if [ "$want" != udp ]; then
    if rdma_tap_link; then
      RDMA_NETDEV_A="tap,id=n0,ifname=tapa,script=no,downscript=no"
      RDMA_NETDEV_B="tap,id=n0,ifname=tapb,script=no,downscript=no"
      echo "rdma: link: taps on a bridge in network namespace $RDMA_NETNS"
      return 0
    fi
    [ -n "$RDMA_NETNS" ] && ip netns del "$RDMA_NETNS" 2>/dev/null
    RDMA_NETNS=
    [ "$want" = tap ] && { echo "rdma: BRAID_RDMA_LINK=tap, but no tap link can be made here" >&2; return 1; }
  fi
  local net=127.$((RANDOM % 254 + 1)).$((RANDOM % 256)) port=$((RANDOM % 16384 + 16384))
  RDMA_NETDEV_A="dgram,id=n0,local.type=inet,local.host=$net.1,local.port=$port,remote.type=inet,remote.host=$net.2,remote.port=$port"
  RDMA_NETDEV_B="dgram,id=n0,local.type=inet,local.host=$net.2,local.port=$port,remote.type=inet,remote.host=$net.1,remote.port=$port"
  local why="no tap link here"
  [ "$want" = udp ] && why=BRAID_RDMA_LINK=udp
  echo "rdma: link: UDP between $net.1 and $net.2 ($why)"
}

# rdma_tap_link: the namespace, bridge and taps of rdma_link; fails without root.
rdma_tap_link() {
  [ "$(id -u)" -eq 0 ] && [ -c /dev/net/tun ] || return 1
  # Named after the run's work dir, unique among live runs (a pid may be reused, or
  # repeat in another pid namespace); set only once made, so cleanup deletes only ours.
  local name=braid-rdma-${work##*.}
  ip netns add "$name" 2>/dev/null || return 1
  RDMA_NETNS=$name
  local ns=(ip -n "$RDMA_NETNS") port
  # No IPv6 in there (where the host has it): the bridge would send solicitations.
  ip netns exec "$RDMA_NETNS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 2>/dev/null
  "${ns[@]}" link add br0 type bridge || return 1
  for port in tapa tapb; do
    "${ns[@]}" tuntap add dev "$port" mode tap && "${ns[@]}" link set "$port" master br0 up || return 1
  done
  "${ns[@]}" link set br0 up || return 1
  RDMA_IN_NETNS=(ip netns exec "$RDMA_NETNS")
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
  rdma_link || return 125
  rdma_start_guest a 1 "$mem" "$work/a" "$timeout_s" 52:54:00:77:00:01 "$RDMA_NETDEV_A"
  local pa=$RDMA_GUEST_PID
  rdma_start_guest b 1 "$mem" "$work/b" "$timeout_s" 52:54:00:77:00:02 "$RDMA_NETDEV_B"
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
