#!/usr/bin/env bash
# The ResNet-20 catalyst against psgd at the network benchmark's budget (1920
# SFO per worker, 2 workers), on one host without shaping: each setting's
# final loss and rounds, and the round at which psgd B=8 passes that loss.
# Time to target on a slow link follows from these (psgd pays per round), so
# this shows cheaply whether a setting could reach the issue's 5x.
#   bash bench/network/catalyst_search.sh     # about 3 minutes on 2 cores
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x build/crpsgd ] || { echo "catalyst search: build/crpsgd is missing: run scripts/build.sh" >&2; exit 2; }
data=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
common=(--problem resnet20 --data "$data" --normalize --threads 1 --eval-samples 400 --seed 1 --budget 1920
        --workers 2 --backend inproc -q)
run() {  # name flags...
  local name=$1
  shift
  build/crpsgd train "${common[@]}" "$@" --out "$out/$name" > /dev/null
}
run "psgd B=8" --algo psgd --batch 8 --lr 0.05 --momentum 0.9 --eval-every 5
settings=(
  "B1=8 rho=1.5 theta=0.1 K=3 lr=0.05 mu=0.9 (the benchmark's)|--b1 8 --rho 1.5 --theta 0.1 --outer-iters 3 --inner-budget 640 --lr 0.05 --momentum 0.9"
  "lr=0.02|--b1 8 --rho 1.5 --theta 0.1 --outer-iters 3 --inner-budget 640 --lr 0.02 --momentum 0.9"
  "lr=0.1|--b1 8 --rho 1.5 --theta 0.1 --outer-iters 3 --inner-budget 640 --lr 0.1 --momentum 0.9"
  "no momentum, lr=0.2|--b1 8 --rho 1.5 --theta 0.1 --outer-iters 3 --inner-budget 640 --lr 0.2"
  "rho=1.3|--b1 8 --rho 1.3 --theta 0.1 --outer-iters 3 --inner-budget 640 --lr 0.05 --momentum 0.9"
  "rho=1.2|--b1 8 --rho 1.2 --theta 0.1 --outer-iters 3 --inner-budget 640 --lr 0.05 --momentum 0.9"
  "theta=1|--b1 8 --rho 1.5 --theta 1 --outer-iters 3 --inner-budget 640 --lr 0.05 --momentum 0.9"
  "K=6|--b1 8 --rho 1.5 --theta 0.1 --outer-iters 6 --inner-budget 320 --lr 0.05 --momentum 0.9"
  "K=6 rho=2|--b1 8 --rho 2 --theta 0.1 --outer-iters 6 --inner-budget 320 --lr 0.05 --momentum 0.9"
  "K=2|--b1 8 --rho 1.5 --theta 0.1 --outer-iters 2 --inner-budget 960 --lr 0.05 --momentum 0.9"
  "B1=4|--b1 4 --rho 1.5 --theta 0.1 --outer-iters 3 --inner-budget 640 --lr 0.05 --momentum 0.9"
  "B1=2|--b1 2 --rho 1.5 --theta 0.1 --outer-iters 3 --inner-budget 640 --lr 0.05 --momentum 0.9"
)
names=()
for entry in "${settings[@]}"; do
  name=${entry%%|*}
  read -r -a flags <<< "${entry#*|}"
  run "$name" --algo cr-psgd-catalyst "${flags[@]}" --eval-every 1000
  names+=("$name")
done
python3 - "$out" "${names[@]}" <<'REPORT'
import json, os, sys
out, names = sys.argv[1], sys.argv[2:]
def summary(name): return json.load(open(os.path.join(out, name, "summary.json")))
psgd = [json.loads(line) for line in open(os.path.join(out, "psgd B=8", "metrics.jsonl"))]
p = summary("psgd B=8")
print(f"psgd B=8, lr 0.05, momentum 0.9: {p['rounds']} rounds, final loss {p['final_loss']:.3f}")
print()
print("| catalyst (changes from the first row) | rounds | final loss | psgd B=8 passes it at round |")
print("|---|---|---|---|")
for name in names:
    s = summary(name)
    hit = next((r["round"] for r in psgd if r.get("loss") is not None and r["loss"] <= s["final_loss"]), None)
    print(f"| {name} | {s['rounds']} | {s['final_loss']:.3f} | {hit if hit is not None else 'never'} of {p['rounds']} |")
REPORT
