#!/usr/bin/env bash
# --compress against uncompressed rounds on the main job's problem (issue 42):
# logistic regression on Fashion-MNIST (class 0 against the rest, normalized,
# lambda = 1e-4), N = 10 in process, T = 6000 per worker, the main job's runs
# (psgd B = 1 and 57, local SGD I = 10 and 57, cr-psgd B1 = 4 rho = 1.04;
# not --rho auto, whose norm test rides in the message), each at its best
# step of the grid {0.5, 1, 2, 4, 8}/L-hat, and auto at its own step with
# R = 20 and 50, seeds 1-3, once per compression.
# experiments/compress_report.py writes the table: f - f* and bytes per
# worker, each compression against none at the same rounds.
#
# About 15 minutes on 2 cores. Usage:
#   [SEEDS=1,2,3] [OUT=out/compress] experiments/compress.sh
set -euo pipefail
cd "$(dirname "$0")/.."
crpsgd=${CRPSGD:-./build/crpsgd}
data=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
out=${OUT:-out/compress}
[ -x "$crpsgd" ] || { echo "compress: $crpsgd is missing: run scripts/build.sh" >&2; exit 2; }
[ -f "$data" ] || { echo "compress: $data is missing: run scripts/install-deps.sh" >&2; exit 2; }
mkdir -p "$out"
for compression in none bf16 int8; do
  echo "compress: $compression" >&2
  "$crpsgd" sweep -q --problem logreg --data "$data" --positive-class 0 --normalize --lambda 1e-4 \
    --workers 10 --backend inproc --budget 6000 --lr-grid 0.5,1,2,4,8 --seeds "${SEEDS:-1,2,3}" \
    --run psgd:batch=1 --run local-sgd:batch=1,sync-period=10 --run cr-psgd:b1=4,rho=1.04 \
    --run psgd:batch=57 --run local-sgd:batch=1,sync-period=57 \
    --run auto:lr=auto,rounds=20 --run auto:lr=auto,rounds=50 \
    --compress "$compression" --out "$out/$compression" --overwrite
done
/usr/bin/python3 experiments/compress_report.py "$out" > "$out/table.md"
cat "$out/table.md"
