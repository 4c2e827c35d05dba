#!/usr/bin/env bash
# What --overlap costs auto (issue 42): the main job's problem (logistic
# regression on Fashion-MNIST, class 0 against the rest, normalized,
# lambda = 1e-4), N = 10 in process, T = 6000 per worker, auto at its own
# step (--lr auto) with R rounds, each run waiting for its rounds and
# overlapped. In process a round's exchange is nearly free, so only the
# method differs; the runs are deterministic. Reports f - f* per seed and
# the overlapped run's over the waiting one's.
#
# About 2 minutes on 2 cores. Usage:
#   [SEEDS="1 2 3"] [ROUNDS="20 50"] [OUT=out/overlap-auto] experiments/overlap-auto.sh
set -euo pipefail
cd "$(dirname "$0")/.."
crpsgd=${CRPSGD:-./build/crpsgd}
data=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
out=${OUT:-out/overlap-auto}
[ -x "$crpsgd" ] || { echo "overlap-auto: $crpsgd is missing: run scripts/build.sh" >&2; exit 2; }
[ -f "$data" ] || { echo "overlap-auto: $data is missing: run scripts/install-deps.sh" >&2; exit 2; }
mkdir -p "$out"
for rounds in ${ROUNDS:-20 50}; do
  for seed in ${SEEDS:-1 2 3}; do
    for mode in waiting overlap; do
      flags=()
      [ "$mode" = overlap ] && flags+=(--overlap)
      echo "overlap-auto: R$rounds-$mode-$seed" >&2
      "$crpsgd" train -q --problem logreg --data "$data" --positive-class 0 --normalize --lambda 1e-4 \
        --workers 10 --budget 6000 --algo auto --lr auto --rounds "$rounds" --seed "$seed" "${flags[@]}" \
        --out "$out/R$rounds-$mode-$seed" --overwrite > /dev/null
    done
  done
done
/usr/bin/python3 - "$out" << 'PY' | tee "$out/table.md"
import glob, json, os, sys
out = sys.argv[1]
gaps = {}
for path in glob.glob(os.path.join(out, "*", "summary.json")):
    rounds, mode, seed = os.path.basename(os.path.dirname(path)).split("-")
    gaps[(int(rounds[1:]), mode, int(seed))] = json.load(open(path))["f_gap"]
print("| R | seed | waiting: f − f* | overlapped | overlapped / waiting |")
print("|---|---|---|---|---|")
for rounds, mode, seed in sorted(k for k in gaps if k[1] == "waiting"):
    wait, over = gaps[(rounds, "waiting", seed)], gaps[(rounds, "overlap", seed)]
    print(f"| {rounds} | {seed} | {wait:.5f} | {over:.5f} | {over / wait:.2f}× |")
PY
