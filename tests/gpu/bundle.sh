#!/usr/bin/env bash
# Packs what the GPU checks need from a build into one small folder, for a GPU machine
# that has the driver and CUDA but not this machine's libraries: the GPU tests, the
# perf tools, braidrun, braid-probe, libnccl.so.2, and every shared library they load
# that is not part of the C/C++ runtime (hwloc, ibverbs, ...). Binaries are stripped to
# fit a copy.
#
# usage: tests/gpu/bundle.sh [BUILD_DIR] [OUT_DIR]   (default: build, BUILD_DIR/gpu-bundle)
# Then on the GPU machine: tests/gpu/device_checks.sh OUT_DIR
set -euo pipefail
build=${1:-build}
out=${2:-$build/gpu-bundle}
rm -rf "$out"
mkdir -p "$out/bin" "$out/lib"

bins=("$build"/tools/braidrun "$build"/tools/braid-probe "$build"/perf/*_perf)
for t in "$build"/tests/gpu/braid_gpu_*tests; do [ -x "$t" ] && bins+=("$t"); done
libs=("$build"/nccl/libnccl.so.2)
for f in "${bins[@]}"; do cp "$f" "$out/bin/"; done
cp -L "${libs[@]}" "$out/lib/"
# Every library they need that is not the C or C++ runtime (present on any Linux).
runtime='^(linux-vdso|ld-linux|libc|libm|libstdc\+\+|libgcc_s|libpthread|libdl|librt)\.'
for f in "${bins[@]}" "${libs[@]}"; do
  ldd "$f" | awk '$3 ~ /^\// { print $1, $3 }' | while read -r name path; do
    [[ $name =~ $runtime ]] || cp -Ln "$path" "$out/lib/$name"
  done
done
strip --strip-unneeded "$out"/bin/* "$out"/lib/* 2>/dev/null || true
du -sh "$out"
