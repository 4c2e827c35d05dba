#!/usr/bin/env bash
# The example of examples/your-own-model/ (a scripted CNN with batch norm on
# Fashion-MNIST, --model) under mpirun -np 2, one epoch (T = 30000 per worker):
# PSGD B = 32 at four steps, and local SGD (I = 8) and CR-PSGD (B1 = 32,
# rho = 1.05 and 1.02, step growing with sqrt(B) up to 4x) at PSGD's best step. Writes the table
# to bench/your_own_model.md: does each communication-reduced method reach
# PSGD's best test accuracy within 1 point, and with how many rounds?
# About 20 minutes on 2 cores. Usage: [BUDGET=30000] bench/your_own_model.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=out/bench-your-own-model
budget=${BUDGET:-30000}
mpirun=(mpirun -np 2)
[ "$(id -u)" -eq 0 ] && mpirun+=(--allow-run-as-root)
[ "$(nproc)" -lt 2 ] && mpirun+=(--oversubscribe)
/usr/bin/python3 examples/your-own-model/make_model.py "$out" 2>/dev/null
common=(train --model "$out/cnn.pt" --data "$out/train.pt" --test-data "$out/test.pt" --normalize
        --budget "$budget" --momentum 0.9 --threads 1 --eval-samples 10000 -q --overwrite)
train() { "${mpirun[@]}" ./build/crpsgd "${common[@]}" "$@" > /dev/null; }
for lr in 0.01 0.02 0.05 0.1; do train --algo psgd --batch 32 --lr "$lr" --out "$out/psgd-lr$lr"; done
best=$(python3 - "$out" <<'PY'
import json, sys
runs = {lr: json.load(open(f"{sys.argv[1]}/psgd-lr{lr}/summary.json"))["test_accuracy"]
        for lr in ("0.01", "0.02", "0.05", "0.1")}
print(max(runs, key=runs.get))
PY
)
train --algo local-sgd --batch 32 --sync-period 8 --lr "$best" --out "$out/local-sgd"
for rho in 1.05 1.02; do
  train --algo cr-psgd --b1 32 --rho "$rho" --lr "$best" --lr-batch-scaling sqrt --lr-max "$(python3 -c "print(4 * $best)")" \
    --out "$out/cr-psgd-rho$rho"
done
python3 - "$out" "$best" "$budget" > bench/your_own_model.md <<'PY'
import json, os, platform, sys
out, best, budget = sys.argv[1], sys.argv[2], sys.argv[3]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
print("# Your own model (--model): communication-reduced methods against PSGD at its best step\n")
print(f"Output of `bash bench/your_own_model.sh` on {cpu} ({os.cpu_count()} cores): the scripted CNN of "
      f"examples/your-own-model/ on standardised Fashion-MNIST, `mpirun -np 2`, T = {budget} samples per worker, "
      "momentum 0.9, test accuracy on all 10 000 test images.\n")
print("| run | step | rounds | SFO/worker | bytes sent per worker | test accuracy | vs PSGD's best |")
print("|---|---|---|---|---|---|---|")
ref = json.load(open(f"{out}/psgd-lr{best}/summary.json"))["test_accuracy"]
for name in ["psgd-lr0.01", "psgd-lr0.02", "psgd-lr0.05", "psgd-lr0.1", "local-sgd", "cr-psgd-rho1.05", "cr-psgd-rho1.02"]:
    s = json.load(open(f"{out}/{name}/summary.json"))
    step = s["lr"] if not s.get("lr_max") else f"{s['lr']} growing to {s['lr_max']}"
    print(f"| {s['algo']} {s['params']} | {step} | {s['rounds']} | {s['sfo_per_worker']} | {s['bytes']:,} | "
          f"{s['test_accuracy']:.4f} | "
          f"{100 * (s['test_accuracy'] - ref):+.1f} points |")
PY
cat bench/your_own_model.md
