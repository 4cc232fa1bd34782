#!/usr/bin/env bash
# Prints, one per line and sorted, every nccl*/pnccl* function that DIR/nccl.h itself
# declares. The header is run through the C preprocessor first, so comments, macros and
# #if branches cannot add or hide a name, and only lines that came from DIR/nccl.h count
# (not the CUDA headers it includes). No list is kept by hand: a new NCCL release that
# declares a new function makes the checks that use this list ask for it.
#
# usage: header_functions.sh DIR
set -euo pipefail
dir=${1%/}
header="$dir/nccl.h"
printf '#include <nccl.h>\n' | "${CC:-gcc}" -E -x c -I"$dir" - |
  awk -v header="\"$header\"" '
    /^# [0-9]+ "/ { from_header = ($3 == header); next }
    from_header' |
  tr '\n' ' ' |
  sed 's/"[^"]*"//g' |
  grep -oE '(^|[^A-Za-z0-9_])p?nccl[A-Za-z0-9_]*[[:space:]]*\(' |
  sed -E 's/^[^A-Za-z0-9_]//; s/[[:space:](]+$//' |
  sort -u
