#!/usr/bin/env bash
# The paper's second experiment, on the data at hand: ResNet-20 with N = 8
# workers (threads of one process), one epoch of SFO (T = 7500 samples per
# worker = the 60000 Fashion-MNIST training images once), test accuracy on the
# 10000 test images. PSGD and local SGD against CR-PSGD-Catalyst, all with the
# same step, momentum 0.9 and per-channel normalisation. Loss and accuracy are
# evaluated about 10 times per run on 8000-sample subsets (--eval-samples).
#
# Usage: experiments/resnet20-fashion-mnist.sh [--with-psgd-b1]
#   --with-psgd-b1 adds PSGD with B = 1 (7500 rounds; about 10 more minutes here).
# Outputs: out/resnet20/<algo>/{metrics.jsonl,summary.json,model.pt} and out/resnet20/table.md
set -euo pipefail
cd "$(dirname "$0")/.."
fm=/usr/share/datasets/fashion-mnist
out=out/resnet20
[ -x build/crpsgd ] || { echo "build/crpsgd is missing: run scripts/build.sh" >&2; exit 2; }
common=(--problem resnet20 --data "$fm/train-images-idx3-ubyte.gz" --test-data "$fm/t10k-images-idx3-ubyte.gz"
        --normalize --workers 8 --backend inproc --budget 7500 --lr 0.05 --momentum 0.9
        --eval-samples 8000 --threads 1 --save-model --quiet)
runs=("psgd --batch 16"
      "local-sgd --batch 16 --sync-period 8"
      "cr-psgd-catalyst --b1 16 --rho 1.3 --theta 0.1 --outer-iters 10 --inner-budget 750")
[ "${1:-}" = "--with-psgd-b1" ] && runs+=("psgd --batch 1")
mkdir -p "$out"
table="$out/table.md"
: > "$table.tmp"
for run in "${runs[@]}"; do
  name=$(echo "$run" | tr -s ' ' '_' | tr -d '-')
  echo "resnet20: $run" >&2
  # shellcheck disable=SC2086
  ./build/crpsgd train "${common[@]}" --algo $run --out "$out/$name" > "$out/$name.table"
  if [ ! -s "$table.tmp" ]; then head -2 "$out/$name.table" > "$table.tmp"; fi
  tail -n +3 "$out/$name.table" >> "$table.tmp"
  rm "$out/$name.table"
done
mv "$table.tmp" "$table"
for s in "$out"/*/summary.json; do
  printf '%s: test accuracy %s\n' "$(dirname "$s")" "$(grep -o '"test_accuracy": [0-9.]*' "$s" | cut -d' ' -f2)"
done
cat "$table"
