#!/bin/bash
# Runs commands on real verbs (Soft-RoCE: rdma_rxe over a virtio eth0) inside QEMU
# guests that boot Debian's kernel and run the host's own / (read-only 9p + tmpfs
# overlay), so the build tree and every tool sit at the same paths as on the host.
#
#   tests/rdma/run.sh [OPTIONS] [--one-guest] [-- CMD [ARGS...]]
#   tests/rdma/run.sh [OPTIONS] --two-guests [-- CMD_A [ARGS...] [::: CMD_B [ARGS...]]]
#   tests/rdma/run.sh [OPTIONS] --self-check      both modes with their default commands
#
# One guest (2 vCPUs): eth0 10.77.0.1/24 on a link to nowhere, rxe0 on it (loopback
# verbs work). Default command: tests/rdma/selfcheck.sh one.
# Two guests (1 vCPU each; more oversubscribes a 2-core host): A is 10.77.0.1, B is
# 10.77.0.2, joined only to each other (taps on a bridge in a network namespace of the
# run's own; where none can be made, UDP between two loopback addresses; see
# lib/guests.sh's rdma_link). CMD_A runs in A, CMD_B in B; without ":::" both run
# CMD. Default commands: selfcheck.sh server ::: selfcheck.sh client 10.77.0.1.
# Commands start in the caller's working directory, with exit status 124 if they
# outlive --timeout minus 20 s.
#
# In the guests' environment: BRAID_IB_HCA=rxe0 BRAID_IB_GID_INDEX=1
# BRAID_SOCKET_IFNAME=eth0 BRAID_BUILD_DIR=<--build-dir> (defaults; -e overrides),
# GUEST_INDEX (0 = A, 1 = B), GUEST_IP, PEER_IP (empty with one guest), and with --ranks:
# BRAID_RANK=GUEST_INDEX BRAID_SIZE=2 BRAID_ROOT=10.77.0.1:29500 and a BRAID_SECRET
# shared by both, so a program using Communicator::fromEnvironment() runs as a 2-rank job.
#
# Options:
#   -e VAR=VALUE     set VAR in the guests (repeatable); -e VAR copies the host's value
#   --ranks          two guests: one Braid rank per guest (see above)
#   --build-dir DIR  Braid build tree (default: <repo>/build)
#   --target T       build target T first (repeatable), under the shared build lock
#   --timeout S      whole-VM deadline in seconds (default 300)
#   --mem MIB        memory per guest (default 1024)
#   --no-install     never apt-get; missing packages mean skip (77)
#   --keep           keep the work dir (consoles, shares) and print its path
#
# Exit status: the command's (two guests: A's if non-zero, else B's); 124 when a
# guest outran its deadline; 125 when a guest failed before running its command;
# 77 (skip) when QEMU, the guest kernel or rdma-core cannot be had.
# BRAID_RDMA_ACCEL=tcg|kvm forces the accelerator (default: probe KVM, else TCG);
# BRAID_RDMA_LINK=tap|udp the two guests' link (default: tap where root can have it).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib/initramfs.sh"
. "$here/lib/vm.sh"
. "$here/lib/guests.sh"

mode=one build_dir=$repo/build timeout_s=300 mem=1024 install=1 keep=0 ranks=0
targets=() envs=() cmd=()
while [ $# -gt 0 ]; do
  case "$1" in
    --one-guest) mode=one ;;
    --two-guests) mode=two ;;
    --self-check) mode=self ;;
    --ranks) ranks=1 ;;
    -e) [ $# -ge 2 ] || { echo "run.sh: -e needs VAR=VALUE" >&2; exit 2; }
        case "$2" in *=*) envs+=("$2") ;; *) envs+=("$2=${!2-}") ;; esac; shift ;;
    --build-dir) build_dir=${2:?}; shift ;;
    --target) targets+=("${2:?}"); shift ;;
    --timeout) timeout_s=${2:?}; shift ;;
    --mem) mem=${2:?}; shift ;;
    --no-install) install=0 ;;
    --keep) keep=1 ;;
    --) shift; cmd=("$@"); break ;;
    *) echo "run.sh: unknown option '$1' (see the top of $0)" >&2; exit 2 ;;
  esac
  shift
done

usage() { echo "run.sh: $*" >&2; exit 2; }
[ "$ranks" = 0 ] || [ "$mode" = two ] || usage "--ranks needs --two-guests"
# The guest's own deadline for the command is 20 s short of the VM's.
[[ "$timeout_s" =~ ^[0-9]+$ ]] && [ "$timeout_s" -ge 60 ] || usage "--timeout needs whole seconds, at least 60"
[[ "$mem" =~ ^[0-9]+$ ]] && [ "$mem" -ge 256 ] || usage "--mem needs MiB, at least 256"
build_dir=$(realpath -m "$build_dir")

t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
skip() { echo "rdma: SKIP: $*"; exit 77; }

# Prerequisites: packages (installed unless --no-install), then a guest kernel whose
# modules are installed, with rdma_rxe among them.
if [ "$install" = 1 ]; then
  "$repo/scripts/install-rdma-deps.sh" || skip "installing the RDMA packages failed"
fi
for tool in qemu-system-x86_64 cpio ibv_devinfo ibv_rc_pingpong ib_send_lat rdma ss; do
  command -v "$tool" >/dev/null || skip "$tool not found (run scripts/install-rdma-deps.sh)"
done
# Not "busybox --list | grep -q": with pipefail, grep leaving early fails the pipeline.
[[ -x /bin/busybox && $'\n'$(/bin/busybox --list)$'\n' == *$'\n'switch_root$'\n'* ]] ||
  skip "no static busybox with switch_root (busybox-static)"
RDMA_KERNEL=
for k in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V -r); do
  kv=${k#/boot/vmlinuz-}
  if [ -r "$k" ] && [ -n "$(find "/lib/modules/$kv" -name 'rdma_rxe.ko*' 2>/dev/null)" ]; then
    RDMA_KERNEL=$k KVER=$kv
    break
  fi
done
[ -n "$RDMA_KERNEL" ] || skip "no /boot/vmlinuz-* with rdma_rxe in /lib/modules (linux-image-amd64)"

# The build lock is shared with everyone building in this tree; 20 minutes is the wait's
# deadline.
if [ ${#targets[@]} -gt 0 ]; then
  if [ ! -f "$build_dir/CMakeCache.txt" ]; then
    flock -w 1200 /tmp/braid-build.lock cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null ||
      { echo "rdma: configuring $build_dir failed" >&2; exit 125; }
  fi
  flock -w 1200 /tmp/braid-build.lock cmake --build "$build_dir" -j2 --target "${targets[@]}" ||
    { echo "rdma: building ${targets[*]} failed" >&2; exit 125; }
fi

work=$(mktemp -d /tmp/rdma.XXXXXX) || exit 125
# Guests still running when run.sh ends early (a signal, an error) are stopped here, not
# left to their own deadline: each pid is a timeout(1), which passes the TERM on to QEMU.
RDMA_PIDS=() RDMA_IN_NETNS=() RDMA_NETNS=
cleanup() {
  local p
  for p in "${RDMA_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${RDMA_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  [ -n "$RDMA_NETNS" ] && ip netns del "$RDMA_NETNS" 2>/dev/null
  if [ "$keep" = 1 ]; then echo "rdma: work dir kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

RDMA_INITRD=$work/initrd
rdma_build_initramfs "$KVER" "$RDMA_INITRD" || skip "cannot build the initramfs from $KVER's modules"
RDMA_STAGE2=$here/guest/stage2.sh
rdma_pick_accel "$RDMA_KERNEL" "$RDMA_INITRD" "$work"
echo "rdma: kernel $KVER, accel '${RDMA_ACCEL[*]}', ready after $(elapsed) s"

guest_env=(BRAID_IB_HCA=rxe0 BRAID_IB_GID_INDEX=1 BRAID_SOCKET_IFNAME=eth0 "BRAID_BUILD_DIR=$build_dir")
if [ "$ranks" = 1 ]; then
  guest_env+=(BRAID_SIZE=2 BRAID_ROOT=10.77.0.1:29500 "BRAID_SECRET=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')")
fi
guest_env+=("${envs[@]}")

case "$mode" in
  one)
    [ ${#cmd[@]} -gt 0 ] || cmd=("$here/selfcheck.sh" one)
    rdma_one_guest "${cmd[@]}"; status=$? ;;
  two)
    rdma_two_guests "${cmd[@]}"; status=$? ;;
  self)
    rdma_one_guest "$here/selfcheck.sh" one; status=$?
    echo "rdma: one-guest self-check: status $status after $(elapsed) s"
    if [ "$status" = 0 ]; then
      rdma_two_guests; status=$?
      echo "rdma: two-guest self-check: status $status after $(elapsed) s"
    fi ;;
esac
echo "rdma: exit status $status after $(elapsed) s"
exit "$status"
