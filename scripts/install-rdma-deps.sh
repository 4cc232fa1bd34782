#!/usr/bin/env bash
# Installs what tests/rdma/run.sh needs to run real verbs (Soft-RoCE, rdma_rxe) inside
# QEMU guests: QEMU, a Debian kernel that ships rdma_rxe as a module, rdma-core with its
# userspace providers and tools, perftest, and a static busybox for the guest's initramfs.
# Idempotent: apt is not touched at all when everything is already installed.
set -euo pipefail

# linux-image-amd64 is only the guest's kernel: the host keeps running its own.
packages=(qemu-system-x86 linux-image-amd64 rdma-core ibverbs-utils ibverbs-providers libibverbs-dev
          perftest busybox-static iproute2 rdmacm-utils kmod cpio)
. "$(dirname "$0")/lib/apt_install.sh"
install_missing install-rdma-deps "${packages[@]}"
