#!/usr/bin/env bash
# Installs what tests/rdma/run.sh needs to run real verbs (Soft-RoCE, rdma_rxe) inside
# QEMU guests: QEMU, a Debian kernel that ships rdma_rxe as a module, rdma-core with its
# userspace providers and tools, perftest, and a static busybox for the guest's initramfs.
# Idempotent: apt is not touched at all when everything is already installed.
set -euo pipefail

# linux-image-amd64 is only the guest's kernel: the host keeps running its own.
packages=(qemu-system-x86 linux-image-amd64 rdma-core ibverbs-utils ibverbs-providers libibverbs-dev
          perftest busybox-static iproute2 rdmacm-utils kmod cpio)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-rdma-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A kernel package's postinst wants to build an initramfs and may ask about it; the
# harness builds its own, so the hooks' work is not needed, only their success.
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
