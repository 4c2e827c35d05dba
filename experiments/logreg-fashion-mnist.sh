#!/usr/bin/env bash
# The paper's first experiment with figures: logistic regression on
# Fashion-MNIST (class 0 against the rest, lambda = 1e-4), N = 10, T = 6000,
# seeds 1-3 (experiments/logreg-fashion-mnist.json), each method at the best
# step of the main job's grid. About a minute on 2 cores. Writes out/logreg/
# and copies the PNG figures to docs/figures/logreg/ for the README.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/crpsgd ] || { echo "build/crpsgd is missing: run scripts/build.sh" >&2; exit 2; }
./build/crpsgd compare --config experiments/logreg-fashion-mnist.json --out out/logreg "$@"
mkdir -p docs/figures/logreg
cp out/logreg/figures/*.png docs/figures/logreg/
echo "figures: out/logreg/figures/ (PNG and SVG), copied to docs/figures/logreg/" >&2
