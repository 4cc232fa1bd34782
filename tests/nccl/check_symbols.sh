#!/usr/bin/env bash
# Braid's libnccl.so.2 exports every function NVIDIA's nccl.h declares, each with its
# pncclX profiling twin, and nothing else but nccl*/pnccl* names (and symbol-version
# nodes); its soname is libnccl.so.2 and libnccl.so next to it links. Then a C and a C++
# program that take the address of every one of those functions, compiled against
# Braid's nccl.h, link against Braid's libnccl.so and load with every symbol bound.
#
# usage: check_symbols.sh NVIDIA_INCLUDE_DIR BRAID_INCLUDE_DIR BRAID_NCCL_LIB_DIR
# exit:  0 pass, 1 fail (printed), 77 skipped (no NVIDIA header to list the functions)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
nvidia=${1%/} braid=${2%/} libdir=${3%/}
cc=${CC:-gcc} cxx=${CXX:-g++}
lib="$libdir/libnccl.so.2"

if [ ! -f "$nvidia/nccl.h" ]; then
  echo "SKIPPED: NVIDIA's nccl.h is not in $nvidia (install CUDA with NCCL 2.28 to list its functions)"
  exit 77
fi
if [ ! -e "$lib" ]; then
  echo "FAIL: $lib does not exist (build the braid_nccl target)"
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0

bash "$here/header_functions.sh" "$nvidia" > "$work/declared.txt"
# NVIDIA's header declares both names of each function; the twin is required even if a
# future header stops declaring it, because profilers interpose on pnccl*.
{ cat "$work/declared.txt"; grep '^nccl' "$work/declared.txt" | sed 's/^/p/'; } | sort -u > "$work/required.txt"

# Defined dynamic symbols: "ADDRESS TYPE NAME"; version nodes are absolute (A).
nm -D --defined-only "$lib" | awk 'NF == 3 { print $2, $3 }' | sed 's/@.*//' | sort -u -k2 > "$work/exported.txt"
awk '$1 ~ /^[TWi]$/ { print $2 }' "$work/exported.txt" | sort -u > "$work/functions.txt"

missing=$(comm -23 "$work/required.txt" "$work/functions.txt")
if [ -n "$missing" ]; then
  echo "FAIL: $lib does not define these functions:" $missing
  failed=1
fi
# Programs linked against NVIDIA's library (PyTorch's libtorch_cuda, bound at load time)
# also need the functions it exports beyond nccl.h (the host half of nccl_device.h).
# Its internal ncclResetDebugInitInternal is not part of any header and not required.
nvlib=$(dirname "$nvidia")/lib64/libnccl.so.2
if [ -e "$nvlib" ]; then
  nm -D --defined-only "$nvlib" | awk 'NF == 3 && $2 ~ /^[TWi]$/ { print $3 }' | sed 's/@.*//' |
    grep -v 'ResetDebugInitInternal$' | sort -u > "$work/nvidia_exports.txt"
  missing=$(comm -23 "$work/nvidia_exports.txt" "$work/functions.txt")
  if [ -n "$missing" ]; then
    echo "FAIL: $lib does not define these functions that NVIDIA's $nvlib exports:" $missing
    failed=1
  fi
fi
extra=$(awk '$1 != "A" && $2 !~ /^p?nccl/ { print $1, $2 }' "$work/exported.txt")
if [ -n "$extra" ]; then
  echo "FAIL: $lib exports symbols other than nccl*/pnccl* (type name):"
  echo "$extra" | head -n 50
  failed=1
fi
echo "$lib: $(wc -l < "$work/functions.txt") functions exported, $(wc -l < "$work/required.txt") required"

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" != libnccl.so.2 ]; then
  echo "FAIL: $lib has soname '$soname', not libnccl.so.2"
  failed=1
fi
if [ ! -e "$libdir/libnccl.so" ]; then
  echo "FAIL: $libdir/libnccl.so (the name -lnccl links) does not exist"
  failed=1
fi

# Every declared function, by address, through Braid's own header and its libnccl.so.
sanitized=0
if readelf -d "$lib" | grep -Eq 'NEEDED.*lib(asan|tsan|ubsan)'; then sanitized=1; fi
{
  echo '#include <nccl.h>'
  echo 'static void (*volatile const everyFunction[])(void) = {'
  sed 's/.*/  (void (*)(void))\&&,/' "$work/declared.txt"
  echo '};'
  echo 'int main(void) {'
  echo '  for (unsigned i = 0; i < sizeof(everyFunction) / sizeof(everyFunction[0]); ++i)'
  echo '    if (!everyFunction[i]) return 1;'
  echo '  return 0;'
  echo '}'
} > "$work/every_function.c"
for compiler in "$cc -std=c11" "$cxx -std=c++17 -x c++"; do
  # shellcheck disable=SC2086
  if ! $compiler -Wno-deprecated-declarations -I"$braid" "$work/every_function.c" -x none \
       -L"$libdir" -lnccl -Wl,-z,now -o "$work/every_function" 2> "$work/link.log"; then
    echo "FAIL: a program taking every function's address does not build with $compiler against Braid's nccl.h and libnccl.so:"
    head -n 40 "$work/link.log"
    failed=1
  elif [ "$sanitized" = 1 ]; then
    echo "note: $lib is built with a sanitizer: the program linked, but runs only with that runtime loaded first"
  elif ! LD_LIBRARY_PATH="$libdir" LD_BIND_NOW=1 "$work/every_function"; then
    echo "FAIL: that program (built with $compiler) does not load and run with LD_LIBRARY_PATH=$libdir"
    failed=1
  fi
done

if [ "$failed" = 0 ]; then
  echo "PASS: every function of NVIDIA's nccl.h and its pnccl twin is exported, nothing else; soname libnccl.so.2"
fi
exit "$failed"
