#!/usr/bin/env bash
# The scripted CNN across a lost and a regained worker (issue 43): one epoch
# of Fashion-MNIST on 4 in-process workers (local SGD b = 16, I = 8, the step
# 0.05, momentum 0.9), never stopped, and the same run killed (kill -9 of the
# process) past a third of its rounds, resumed on 3 workers, killed past two
# thirds, resumed on 4. On 3 the workers host the plan's 4 (crpsgd/hosted.h),
# so the run is the uninterrupted one bit for bit, whatever SAMPLING (global,
# the default, or with-replacement). Reports each seed's test accuracy of
# both, the difference and its mean.
#
# About 4 minutes a seed on 2 cores. Usage:
#   [SEEDS="1 2 3"] [SAMPLING=global] [OUT=out/elastic-cnn] experiments/elastic-cnn.sh
set -euo pipefail
cd "$(dirname "$0")/.."
crpsgd=${CRPSGD:-./build/crpsgd}
out=${OUT:-out/elastic-cnn}
model=out/your-own-model
[ -x "$crpsgd" ] || { echo "elastic-cnn: $crpsgd is missing: run scripts/build.sh" >&2; exit 2; }
[ -f "$model/cnn.pt" ] || /usr/bin/python3 examples/your-own-model/make_model.py "$model"
mkdir -p "$out"
train=(train -q --model "$model/cnn.pt" --data "$model/train.pt" --test-data "$model/test.pt" --normalize
       --threads 1 --algo local-sgd --batch 16 --sync-period 8 --lr 0.05 --momentum 0.9 --budget 15000
       --checkpoint-every 2 --sampling "${SAMPLING:-global}")
printf 'seed\tnever stopped\tlost and regained\tdifference (points)\n' > "$out/results.tsv"
for seed in ${SEEDS:-1 2 3}; do
  echo "elastic-cnn: seed $seed" >&2
  "$crpsgd" "${train[@]}" --seed "$seed" --workers 4 --out "$out/reference-$seed" --overwrite
  dir=$out/elastic-$seed
  rm -rf "$dir"
  # 15000 samples a worker, 128 a round: 118 rounds; the kills count the process's own rounds.
  "$crpsgd" "${train[@]}" --seed "$seed" --workers 4 --out "$dir" --inject-fault kill:rank=1,round=40 || true
  "$crpsgd" "${train[@]}" --seed "$seed" --workers 3 --out "$dir" --resume --inject-fault kill:rank=1,round=40 || true
  "$crpsgd" "${train[@]}" --seed "$seed" --workers 4 --out "$dir" --resume
  /usr/bin/python3 - "$out/reference-$seed" "$dir" "$seed" "$out/results.tsv" << 'PY'
import json, sys
ref, run = (json.load(open(d + "/summary.json")) for d in sys.argv[1:3])
assert ref["rounds"] == run["rounds"] and ref["sfo_total"] == run["sfo_total"], (ref["rounds"], run["rounds"])
a, b = 100 * ref["test_accuracy"], 100 * run["test_accuracy"]
open(sys.argv[4], "a").write(f"{sys.argv[3]}\t{a:.2f}%\t{b:.2f}%\t{b - a:+.2f}\n")
PY
done
cat "$out/results.tsv"
awk -F'\t' 'NR > 1 { sum += $4; n += 1 } END { printf "mean difference: %+.2f points over %d seeds\n", sum / n, n }' \
  "$out/results.tsv"
