#!/usr/bin/env bash
# Braid's include/nccl.h against NVIDIA's (the oracle, never copied): abi_layout.c is
# built against each, as C and as C++ (and once more with cuda_runtime.h included
# first, as CUDA programs do), and the printed facts must be identical. Also: every
# NCCL_* / nccl* macro NVIDIA's header defines, Braid's defines.
#
# usage: check_abi.sh NVIDIA_INCLUDE_DIR BRAID_INCLUDE_DIR
# exit:  0 same ABI, 1 a difference (printed), 77 skipped (no NVIDIA header here)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
nvidia=${1%/} braid=${2%/}
cc=${CC:-gcc} cxx=${CXX:-g++}

if [ ! -f "$nvidia/nccl.h" ]; then
  echo "SKIPPED: NVIDIA's nccl.h is not in $nvidia (install CUDA with NCCL 2.28 to compare against it)"
  exit 77
fi
if [ ! -f "$braid/nccl.h" ]; then
  echo "FAIL: Braid's header $braid/nccl.h does not exist"
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bash "$here/header_functions.sh" "$nvidia" | sed 's/.*/NCCL_FUNCTION(&)/' > "$work/nccl_functions.inc"
echo "NVIDIA's header declares $(wc -l < "$work/nccl_functions.inc") functions"

failed=0
# build_and_print NAME COMPILER LANG_FLAGS INCLUDE_DIRS...: compiles abi_layout.c with
# exactly those include directories, checks that nccl.h came from the first one, and
# writes what the program prints to $work/NAME.txt.
build_and_print() {
  local name=$1 compiler=$2 flags=$3
  shift 3
  local includes=() dir
  for dir in "$@"; do includes+=(-I"$dir"); done
  # shellcheck disable=SC2086
  if ! "$compiler" $flags -Wall -Wno-deprecated-declarations "${includes[@]}" -I"$work" \
       "$here/abi_layout.c" -o "$work/$name" 2> "$work/$name.log"; then
    echo "FAIL: abi_layout.c does not compile for $name:"
    head -n 40 "$work/$name.log"
    failed=1
    return
  fi
  # shellcheck disable=SC2086
  if ! "$compiler" $flags -M "${includes[@]}" -I"$work" "$here/abi_layout.c" | tr ' \\' '\n\n' |
       grep -qx "$1/nccl.h"; then
    echo "FAIL: $name did not include $1/nccl.h"
    failed=1
    return
  fi
  if ! "$work/$name" > "$work/$name.txt"; then
    echo "FAIL: abi_layout built for $name did not run"
    rm -f "$work/$name.txt"
    failed=1
  fi
}

compare() {
  local oracle=$1 candidate=$2
  [ -f "$work/$oracle.txt" ] && [ -f "$work/$candidate.txt" ] || return 0
  if diff -u --label "NVIDIA ($oracle)" --label "Braid ($candidate)" "$work/$oracle.txt" "$work/$candidate.txt"; then
    echo "same: $candidate ($(wc -l < "$work/$candidate.txt") facts)"
  else
    echo "FAIL: Braid's nccl.h differs from NVIDIA's as $candidate (lines above: - NVIDIA, + Braid)"
    failed=1
  fi
}

build_and_print nvidia_c "$cc" "-std=c11" "$nvidia"
build_and_print braid_c "$cc" "-std=c11" "$braid"
build_and_print nvidia_cxx "$cxx" "-std=c++17 -x c++" "$nvidia"
build_and_print braid_cxx "$cxx" "-std=c++17 -x c++" "$braid"
compare nvidia_c braid_c
compare nvidia_cxx braid_cxx
if [ -f "$nvidia/cuda_runtime.h" ]; then
  build_and_print braid_after_cuda_c "$cc" "-std=c11 -DINCLUDE_CUDA_RUNTIME_FIRST" "$braid" "$nvidia"
  build_and_print braid_after_cuda_cxx "$cxx" "-std=c++17 -x c++ -DINCLUDE_CUDA_RUNTIME_FIRST" "$braid" "$nvidia"
  compare nvidia_c braid_after_cuda_c
  compare nvidia_cxx braid_after_cuda_cxx
fi

# Macro names: feature gates test them with #ifdef, so each must exist (values are
# compared above; the include guard is the header's own business).
macro_names() {
  printf '#include <nccl.h>\n' | "$cc" -E -dM -x c -I"$1" - |
    awk '$1 == "#define" { sub(/\(.*/, "", $2); print $2 }' | grep -E '^(NCCL_|nccl)' |
    grep -vx 'NCCL_H_' | sort -u
}
missing=$(comm -23 <(macro_names "$nvidia") <(macro_names "$braid"))
if [ -n "$missing" ]; then
  echo "FAIL: macros NVIDIA's nccl.h defines and Braid's does not:" $missing
  failed=1
fi

if [ "$failed" = 0 ]; then
  echo "PASS: Braid's nccl.h has NVIDIA's ABI"
fi
exit "$failed"
