#!/usr/bin/env bash
# Installs what building and testing Braid needs, from Debian's packages (Debian 12).
# Idempotent: packages already present are not fetched again, and apt is not touched
# at all when nothing is missing.
set -euo pipefail

# clang and libclang-rt-14-dev (libclang_rt.fuzzer, the sanitizer runtimes) build the
# fuzz targets in fuzz/ that scripts/fuzz.sh runs.
# libibverbs-dev builds the ibverbs transport (compiled out without it); rdma-core and
# ibverbs-providers let it find devices, Soft-RoCE (rxe) included.
packages=(g++ cmake make pkg-config libgtest-dev iproute2 libhwloc-dev nlohmann-json3-dev clang libclang-rt-14-dev
          libibverbs-dev rdma-core ibverbs-providers)
. "$(dirname "$0")/lib/apt_install.sh"
install_missing install-deps "${packages[@]}"
