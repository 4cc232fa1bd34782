#!/usr/bin/env bash
# Quick start: install what is needed, build, and run an all-reduce perf test on 4
# local ranks (shared memory between them).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build/tools/braidrun -n 4 build/perf/all_reduce_perf -b 8 -e 64M -f 4
