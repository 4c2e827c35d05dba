#!/usr/bin/env bash
# acc-cr-psgd (Nesterov's steps with gradient restarts on CR-PSGD's rounds)
# against CR-PSGD, each at its best tuned (B1, step), and against auto at its
# defaults (issue 41). The question: does acceleration reach CR-PSGD's f - f*
# at R rounds in R/2 rounds?
#
# Cells: fewest-rounds.sh's (logistic regression on Fashion-MNIST, class 0
# against the rest, lambda = 1e-4, raw and standardised pixels, N = 10;
# least squares at condition 1000, N = 8), T = 6000 per worker, with R in
# {10, 20, 25, 50, 100}: acc-cr-psgd at R/2 is judged against cr-psgd at R.
# Both take --rounds R (the smallest rho that fits R) and the grid B1 in
# {1, 4, 16} x steps {0.25, 0.5, 1, 2, 4}/L-hat, seeds 1-3; auto runs at its
# defaults. experiments/accelerated_report.py writes the table (with the
# problems' kappa-hat = L-hat/lambda).
#
# About 10 minutes on 2 cores. Usage:
#   [SEEDS=1,2,3] [PROBLEMS="raw standardised leastsq-bad"] [OUT=out/accelerated] experiments/accelerated.sh
set -euo pipefail
cd "$(dirname "$0")/.."
crpsgd=${CRPSGD:-./build/crpsgd}
fashion=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
out=${OUT:-out/accelerated}
[ -x "$crpsgd" ] || { echo "accelerated: $crpsgd is missing: run scripts/build.sh" >&2; exit 2; }
mkdir -p "$out"
runs=(--run "auto:lr=auto")
for b in 1 4 16; do runs+=(--run "cr-psgd:b1=$b" --run "acc-cr-psgd:b1=$b"); done
for problem in ${PROBLEMS:-raw standardised leastsq-bad}; do
  case $problem in
    raw) data=(--data "$fashion" --positive-class 0 --lambda 1e-4) n=10 ;;
    standardised) data=(--data "$fashion" --positive-class 0 --normalize --lambda 1e-4) n=10 ;;
    leastsq-bad) data=(--format synthetic --problem leastsq --synthetic-samples 16384 --synthetic-features 20
                       --synthetic-noise 1 --lambda 0 --synthetic-condition 1000) n=8 ;;
    *) echo "accelerated: unknown problem '$problem' (raw, standardised, leastsq-bad)" >&2; exit 2 ;;
  esac
  for r in 10 20 25 50 100; do
    cell="$out/$problem-R$r"
    echo "accelerated: $cell" >&2
    # Exit 3: some grid point diverged at every seed; the report counts it as no result.
    "$crpsgd" sweep "${data[@]}" --workers "$n" --backend inproc --budget 6000 --rounds "$r" \
      --lr-grid 0.25,0.5,1,2,4 --seeds "${SEEDS:-1,2,3}" --eval-every 1000000000 "${runs[@]}" \
      --out "$cell" --overwrite --quiet > /dev/null || [ $? -eq 3 ]
  done
done
/usr/bin/python3 experiments/accelerated_report.py "$out" > "$out/table.md"
cat "$out/table.md"
echo "accelerated: table in $out/table.md" >&2
