#!/usr/bin/env bash
# Runs the distributed_train example under mpirun -np 2 on heart_scale and
# checks what it wrote: a summary of 2 workers whose loss is below log 2 (the
# loss at x = 0) and one metrics line per round.
# Usage: run_distributed_train.sh PATH_TO_distributed_train
set -euo pipefail
program=$1
data=/usr/share/doc/liblinear-tools/examples/heart_scale
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mpirun_flags=(-np 2 --oversubscribe)
[ "$(id -u)" = 0 ] && mpirun_flags+=(--allow-run-as-root)
mpirun "${mpirun_flags[@]}" "$program" "$data" "$out/run"
/usr/bin/python3 - "$out/run" <<'PY'
import json, math, sys
run = sys.argv[1]
s = json.load(open(run + "/summary.json"))
lines = [json.loads(l) for l in open(run + "/metrics.jsonl")]
assert s["workers"] == 2, s["workers"]
assert s["final_loss"] < math.log(2) - 0.1, s["final_loss"]
assert s["sfo_per_worker"] + s["budget_left"] == 2000, (s["sfo_per_worker"], s["budget_left"])
assert lines[-1]["round"] == s["rounds"], (lines[-1]["round"], s["rounds"])
print("distributed_train: %d rounds, loss %.4f" % (s["rounds"], s["final_loss"]))
PY
