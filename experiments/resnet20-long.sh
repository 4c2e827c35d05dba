#!/usr/bin/env bash
# The paper's second experiment at full-training scale: ResNet-20 on
# standardised, augmented Fashion-MNIST, N = 8 in-process workers, 10 epochs of
# SFO (T = 75000 per worker), every method at one peak step (0.1, cosine decay,
# momentum 0.9, weight decay 5e-4; settings in experiments/resnet20-long.toml):
#   psgd B = 16 and B = 128; local SGD b = 16 with I = 8 and I = 64;
#   cr-psgd B1 = 16, rho = 1.05 and --rho auto, the step growing linearly with
#   the batch from 0.025 up to the shared peak 0.1;
#   cr-psgd-catalyst with the paper's schedule (K = floor(sqrt(NT)) = 774,
#   inner budget floor(sqrt(T/N)) = 96) and with the best setting of
#   bench/network/catalyst_search.md (rho = 1.5, K = 10);
#   auto --rounds 74 (local SGD I = 64's rounds) at local batch 4 (its own at a
#   given step), 8 and 16, and with --lr auto (the range test's step);
#   seed 2 of psgd B = 16 and of local SGD I = 8 (SEED2_RUNS) for the spread.
# Test accuracy on all 10 000 test images 20 times per run (every half epoch),
# batch-norm statistics recomputed before each evaluation.
#
# Long: 30-40 minutes a run on 2 cores with nothing beside it (a third of it
# evaluation), twice that beside builds, 8-10 minutes for each auto row; 6-7 hours
# for all 14. Every run writes a
# checkpoint as it goes; run the script again (another session, after a kill)
# and it resumes each unfinished run where its checkpoint left it, bit-identical
# to an uninterrupted run, and skips finished ones. It prints how far each run is
# before it starts. Then experiments/resnet20_long_report.py writes the table
# (out/resnet20-long/table.md) and the figures (test accuracy against SFO and
# against rounds), copied to docs/figures/resnet20-long/ for docs/experiments.md.
#
# Usage: [RUNS="psgd-B16 ..."] [OUT=out/resnet20-long] experiments/resnet20-long.sh
#        experiments/resnet20-long.sh --progress   (only print how far each run is)
set -euo pipefail
cd "$(dirname "$0")/.."
crpsgd=${CRPSGD:-./build/crpsgd}
out=${OUT:-out/resnet20-long}
report() { /usr/bin/python3 experiments/resnet20_long_report.py "$@"; }
[ -x "$crpsgd" ] || { echo "resnet20-long: $crpsgd is missing: run scripts/build.sh" >&2; exit 2; }

# name | seed | checkpoint every K rounds (about a minute of work) | flags of the run
declare -A seed every flags
add() { seed[$1]=$2; every[$1]=$3; flags[$1]=$4; order+=("$1"); }
order=()
add psgd-B16          1 200 "--algo psgd --batch 16"
add psgd-B128         1 25  "--algo psgd --batch 128"
add local-sgd-I8      1 25  "--algo local-sgd --batch 16 --sync-period 8"
add local-sgd-I64     1 4   "--algo local-sgd --batch 16 --sync-period 64"
add cr-psgd           1 2   "--algo cr-psgd --b1 16 --rho 1.05 --lr 0.025 --lr-batch-scaling linear --lr-max 0.1"
add cr-psgd-auto      1 2   "--algo cr-psgd --b1 16 --rho auto --lr 0.025 --lr-batch-scaling linear --lr-max 0.1"
add catalyst-paper    1 100 "--algo cr-psgd-catalyst --b1 16 --rho 1.3 --theta 0.1"
add catalyst-search   1 5   "--algo cr-psgd-catalyst --b1 16 --rho 1.5 --theta 0.1 --outer-iters 10 --inner-budget 7500"
# auto at its defaults (issue 30), with the runs' shared step and --rounds 74:
# the rounds of local SGD I = 64, the mark to beat. Its smallest local batch is
# its own (--batch auto: 4 at a given step); beside it the local batches 8 and
# 16 (the batch this step was chosen for).
add auto-R74          1 4   "--algo auto --rounds 74"
add auto-R74-b8       1 4   "--algo auto --batch 8 --rounds 74"
add auto-R74-b16      1 4   "--algo auto --batch 16 --rounds 74"
# issue 40: auto with no step either (--lr auto: a network's range test, at its local batch 4).
add auto-R74-lr-auto  1 4   "--algo auto --rounds 74 --lr auto"
add psgd-B16-seed2    2 200 "${flags[psgd-B16]}"
add local-sgd-I8-seed2 2 25 "${flags[local-sgd-I8]}"
runs=(${RUNS:-${order[@]}})
for name in "${runs[@]}"; do
  [ -n "${flags[$name]:-}" ] || { echo "resnet20-long: unknown run '$name' (${order[*]})" >&2; exit 2; }
done

mkdir -p "$out"
report progress "$out" "${runs[@]}"
[ "${1:-}" = "--progress" ] && exit 0
for name in "${runs[@]}"; do
  dir="$out/$name"
  if [ -f "$dir/summary.json" ]; then continue; fi
  if [ -f "$dir/checkpoint/LATEST" ]; then how=--resume; else how=--overwrite; fi  # no checkpoint yet: start over
  echo "resnet20-long: $name ($how)" >&2
  # shellcheck disable=SC2086  # flags[...] is a list of words
  "$crpsgd" train --config experiments/resnet20-long.toml ${flags[$name]} --seed "${seed[$name]}" \
    --checkpoint-every "${every[$name]}" --out "$dir" "$how" --quiet > /dev/null
  report progress "$out" "$name"
done
report table "$out" "${order[@]}" > "$out/table.md"
report figures "$out" "$out/figures" "${order[@]}"
if [ -z "${RUNS:-}${OUT:-}" ]; then  # the full run is docs/experiments.md's
  mkdir -p docs/figures/resnet20-long
  cp "$out"/figures/*.png docs/figures/resnet20-long/
fi
cat "$out/table.md"
echo "resnet20-long: table in $out/table.md, figures in $out/figures/" >&2
