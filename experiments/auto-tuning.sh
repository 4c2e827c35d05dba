#!/usr/bin/env bash
# The problems auto's defaults were chosen on, apart from the benchmark's
# (experiments/fewest-rounds.sh): binary digits (scikit-learn's 8x8 digits,
# even against odd, raw pixels, N = 10, T = 6000), breast cancer
# (scikit-learn's, standardised, N = 4, T = 3000) and least squares on
# theory-check's generator with condition 50 (N = 8, T = 6000); R in {20, 50};
# seeds 1-3. The baselines get fewest-rounds.sh's grids; each argument is one
# auto setting (sweep --run keys), and every line printed is a cell: each
# setting's mean f - f* over the best baseline's (below 1: auto is better).
#
# About a minute on 2 cores per four settings. Usage:
#   [OUT=out/auto-tuning] experiments/auto-tuning.sh "round-split=local-steps" "round-split=noise,outer-momentum=0.7" ...
set -euo pipefail
cd "$(dirname "$0")/.."
crpsgd=${CRPSGD:-./build/crpsgd}
out=${OUT:-out/auto-tuning}
[ -x "$crpsgd" ] || { echo "auto-tuning: $crpsgd is missing: run scripts/build.sh" >&2; exit 2; }
[ $# -gt 0 ] || { echo "auto-tuning: give one or more auto settings, e.g. round-split=noise" >&2; exit 2; }
mkdir -p "$out"
# The two scikit-learn data sets as LIBSVM files (Debian's python3-sklearn ships them).
/usr/bin/python3 - "$out" <<'PY'
import os, sys
from sklearn.datasets import load_breast_cancer, load_digits
def write(path, rows, labels):
    with open(path, "w") as f:
        for x, y in zip(rows, labels):
            f.write(("+1" if y else "-1") + " " + " ".join(f"{j + 1}:{v:g}" for j, v in enumerate(x) if v != 0) + "\n")
digits, cancer = load_digits(), load_breast_cancer()
write(os.path.join(sys.argv[1], "digits.libsvm"), digits.data, digits.target % 2 == 0)
write(os.path.join(sys.argv[1], "cancer.libsvm"), cancer.data, cancer.target == 1)
PY
runs=(--run psgd)
for b in 1 4 16; do runs+=(--run "local-sgd:batch=$b" --run "cr-psgd:b1=$b"); done
for setting in "$@"; do runs+=(--run "auto:lr=auto,$setting"); done
for cell in digits cancer leastsq-50; do
  case $cell in
    digits) data=(--data "$out/digits.libsvm" --lambda 1e-4) n=10 t=6000 ;;
    cancer) data=(--data "$out/cancer.libsvm" --standardize --lambda 1e-4) n=4 t=3000 ;;
    leastsq-50) data=(--format synthetic --problem leastsq --synthetic-samples 16384 --synthetic-features 20
                      --synthetic-noise 1 --lambda 0 --synthetic-condition 50) n=8 t=6000 ;;
  esac
  for r in 20 50; do
    "$crpsgd" sweep "${data[@]}" --workers "$n" --backend inproc --budget "$t" --rounds "$r" \
      --lr-grid 0.25,0.5,1,2,4 --seeds 1,2,3 --eval-every 1000000000 "${runs[@]}" \
      --out "$out/$cell-R$r" --overwrite --quiet > /dev/null || [ $? -eq 3 ]
    /usr/bin/python3 - "$out/$cell-R$r/results.csv" "$cell R=$r" <<'PY'
import csv, sys
from collections import defaultdict
seeds = defaultdict(list)
for row in csv.DictReader(open(sys.argv[1], newline="")):
    ok = row["status"] == "ok" and row["f_gap"] != ""
    key = (row["algo"], row["params"] if row["algo"] == "auto" else row["params"].split()[0], row["lr_multiple"])
    seeds[key].append(float(row["f_gap"]) if ok else float("inf"))
mean = {k: sum(v) / len(v) for k, v in seeds.items()}
best = min(g for k, g in mean.items() if k[0] != "auto")
print(f"{sys.argv[2]}: best baseline {best:.4g};",
      "; ".join(f"auto {k[1]}: {g / best:.2f}x" for k, g in mean.items() if k[0] == "auto"))
PY
  done
done
