#!/usr/bin/env bash
# The README's settings table must be exactly what `braid-probe --env --markdown`
# prints from the Env table, so the README cannot drift from the code.
set -euo pipefail
probe=$1 readme=$2
expected=$("$probe" --env --markdown)
actual=$(sed -n '/<!-- settings:begin -->/,/<!-- settings:end -->/p' "$readme" | sed '1d;$d')
if [ "$expected" != "$actual" ]; then
  echo "README.md settings table differs from 'braid-probe --env --markdown':"
  diff <(echo "$expected") <(echo "$actual") || true
  exit 1
fi
echo "README settings table matches the Env table"
