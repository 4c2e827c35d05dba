#!/usr/bin/env bash
# Acceptance benchmark of --rho auto (the norm test): does a batch that grows
# when the workers' own gradients say so match the best hand-tuned (rho, B1)?
#
# Cells: logistic regression on Fashion-MNIST (class 0 against the rest,
# lambda = 1e-4) with raw and with standardised pixels, and least squares on
# theory-check's generator (20 features with variances 1 down to 1/5, unit
# label noise, 2^14 samples, lambda = 0); N in {4, 10} in-process workers;
# gamma in {1/2, 1}/L-hat; T in {6000, 100000} samples per worker; seeds 1-4.
# In every cell, with the same defaults: cr-psgd --rho auto (B1 = 1,
# theta^2 = 1) and the grid rho in {1.01 ... 2} x B1 in {1, 4, 16}; PSGD with
# B and local SGD with I in {16, 64, 256, 1024} for the figures.
# experiments/auto_batch_report.py judges each cell (docs/experiments.md's table), and
# experiments/auto_batch_figure.py draws f - f* against rounds for each cell:
#   auto's mean f - f* <= 1.25x the best grid point with no more rounds, and
#   auto's rounds <= 2x those of rho = 1.04, B1 = 1.
#
# About 10 minutes on 2 cores. Usage:
#   [SEEDS=1,2,3,4] [PROBLEMS="raw standardised leastsq"] [WORKERS="4 10"]
#   [BUDGETS="6000 100000"] [OUT=out/auto-batch] experiments/auto-batch.sh
set -euo pipefail
cd "$(dirname "$0")/.."
crpsgd=${CRPSGD:-./build/crpsgd}
fashion=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
out=${OUT:-out/auto-batch}
[ -x "$crpsgd" ] || { echo "auto-batch: $crpsgd is missing: run scripts/build.sh" >&2; exit 2; }
runs=()
for b1 in 1 4 16; do
  for rho in 1.01 1.02 1.04 1.07 1.1 1.2 1.5 2; do runs+=(--run "cr-psgd:b1=$b1,rho=$rho"); done
done
runs+=(--run "cr-psgd:b1=1,rho=auto")
# The baselines at a range of rounds, for the figure (f - f* against rounds at
# equal SFO): fixed-batch PSGD with B samples and local SGD with I local steps.
for k in 16 64 256 1024; do runs+=(--run "psgd:batch=$k" --run "local-sgd:batch=1,sync-period=$k"); done
mkdir -p "$out"
for problem in ${PROBLEMS:-raw standardised leastsq}; do
  case $problem in
    raw) data=(--data "$fashion" --positive-class 0 --lambda 1e-4) ;;
    standardised) data=(--data "$fashion" --positive-class 0 --normalize --lambda 1e-4) ;;
    leastsq) data=(--format synthetic --problem leastsq --synthetic-samples 16384 --synthetic-features 20
                   --synthetic-noise 1 --synthetic-condition 5 --lambda 0) ;;
    *) echo "auto-batch: unknown problem '$problem' (raw, standardised, leastsq)" >&2; exit 2 ;;
  esac
  for n in ${WORKERS:-4 10}; do
    for t in ${BUDGETS:-6000 100000}; do
      cell="$out/$problem-N$n-T$t"
      echo "auto-batch: $cell" >&2
      # Exit 3: some grid point diverged at both steps (e.g. rho = 2 from one
      # sample); the report counts it as no result.
      "$crpsgd" sweep "${data[@]}" --workers "$n" --backend inproc --budget "$t" --lr-grid 0.5,1 \
        --seeds "${SEEDS:-1,2,3,4}" --eval-every 1000000000 "${runs[@]}" --out "$cell" --overwrite --quiet \
        > /dev/null || [ $? -eq 3 ]
    done
  done
done
/usr/bin/python3 experiments/auto_batch_report.py "$out" > "$out/table.md"
cells=()
for dir in "$out"/*-N*-T*; do [ -f "$dir/results.csv" ] && cells+=("$(basename "$dir")"); done
/usr/bin/python3 experiments/auto_batch_figure.py "$out" "$out/figures" "${cells[@]}"
# The full run (no overrides) is docs/experiments.md's: its figures are copied there.
if [ -z "${SEEDS:-}${PROBLEMS:-}${WORKERS:-}${BUDGETS:-}${OUT:-}" ]; then
  mkdir -p docs/figures/auto-batch
  cp "$out"/figures/*.png docs/figures/auto-batch/
fi
cat "$out/table.md"
echo "auto-batch: table in $out/table.md, figures (f - f* against rounds) in $out/figures/" >&2
