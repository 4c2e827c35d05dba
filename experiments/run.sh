#!/usr/bin/env bash
# Runs the experiment experiments/NAME.json with `crpsgd compare` into out/NAME/
# and copies its PNG figures to docs/figures/NAME/ (docs/experiments.md shows them).
# Usage: experiments/run.sh NAME [extra compare flags, e.g. -q]
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: experiments/run.sh NAME [flags]}
shift
[ -f "experiments/$name.json" ] || { echo "experiments/$name.json: no such experiment" >&2; exit 2; }
[ -x build/crpsgd ] || { echo "build/crpsgd is missing: run scripts/build.sh" >&2; exit 2; }
./build/crpsgd compare --config "experiments/$name.json" --out "out/$name" --overwrite "$@"  # a rerun replaces the last one
mkdir -p "docs/figures/$name"
cp "out/$name"/figures/*.png "docs/figures/$name/"
echo "figures: out/$name/figures/ (PNG and SVG), copied to docs/figures/$name/" >&2
