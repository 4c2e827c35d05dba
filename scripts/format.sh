#!/usr/bin/env bash
# Formats the C++ sources with the repository's .clang-format; with --check,
# changes nothing and fails (naming the files) when one is not formatted.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format > /dev/null || { echo "format: clang-format is missing: run scripts/install-deps.sh" >&2; exit 2; }
mapfile -t files < <(find include src tools tests examples bench fuzz \( -name '*.cc' -o -name '*.h' \) -type f | sort)
if [ "${1:-}" = "--check" ]; then
  bad=()
  for f in "${files[@]}"; do
    clang-format --dry-run --Werror "$f" > /dev/null 2>&1 || bad+=("$f")
  done
  if ((${#bad[@]})); then
    echo "format: not formatted (run scripts/format.sh): ${bad[*]}" >&2
    exit 1
  fi
  echo "format: ${#files[@]} files formatted"
else
  clang-format -i "${files[@]}"
fi
