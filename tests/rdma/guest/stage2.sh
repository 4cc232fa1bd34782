#!/bin/bash
# Stage 2 of a Soft-RoCE guest, PID 1 after switch_root into the host's own / (read-only
# 9p under a tmpfs overlay): so everything here is the host's bash, iproute2, kmod,
# rdma-core and the project's build tree, at the same paths as on the host.
# It reads its settings from the writable 9p share "share" (guest.env, cmd.sh, written
# by tests/rdma/run.sh), sets up eth0 and rxe0, runs cmd.sh, and leaves "output" and
# "status" in the share before powering off. Whatever happens, it powers off: PID 1
# exiting would panic the kernel, which the host would only see as a missing status.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
SHARE=/braid-share

say() { echo "braid-guest[$(cut -d' ' -f1 /proc/uptime)]: $*" >/dev/console; }
off() { sync; busybox poweroff -f; sleep 30; }
die() { say "FAILED: $*"; [ -d "$SHARE" ] && echo "guest setup failed: $*" >>"$SHARE/setup-error"; off; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
# devtmpfs has none of these links, and bash's <(...) and many scripts need /dev/fd.
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
# /run gets a fresh tmpfs: the host's sockets and pid files there mean nothing here.
# /tmp stays the host's (writable through the overlay): a build tree may live there,
# as a CI clone under /tmp does.
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p "$SHARE"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 share "$SHARE" || die "mount of the share"

# GUEST_INDEX, GUEST_IP, PEER_IP, GUEST_NAME, CMD_TIMEOUT.
. "$SHARE/guest.env" || die "no guest.env in the share"
hostname "$GUEST_NAME"
ip link set lo up || die "lo up"
ip addr add "$GUEST_IP/24" dev eth0 || die "address on eth0"
ip link set eth0 up || die "eth0 up"

modprobe rdma_rxe || die "modprobe rdma_rxe"
rdma link add rxe0 type rxe netdev eth0 || die "rdma link add rxe0"
# The port turns ACTIVE once eth0 has carrier; a command started before that sees
# PORT_DOWN. Deadline 20 s, far above the ~1 s it takes under TCG.
state=/sys/class/infiniband/rxe0/ports/1/state
for _ in $(seq 200); do
  grep -q ACTIVE "$state" 2>/dev/null && break
  sleep 0.1
done
grep -q ACTIVE "$state" || die "rxe0 port 1 not ACTIVE after 20 s: $(cat "$state" 2>&1)"
say "rxe0 ACTIVE on eth0 $GUEST_IP; running the command"

# The guest's own deadline comes before the host's whole-VM timeout, so a hung command
# still leaves its output and a status (124) behind.
timeout -k 5 "$CMD_TIMEOUT" bash "$SHARE/cmd.sh" </dev/null >"$SHARE/output" 2>&1
status=$?
echo "$status" >"$SHARE/status"
say "command exited with status $status"
off
