#!/usr/bin/env bash
# The paper's rates on a problem with known constants (`crpsgd theory-check`):
# CR-PSGD's rounds against log T, N·T·(f − f*) over T = 10^3..10^6 and
# N = 1, 2, 4, 8 (10 seeds), the speedup in N, the baselines' rounds, and the
# catalyst's rounds against sqrt(NT)·log(T/N). About a minute on 2 cores.
# Writes out/theory-check/ and copies its table and PNG figures to
# docs/figures/theory-check/ (docs/experiments.md shows them). Exits 4 if a criterion fails.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/crpsgd ] || { echo "build/crpsgd is missing: run scripts/build.sh" >&2; exit 2; }
status=0
./build/crpsgd theory-check --out out/theory-check "$@" || status=$?
[ "$status" -eq 0 ] || [ "$status" -eq 4 ] || exit "$status"
mkdir -p docs/figures/theory-check
cp out/theory-check/figures/*.png out/theory-check/table.md docs/figures/theory-check/
echo "figures: out/theory-check/figures/ (PNG and SVG), copied to docs/figures/theory-check/" >&2
exit "$status"
