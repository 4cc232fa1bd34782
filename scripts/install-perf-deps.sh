#!/usr/bin/env bash
# Installs what the perf baselines (perf/baselines: Open MPI and Gloo benchmarks) and
# perf/compare need, from Debian's packages (Debian 12). None of it is needed to build or
# test Braid itself: the baselines are skipped when these are absent.
#
# Idempotent: apt is not touched at all when everything is already installed, and
# `apt-get update` runs only when something is missing (it is the slow, network-bound part).
#
#   openmpi-bin, libopenmpi-dev  mpirun and the MPI headers/libraries (mpi_coll_bench)
#   libgloo-dev                  Gloo's headers and libgloo.so (gloo_bench); it pulls in
#                                libgloo0, libhiredis-dev and libibverbs-dev, which Gloo's
#                                headers and library need to link
#   python3                      perf/compare (standard library only; its plot is hand-written SVG)
set -euo pipefail

packages=(openmpi-bin libopenmpi-dev libgloo-dev libgloo0 libhiredis-dev libibverbs-dev python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-perf-deps: all present (${packages[*]})"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-perf-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
start=$(date +%s)
$sudo apt-get update -qq
# --no-install-recommends keeps Open MPI from pulling in its recommended extras (e.g.
# openssh-client, gfortran bindings); what mpirun needs on one host is in its Depends.
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-perf-deps: done in $(($(date +%s) - start)) s"
