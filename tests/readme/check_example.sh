#!/usr/bin/env bash
# The README's C++ example compiles against the headers and runs on 2 ranks.
set -euo pipefail
readme=$1 include=$2 libdir=$3 braidrun=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The first C++ block (the ten-line example); later ones are fragments.
sed -n '/^```cpp$/,/^```$/{p;/^```$/q}' "$readme" | sed '1d;$d' > "$work/example.cpp"
g++ -std=c++20 -I"$include" "$work/example.cpp" -L"$libdir" -lbraid -Wl,-rpath,"$libdir" -o "$work/example"
"$braidrun" -n 2 "$work/example"
echo "README example ran on 2 ranks"
