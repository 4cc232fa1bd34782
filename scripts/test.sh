#!/usr/bin/env bash
# Install what is needed, build, and run the whole test suite (unit, multi-process over
# shm and tcp, faults, verbs in Soft-RoCE guests, launcher, packaging), then the
# fuzzers. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# QEMU, a Debian kernel with rdma_rxe and rdma-core, for the verbs tests in Soft-RoCE
# guests (tests/rdma/). Without them those tests skip, loudly, rather than fail the run.
scripts/install-rdma-deps.sh || echo "test.sh: WARNING: installing the RDMA test dependencies failed; rdma.* tests will skip" >&2
scripts/build.sh
ctest --test-dir build --output-on-failure --timeout 900
# The suite again under AddressSanitizer + UBSan, then ThreadSanitizer: everything but
# what scripts/sanitize.sh names, with why (about 35 minutes on 2 cores).
# SANITIZE_SCOPE=quick runs a shorter selection for checks by hand.
SCOPE="${SANITIZE_SCOPE:-all}" scripts/sanitize.sh
# Every parser of bytes from the wire, fuzzed for a bounded time (clang + libFuzzer).
FUZZ_SECONDS="${FUZZ_SECONDS:-20}" scripts/fuzz.sh
