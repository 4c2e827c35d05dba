#!/usr/bin/env bash
# --compress on a network (issue 42): the scripted CNN of
# examples/your-own-model (batch norm), one epoch of Fashion-MNIST on 4
# in-process workers, local SGD b = 16 I = 8 (the step 0.05, momentum 0.9)
# and PSGD b = 16 (the step 0.05), once per compression: none, int8,
# powersgd:1, powersgd:2, powersgd:4, powersgd:2:bf16. Reports each run's
# test accuracy (the mean over the seeds and its difference from none) and
# the bytes a worker sent a round, against none's.
#
# About 12 minutes a seed on 2 cores. Usage (ALGOS: local-sgd, psgd):
#   [SEEDS="1 2"] [ALGOS="local-sgd psgd"] [COMPRESSIONS="none int8 ..."] [OUT=out/compress-network]
#   experiments/compress-network.sh
set -euo pipefail
cd "$(dirname "$0")/.."
crpsgd=${CRPSGD:-./build/crpsgd}
out=${OUT:-out/compress-network}
model=out/your-own-model
[ -x "$crpsgd" ] || { echo "compress-network: $crpsgd is missing: run scripts/build.sh" >&2; exit 2; }
[ -f "$model/cnn.pt" ] || /usr/bin/python3 examples/your-own-model/make_model.py "$model" > /dev/null
mkdir -p "$out"
train=(train -q --model "$model/cnn.pt" --data "$model/train.pt" --test-data "$model/test.pt" --normalize
       --threads 1 --workers 4 --batch 16 --lr 0.05 --budget 15000 --overwrite)
declare -A flags=([local-sgd]="local-sgd --sync-period 8 --momentum 0.9" [psgd]="psgd")
for method in ${ALGOS:-local-sgd psgd}; do
  algo=${flags[$method]:?"compress-network: ALGOS takes local-sgd and psgd, not $method"}
  for compression in ${COMPRESSIONS:-none int8 powersgd:1 powersgd:2 powersgd:4 powersgd:2:bf16}; do
    for seed in ${SEEDS:-1 2}; do
      name="${algo%% *}-${compression//:/}-$seed"
      echo "compress-network: $name" >&2
      # shellcheck disable=SC2086 # $algo is the algorithm and its flags
      "$crpsgd" "${train[@]}" --algo $algo --compress "$compression" --seed "$seed" --out "$out/$name" > /dev/null
    done
  done
done
/usr/bin/python3 - "$out" << 'PY' | tee "$out/table.md"
import glob, json, os, statistics, sys
out = sys.argv[1]
runs = {}
for path in sorted(glob.glob(os.path.join(out, "*", "summary.json"))):
    s = json.load(open(path))
    algo, compression, _ = os.path.basename(os.path.dirname(path)).rsplit("-", 2)
    runs.setdefault((algo, compression), []).append(s)
print("| algorithm | compression | rounds | test accuracy (mean over seeds) | vs none | bytes a round | vs none |")
print("|---|---|---|---|---|---|---|")
for (algo, compression), ss in sorted(runs.items(), key=lambda kv: (kv[0][0], kv[0][1] != "none", kv[0][1])):
    none = runs[(algo, "none")]
    acc = 100 * statistics.mean(s["test_accuracy"] for s in ss)
    acc0 = 100 * statistics.mean(s["test_accuracy"] for s in none)
    per_round = ss[0]["bytes"] / ss[0]["rounds"]
    per_round0 = none[0]["bytes"] / none[0]["rounds"]
    print(f"| {algo} | {compression} | {ss[0]['rounds']} | {acc:.2f}% | {acc - acc0:+.2f} points "
          f"| {per_round:,.0f} | {per_round0 / per_round:.1f}× fewer |")
PY
