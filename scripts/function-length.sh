#!/usr/bin/env bash
# Lists every function in src/ and tools/ longer than LIMIT lines (default 80):
# a function that long does several jobs, and each deserves a name.
# Exit 1 when one is found (the function_length test), 0 otherwise.
# Usage: scripts/function-length.sh [LIMIT]
set -euo pipefail
cd "$(dirname "$0")/.."
limit=${1:-80}
ctags=$(command -v ctags-universal || command -v ctags || true)
[ -n "$ctags" ] || { echo "function-length: needs universal-ctags (scripts/install-deps.sh)" >&2; exit 2; }
long=$("$ctags" -R --languages=C++ --kinds-C++=f --fields=+ne -x --_xformat='%F|%n|%e|%N' src tools |
  awk -F'|' -v limit="$limit" '$3 != "" && $3 - $2 + 1 > limit { printf "%s:%s: %s is %d lines\n", $1, $2, $4, $3 - $2 + 1 }')
if [ -n "$long" ]; then
  echo "$long"
  echo "function-length: functions over $limit lines (split them into named steps)" >&2
  exit 1
fi
echo "function-length: every function in src/ and tools/ is at most $limit lines"
