#!/usr/bin/env bash
# The ResNet-20 catalyst against psgd at the network benchmark's budget, on
# one host without shaping (2 in-process workers, one core each, like the
# benchmark's 2 hosts): each setting's final loss and rounds, and the round at
# which psgd with B = B1 first evaluates at or below that loss. Time to target
# on a slow link follows from these, since psgd pays per round; the report
# estimates the 100 Mbit/s ratio from the costs measured there.
#   bash bench/network/catalyst_search.sh          # about 10 minutes on 2 cores
#   bash bench/network/catalyst_search.sh --long   # also 3x and 15x the budget (+9 minutes)
# Writes bench/network/catalyst_search.md; the runs stay in out/catalyst_search/.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x build/crpsgd ] || { echo "catalyst search: build/crpsgd is missing: run scripts/build.sh" >&2; exit 2; }
data=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
long=false
[ "${1:-}" = --long ] && long=true
out=out/catalyst_search
rm -rf "$out"
mkdir -p "$out"
# Batch-norm statistics recomputed before each evaluation: with the running
# averages of training, the same run's loss swings by 2-3x from one evaluation
# to the next (a seed's psgd ended at 3.4, another's at 0.9).
common=(--problem resnet20 --data "$data" --normalize --threads 1 --eval-samples 400 --eval-batch-norm recomputed
        --seed 1 --workers 2 --backend inproc -q)
runs=$out/runs.tsv
: > "$runs"
run() {  # run GROUP NAME FLAGS...: GROUP pairs catalyst settings with the psgd runs they are judged against
  local group=$1 name=$2
  shift 2
  local dir="$out/$(printf '%03d' "$(wc -l < "$runs")")"
  build/crpsgd train "${common[@]}" "$@" --out "$dir" > /dev/null
  printf '%s\t%s\t%s\n' "$group" "$name" "$dir" >> "$runs"
}
psgd() {  # psgd GROUP B LR BUDGET
  run "$1" "psgd B=$2 lr=$3" --algo psgd --batch "$2" --lr "$3" --budget "$4" --momentum 0.9 --eval-every 10
}
catalyst() {  # catalyst GROUP NAME BUDGET FLAGS...: momentum 0.9 unless FLAGS set it
  local group=$1 name=$2 budget=$3
  shift 3
  local momentum=(--momentum 0.9)
  [[ " $* " == *" --momentum "* ]] && momentum=()
  run "$group" "$name" --algo cr-psgd-catalyst --budget "$budget" --eval-every 100000 "${momentum[@]}" "$@"
}

# B1 = 8 at the network benchmark's budget (1920 per worker: 240 psgd rounds).
g="B1=8, T=1920"
for lr in 0.025 0.05 0.1; do psgd "$g" 8 $lr 1920; done
base=(--b1 8 --rho 1.5 --theta 0.1 --outer-iters 3 --inner-budget 640)
catalyst "$g" "B1=8 rho=1.5 theta=0.1 K=3 lr=0.05 (the benchmark's)" 1920 "${base[@]}" --lr 0.05
catalyst "$g" "lr=0.025" 1920 "${base[@]}" --lr 0.025
catalyst "$g" "lr=0.1" 1920 "${base[@]}" --lr 0.1
catalyst "$g" "no momentum, lr=0.2" 1920 "${base[@]}" --lr 0.2 --momentum 0
catalyst "$g" "lr=0.02, linear in B up to 0.1" 1920 "${base[@]}" --lr 0.02 --lr-batch-scaling linear --lr-max 0.1
catalyst "$g" "lr=0.05, sqrt in B up to 0.15" 1920 "${base[@]}" --lr 0.05 --lr-batch-scaling sqrt --lr-max 0.15
catalyst "$g" "rho=1.3" 1920 --b1 8 --rho 1.3 --theta 0.1 --outer-iters 3 --inner-budget 640 --lr 0.05
catalyst "$g" "rho=1.2" 1920 --b1 8 --rho 1.2 --theta 0.1 --outer-iters 3 --inner-budget 640 --lr 0.05
catalyst "$g" "theta=1" 1920 --b1 8 --rho 1.5 --theta 1 --outer-iters 3 --inner-budget 640 --lr 0.05
catalyst "$g" "theta=0.01" 1920 --b1 8 --rho 1.5 --theta 0.01 --outer-iters 3 --inner-budget 640 --lr 0.05
catalyst "$g" "K=6" 1920 --b1 8 --rho 1.5 --theta 0.1 --outer-iters 6 --inner-budget 320 --lr 0.05
catalyst "$g" "K=2" 1920 --b1 8 --rho 1.5 --theta 0.1 --outer-iters 2 --inner-budget 960 --lr 0.05
catalyst "$g" "K=1 (plain cr-psgd)" 1920 --b1 8 --rho 1.5 --theta 0.1 --outer-iters 1 --inner-budget 1920 --lr 0.05

# Smaller B1: psgd pays more rounds for the same samples. Budgets are whole
# inner runs (4+6+...+230 = 680, 4+...+345 = 1025; 2+3+...+389 = 1158), so
# little or nothing is left over.
g="B1=4, T=2050"
for lr in 0.0125 0.025; do psgd "$g" 4 $lr 2050; done
b4=(--b1 4 --rho 1.5 --theta 0.1 --outer-iters 3 --inner-budget 680)
catalyst "$g" "B1=4 rho=1.5 theta=0.1 K=3 lr=0.05" 2050 "${b4[@]}" --lr 0.05
catalyst "$g" "lr=0.025" 2050 "${b4[@]}" --lr 0.025
catalyst "$g" "lr=0.0125, linear in B up to 0.05" 2050 "${b4[@]}" --lr 0.0125 --lr-batch-scaling linear --lr-max 0.05
catalyst "$g" "rho=1.3, lr=0.0125, linear in B up to 0.1" 2050 --b1 4 --rho 1.3 --theta 0.1 --outer-iters 3 \
  --inner-budget 680 --lr 0.0125 --lr-batch-scaling linear --lr-max 0.1
catalyst "$g" "K=2, lr=0.0125, linear in B up to 0.05" 2050 --b1 4 --rho 1.5 --theta 0.1 --outer-iters 2 \
  --inner-budget 1025 --lr 0.0125 --lr-batch-scaling linear --lr-max 0.05
g="B1=2, T=2316"
psgd "$g" 2 0.0125 2316
b2=(--b1 2 --rho 1.5 --theta 0.1 --outer-iters 2 --inner-budget 1158)
catalyst "$g" "B1=2 rho=1.5 theta=0.1 K=2 lr=0.025" 2316 "${b2[@]}" --lr 0.025
catalyst "$g" "lr=0.0125, linear in B up to 0.05" 2316 "${b2[@]}" --lr 0.0125 --lr-batch-scaling linear --lr-max 0.05

if $long; then  # larger budgets: does the catalyst catch up?
  g="B1=8, T=5760 (3x)"
  psgd "$g" 8 0.05 5760
  catalyst "$g" "B1=8 rho=1.3 theta=0.1 K=3 lr=0.05" 5760 --b1 8 --rho 1.3 --theta 0.1 --outer-iters 3 \
    --inner-budget 1920 --lr 0.05
  catalyst "$g" "rho=1.5 K=6" 5760 --b1 8 --rho 1.5 --theta 0.1 --outer-iters 6 --inner-budget 960 --lr 0.05
  g="B1=8, T=30000 (one epoch, 15x)"
  psgd "$g" 8 0.05 30000
  catalyst "$g" "B1=8 rho=1.3 theta=0.1 K=3 lr=0.05" 30000 --b1 8 --rho 1.3 --theta 0.1 --outer-iters 3 \
    --inner-budget 10000 --lr 0.05
  catalyst "$g" "rho=1.5 K=10" 30000 --b1 8 --rho 1.5 --theta 0.1 --outer-iters 10 --inner-budget 3000 --lr 0.05
fi

python3 bench/network/catalyst_report.py "$runs" > "$out/catalyst_search.md"
cp "$out/catalyst_search.md" bench/network/catalyst_search.md
echo "catalyst search: wrote bench/network/catalyst_search.md" >&2
