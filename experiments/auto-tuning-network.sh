#!/usr/bin/env bash
# The network auto's smallest local batch was chosen on, apart from the
# benchmark's CNN (experiments/fewest-rounds.sh, PROBLEMS=cnn): a small CNN
# with batch norm (one convolution, two linear layers) on scikit-learn's 8x8
# digits, ten classes, 1397 training and 400 test images, N = 2 in-process
# workers, two and four epochs (T = 1400 and 2800), R in {20, 50}.
# As in the benchmark, every method runs at each step of 0.02, 0.05 and 0.1
# (a network has no L-hat), the baselines keep their best test error over
# the grid (psgd; local SGD's b in {1, 4, 16}; cr-psgd's B1 in {1, 4, 16}),
# and auto is judged at the step PSGD found best. Each argument is one auto
# setting (sweep --run keys); every line printed is a cell: each setting's
# mean test error over the best baseline's (below 1: auto is better).
#
# About 5 minutes on 2 cores for four settings. Usage:
#   [OUT=out/auto-tuning-network] experiments/auto-tuning-network.sh "batch=1" "batch=4" "batch=auto" ...
set -euo pipefail
cd "$(dirname "$0")/.."
crpsgd=${CRPSGD:-./build/crpsgd}
out=${OUT:-out/auto-tuning-network}
[ -x "$crpsgd" ] || { echo "auto-tuning-network: $crpsgd is missing: run scripts/build.sh" >&2; exit 2; }
[ $# -gt 0 ] || { echo "auto-tuning-network: give one or more auto settings, e.g. batch=4" >&2; exit 2; }
mkdir -p "$out"
# The network (torch.jit.script needs its source in a file) and the digits as tensor files.
/usr/bin/python3 experiments/make_digits_cnn.py "$out"
runs=()
for lr in 0.02 0.05 0.1; do
  runs+=(--run "psgd:lr=$lr")
  for b in 1 4 16; do runs+=(--run "local-sgd:batch=$b,lr=$lr" --run "cr-psgd:b1=$b,lr=$lr"); done
  for setting in "$@"; do runs+=(--run "auto:lr=$lr,$setting"); done
done
for cell in "1400 1,2,3" "2800 1,2,3,4,5"; do
  read -r t seeds <<< "$cell"
  for r in 20 50; do
    # Exit 3: some grid point diverged at every seed (local SGD with b = 1 at 0.1); it counts as no result.
    "$crpsgd" sweep --model "$out/net.pt" --data "$out/train.pt" --test-data "$out/test.pt" --normalize --threads 1 \
      --workers 2 --backend inproc --budget "$t" --rounds "$r" --seeds "$seeds" --eval-every 1000000000 \
      "${runs[@]}" --out "$out/T$t-R$r" --overwrite --quiet > /dev/null 2>&1 || [ $? -eq 3 ]
    /usr/bin/python3 - "$out/T$t-R$r/results.csv" "T=$t R=$r" <<'PY'
import csv, sys
from collections import defaultdict
seeds = defaultdict(list)
for row in csv.DictReader(open(sys.argv[1], newline="")):
    ok = row["status"] == "ok" and row["test_accuracy"] != ""
    key = (row["algo"], row["params"] if row["algo"] == "auto" else row["params"].split()[0], row["lr"])
    seeds[key].append(1.0 - float(row["test_accuracy"]) if ok else 0.9)  # diverged: chance
mean = {k: sum(v) / len(v) for k, v in seeds.items()}
step = min((e, k[2]) for k, e in mean.items() if k[0] == "psgd")[1]
best = min(e for k, e in mean.items() if k[0] != "auto")
print(f"{sys.argv[2]}: best baseline test error {best:.4f}, PSGD's step {step};",
      "; ".join(f"auto {k[1]}: {e / best:.2f}x" for k, e in mean.items() if k[0] == "auto" and k[2] == step))
PY
  done
done
