#!/usr/bin/env bash
# Your own network, end to end: script a CNN in PyTorch, train it with crpsgd
# under mpirun -np 2 (PSGD, local SGD and CR-PSGD, the same budget each), and
# evaluate the trained module back in PyTorch. The step, 0.01, is PSGD's best
# of bench/your_own_model.sh; CR-PSGD's grows with sqrt(batch) up to 4x that.
# Usage: [BUDGET=30000] [OUT=out/your-own-model] examples/your-own-model/run.sh
# BUDGET is samples per worker: 30000 = one epoch of Fashion-MNIST over 2
# workers (a few minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-out/your-own-model}
budget=${BUDGET:-30000}
mpirun=(mpirun -np 2)
[ "$(id -u)" -eq 0 ] && mpirun+=(--allow-run-as-root)
[ "$(nproc)" -lt 2 ] && mpirun+=(--oversubscribe)

/usr/bin/python3 examples/your-own-model/make_model.py "$out"
common=(train --model "$out/cnn.pt" --data "$out/train.pt" --test-data "$out/test.pt" --normalize
        --budget "$budget" --lr 0.01 --momentum 0.9 --threads 1 --eval-samples 10000 --save-model -q)
"${mpirun[@]}" ./build/crpsgd "${common[@]}" --algo psgd --batch 32 --out "$out/psgd" --overwrite
"${mpirun[@]}" ./build/crpsgd "${common[@]}" --algo local-sgd --batch 32 --sync-period 8 --out "$out/local-sgd" --overwrite
"${mpirun[@]}" ./build/crpsgd "${common[@]}" --algo cr-psgd --b1 32 --rho 1.02 --lr-batch-scaling sqrt --lr-max 0.04 \
  --out "$out/cr-psgd" --overwrite
for run in psgd local-sgd cr-psgd; do
  /usr/bin/python3 examples/your-own-model/evaluate.py "$out/$run/model.pt" "$out/train.pt" "$out/test.pt"
done
