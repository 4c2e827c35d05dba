#!/usr/bin/env bash
# What --overlap costs in accuracy (issue 42): the settings of
# bench/network/ddp.sh (the scripted CNN of examples/your-own-model, one
# epoch of Fashion-MNIST on 2 workers, local SGD b = 32, step 0.01,
# momentum 0.9) in process, where a round's exchange is nearly free, so that
# only the method differs: I = 8 and 64, each waiting for its rounds and
# overlapped, without compression and with int8. Accuracy does not depend
# on the machine's load or link: the runs are deterministic.
#
# About 8 minutes on 2 cores. Usage:
#   [SEEDS="1 2 3"] [PERIODS="8 64"] [COMPRESSIONS="none int8"] [LR=0.01] [MOMENTUM=0.9]
#   [OVERLAP_FLAGS="--outer-lr 0.7"] [OUT=out/overlap] experiments/overlap.sh
# OVERLAP_FLAGS: more flags for the overlapped runs only (the waiting ones stay the reference).
set -euo pipefail
cd "$(dirname "$0")/.."
crpsgd=${CRPSGD:-./build/crpsgd}
out=${OUT:-out/overlap}
model=out/your-own-model
[ -x "$crpsgd" ] || { echo "overlap: $crpsgd is missing: run scripts/build.sh" >&2; exit 2; }
[ -f "$model/cnn.pt" ] || /usr/bin/python3 examples/your-own-model/make_model.py "$model" > /dev/null
mkdir -p "$out"
for period in ${PERIODS:-8 64}; do
  for compression in ${COMPRESSIONS:-none int8}; do
    for mode in waiting overlap; do
      for seed in ${SEEDS:-1 2 3}; do
        name="I$period-$compression-$mode-$seed"
        echo "overlap: $name" >&2
        flags=(--sync-period "$period" --compress "$compression")
        # shellcheck disable=SC2206  # OVERLAP_FLAGS is a list of words
        [ "$mode" = overlap ] && flags+=(--overlap ${OVERLAP_FLAGS:-})
        "$crpsgd" train -q --model "$model/cnn.pt" --data "$model/train.pt" --test-data "$model/test.pt" \
          --normalize --threads 1 --workers 2 --algo local-sgd --batch 32 --lr "${LR:-0.01}" \
          --momentum "${MOMENTUM:-0.9}" \
          --budget 30000 --no-f-star --eval-samples 2000 --seed "$seed" "${flags[@]}" --overwrite \
          --out "$out/$name" > /dev/null
      done
    done
  done
done
/usr/bin/python3 - "$out" << 'PY' | tee "$out/table.md"
import glob, json, os, statistics, sys
out = sys.argv[1]
runs = {}
for path in sorted(glob.glob(os.path.join(out, "*", "summary.json"))):
    period, compression, mode, seed = os.path.basename(os.path.dirname(path)).split("-")
    runs.setdefault((int(period[1:]), compression, mode), {})[seed] = 100 * json.load(open(path))["test_accuracy"]
print("| I | compression | rounds | waiting: test accuracy (seeds) | overlapped | overlapped − waiting (mean) |")
print("|---|---|---|---|---|---|")
for period, compression in sorted({(p, c) for p, c, _ in runs}):
    wait, over = runs[(period, compression, "waiting")], runs[(period, compression, "overlap")]
    seeds = sorted(wait)
    listed = lambda accs: " / ".join(f"{accs[s]:.2f}" for s in seeds)
    gap = statistics.mean(over[s] - wait[s] for s in seeds)
    rounds = -(-30000 // 32 // period)
    print(f"| {period} | {compression} | {rounds} | {listed(wait)} | {listed(over)} | {gap:+.2f} points |")
PY
