#!/usr/bin/env bash
# What a checkpoint every round costs. --checkpoint-every 1 bounds the work a
# lost worker costs to the round in progress (docs/reliability.md,
# bench/network/elastic.sh); every round then writes and fsyncs one file a
# worker and LATEST. This times the same run (psgd, 4 workers, 1000 rounds of
# one sample each: the most rounds for the work, so the worst case) without
# checkpoints, every 10 rounds and every round, in process and under mpirun,
# for a model of 21 and of 10001 parameters, and prints a markdown section
# (bench/results.md). Training wall time from summary.json (wall_s), the median
# of 3 runs. About 3 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
crpsgd=$PWD/build/crpsgd
[ -x "$crpsgd" ] || { echo "checkpoint_cost: $crpsgd is missing: run scripts/build.sh" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mpirun_flags=(--oversubscribe)
[ "$(id -u)" = 0 ] && mpirun_flags+=(--allow-run-as-root)

# wall_s of one run: backend, features, checkpoint period, repeat.
run_once() {
  local backend=$1 features=$2 every=$3 repeat=$4
  local out="$tmp/$backend-$features-$every-$repeat"
  local args=(train -q --format synthetic --synthetic-samples 4000 --synthetic-features "$features" --problem logreg
    --algo psgd --batch 1 --budget 1000 --lr auto --no-f-star --eval-every 1000 --out "$out")
  [ "$every" != 0 ] && args+=(--checkpoint-every "$every")
  if [ "$backend" = mpi ]; then
    mpirun "${mpirun_flags[@]}" -np 4 "$crpsgd" "${args[@]}" > /dev/null
  else
    "$crpsgd" "${args[@]}" --backend inproc --workers 4 > /dev/null
  fi
  /usr/bin/python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); print(s["wall_s"], s["rounds"])' \
    "$out/summary.json"
}

echo "## What a checkpoint every round costs (\`--checkpoint-every\`)"
echo
echo "psgd, 4 workers, 1000 rounds of one sample each (the most rounds for the work: the worst case),"
echo "logistic regression on synthetic data; training wall time (summary.json's wall_s), median of 3 runs;"
echo "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, 4 workers on them (oversubscribed);"
echo "checkpoints on $(df --output=fstype "$tmp" | tail -1) in $(dirname "$tmp"); taken $(date +%F) (\`bash bench/checkpoint_cost.sh\`)."
echo
echo "| backend | parameters | no checkpoints | every 10 rounds | every round | cost of a checkpoint a round |"
echo "|---|---|---|---|---|---|"
for backend in inproc mpi; do
  for features in 20 10000; do
    declare -A median=()
    for every in 0 10 1; do
      times=()
      for repeat in 1 2 3; do
        read -r wall rounds < <(run_once "$backend" "$features" "$every" "$repeat")
        [ "$rounds" = 1000 ] || { echo "checkpoint_cost: $rounds rounds, expected 1000" >&2; exit 1; }
        times+=("$wall")
      done
      median[$every]=$(printf '%s\n' "${times[@]}" | sort -g | sed -n 2p)
    done
    /usr/bin/python3 - "$backend" "$((features + 1))" "${median[0]}" "${median[10]}" "${median[1]}" <<'ROW'
import sys
backend, params, none, ten, every = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:])
per_round_ms = (every - none) / 1000 * 1e3
print(f"| {backend} | {params} | {none:.2f} s | {ten:.2f} s | {every:.2f} s | {per_round_ms:.2f} ms a round ({every / none:.1f}x) |")
ROW
    unset median
  done
done
