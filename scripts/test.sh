#!/usr/bin/env bash
# Install what is needed, build, and run the whole test suite (unit, multi-process over
# shm and tcp, launcher, packaging). CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
ctest --test-dir build --output-on-failure --timeout 900
# Every parser of bytes from the wire, fuzzed for a bounded time (clang + libFuzzer).
FUZZ_SECONDS="${FUZZ_SECONDS:-20}" scripts/fuzz.sh
