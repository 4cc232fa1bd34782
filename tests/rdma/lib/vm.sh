# Starting QEMU guests for tests/rdma/run.sh (sourced). Every guest mounts the host's /
# (tag hostroot, read-only) and its own writable share (tag share) over virtio-9p, and
# has one virtio-net eth0 whose other end the caller chooses.

# Picks the accelerator into RDMA_ACCEL (an array of QEMU arguments). KVM only when a
# probe boot with it reaches /init: the nested /dev/kvm of some hosts exists but cannot
# boot a stock kernel (-cpu host aborts on an MSR write, other models hang), so its
# presence proves nothing. The verdict is cached per kernel and host boot, as a failed
# probe costs its whole deadline. BRAID_RDMA_ACCEL=tcg|kvm skips the probe.
rdma_pick_accel() {
  local kernel=$1 initrd=$2 work=$3
  local tcg=(-accel tcg,thread=multi -cpu max) kvm=(-accel kvm -cpu host)
  case "${BRAID_RDMA_ACCEL:-auto}" in
    tcg) RDMA_ACCEL=("${tcg[@]}"); return ;;
    kvm) RDMA_ACCEL=("${kvm[@]}"); return ;;
  esac
  RDMA_ACCEL=("${tcg[@]}")
  [ -r /dev/kvm ] && [ -w /dev/kvm ] || return 0
  local boot cache
  boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
  cache=/tmp/braid-rdma-kvm.$(basename "$kernel").$boot
  if [ ! -f "$cache" ]; then
    # guest/init without braid.stage2 says it started and powers off at once.
    # In a subshell, so that bash's own "Aborted" report of a crashing QEMU is hushed too.
    (timeout -k 2 15 qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot \
      "${kvm[@]}" -m 256 -kernel "$kernel" -initrd "$initrd" -append "console=ttyS0 quiet panic=-1" \
      -serial "file:$work/kvm-probe.log") >/dev/null 2>&1
    if grep -q 'braid-init\[' "$work/kvm-probe.log" 2>/dev/null; then echo kvm >"$cache"; else echo tcg >"$cache"; fi
  fi
  [ "$(cat "$cache")" = kvm ] && RDMA_ACCEL=("${kvm[@]}")
  return 0
}

# rdma_start_guest NAME SMP MEM_MIB SHARE_DIR TIMEOUT_S MAC NETDEV_SPEC: starts one
# guest in the background under a whole-VM deadline; its console goes to
# SHARE_DIR/../NAME.console and its pid to RDMA_GUEST_PID. Needs RDMA_KERNEL,
# RDMA_INITRD, RDMA_STAGE2 and RDMA_ACCEL; runs in RDMA_IN_NETNS (a command prefix) if set.
rdma_start_guest() {
  local name=$1 smp=$2 mem=$3 share=$4 limit=$5 mac=$6 netdev=$7
  local console
  console="$(dirname "$share")/$name.console"
  # -nodefaults: no VGA, no default NIC; ttyS0 is the only console. -no-reboot with
  # panic=-1: a guest that panics ends QEMU at once instead of rebooting forever.
  "${RDMA_IN_NETNS[@]}" timeout -k 5 "$limit" qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot \
    -machine pc "${RDMA_ACCEL[@]}" -smp "$smp" -m "$mem" \
    -kernel "$RDMA_KERNEL" -initrd "$RDMA_INITRD" \
    -append "console=ttyS0 quiet panic=-1 braid.stage2=$RDMA_STAGE2" \
    -serial "file:$console" \
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
    -virtfs "local,path=$share,mount_tag=share,security_model=none,multidevs=remap" \
    -netdev "$netdev" -device "virtio-net-pci,netdev=n0,mac=$mac" \
    >"$(dirname "$share")/$name.qemu.log" 2>&1 &
  RDMA_GUEST_PID=$!
  RDMA_PIDS+=("$RDMA_GUEST_PID")
}
