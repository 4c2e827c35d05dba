#!/usr/bin/env bash
# Multi-host runs on a real, bandwidth-limited TCP network, built on this
# machine (scripts/testcluster/cluster.sh: network namespaces, veth, tc tbf):
#   1. the same job on 2 and 4 hosts against single-host mpirun: same final loss;
#   2. time to a target loss at 1 Gbit/s and 100 Mbit/s per host link:
#      psgd, local-sgd and cr-psgd on logistic regression; psgd,
#      cr-psgd-catalyst, local SGD and cr-psgd on ResNet-20 (at B1 = 8 and
#      4), each group at one per-worker budget, on 2
#      hosts: one rank per core, since timings of more ranks than cores
#      measure the scheduler (4-host runs are parts 1 and 3);
#   3. a host's link cut mid-run: the job ends, naming the unreachable rank,
#      and a resume from the checkpoint on the restored host completes.
# Everything is torn down at the end, also on failure or Ctrl-C, and the
# script checks that no namespace, link or process is left.
#
# Usage (root): bash bench/network/run.sh     (about 15 minutes on 2 cores)
# Writes bench/network/results.md; every run's outputs stay in out/network/.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "network bench: needs root (network namespaces, tc)" >&2; exit 2; }
[ -x build/crpsgd ] || { echo "network bench: build/crpsgd is missing: run scripts/build.sh" >&2; exit 2; }
data=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
[ -f "$data" ] || { echo "network bench: $data is missing: run scripts/install-deps.sh" >&2; exit 2; }
cluster=scripts/testcluster/cluster.sh
out=out/network
rm -rf "$out"
mkdir -p "$out"
log() { echo "network bench: $*" >&2; }

teardown() {
  "$cluster" down
  "$cluster" check-clean >&2
}
trap teardown EXIT
trap 'exit 130' INT TERM

# mpirun's launch chatter (a harmless setpgid race of its rsh launcher) is dropped.
on_hosts() {  # on_hosts N OUT ARGS...: crpsgd train on hosts h1..hN, one rank each
  local n=$1 dir=$2
  shift 2
  "$cluster" mpirun "$n" ./build/crpsgd train "$@" --out "$dir" -q > "$dir.log" 2>&1 || {
    grep -v setpgid "$dir.log" >&2
    return 1
  }
}
on_one_host() {  # on_one_host N OUT ARGS...: the same N ranks under a plain mpirun here
  local n=$1 dir=$2
  shift 2
  mpirun --allow-run-as-root --oversubscribe -np "$n" ./build/crpsgd train "$@" --out "$dir" -q > "$dir.log" 2>&1 || {
    cat "$dir.log" >&2
    return 1
  }
}

logreg=(--problem logreg --data "$data" --positive-class 0 --normalize --lambda 1e-4 --no-f-star --seed 1)
budget=6000   # samples per worker for the same-result and cut-link runs
runs=$out/runs.tsv
printf 'part\trate\thosts\tmethod\tdir\n' > "$runs"

"$cluster" up 4 1gbit >&2

# 1. Same seed, same N: the same result on 2 or 4 hosts as on one.
equal=(--algo psgd --batch 1 --budget "$budget" --lr 'auto*0.5')
for n in 2 4; do
  log "$n hosts against one host"
  on_hosts "$n" "$out/same-$n-hosts" "${logreg[@]}" "${equal[@]}"
  on_one_host "$n" "$out/same-$n-local" "${logreg[@]}" "${equal[@]}"
  printf 'same\t1gbit\t%s\tpsgd B=1\t%s\n' "$n" "$out/same-$n-hosts" >> "$runs"
  printf 'same\tlocal\t%s\tpsgd B=1\t%s\n' "$n" "$out/same-$n-local" >> "$runs"
done

# 2. Time to a target loss. Steps are each method's best on the grid
# {1/2,...,8}/L for this problem (crpsgd sweep, 4 workers); networks use the
# resnet20 experiment's settings. Losses are evaluated every few rounds, and
# evaluation time is not part of wall_s.
logreg_budget=30000  # per worker: one pass over the 60000 images by the 2 workers together
methods_logreg=(
  "psgd B=4|--algo psgd --batch 4 --lr auto*0.5 --eval-every 10"
  "local-sgd b=4 I=10|--algo local-sgd --batch 4 --sync-period 10 --lr auto*0.5 --eval-every 1"
  "cr-psgd B1=4 rho=1.04|--algo cr-psgd --b1 4 --rho 1.04 --lr auto*8 --eval-every 1"
)
# Batch-norm statistics are recomputed before each evaluation (precise BN):
# with training's running averages the loss of one run swings by 2-3x from
# one evaluation to the next, and a time to target would measure that noise.
resnet=(--problem resnet20 --data "$data" --normalize --threads 1 --momentum 0.9 --eval-samples 400
        --eval-batch-norm recomputed --seed 1)
# Two pairs, each at psgd's best step for its batch: B1 = 8 (the resnet20
# experiment's step), and B1 = 4 with the best catalyst setting that
# bench/network/catalyst_search.sh found (its step grows with the batch).
resnet_budget=1920  # 240 rounds of psgd B=8; 3 inner runs of 640 for the catalyst
methods_resnet=(
  "psgd B=8|--algo psgd --batch 8 --lr 0.05 --eval-every 10"
  "cr-psgd-catalyst B1=8 rho=1.5 K=3|--algo cr-psgd-catalyst --b1 8 --rho 1.5 --theta 0.1 --outer-iters 3 --inner-budget 640 --lr 0.05 --eval-every 1"
  "local-sgd b=8 I=8|--algo local-sgd --batch 8 --sync-period 8 --lr 0.05 --eval-every 1"
  "cr-psgd B1=8 rho=1.1|--algo cr-psgd --b1 8 --rho 1.1 --lr 0.05 --eval-every 1"
)
resnet_b4_budget=2050  # 512 rounds of psgd B=4; 2 inner runs of 4+6+...+345 = 1025
methods_resnet_b4=(
  "psgd B=4|--algo psgd --batch 4 --lr 0.025 --eval-every 10"
  "cr-psgd-catalyst B1=4 rho=1.5 K=2 lr~B|--algo cr-psgd-catalyst --b1 4 --rho 1.5 --theta 0.1 --outer-iters 2 --inner-budget 1025 --lr 0.0125 --lr-batch-scaling linear --lr-max 0.05 --eval-every 1"
  "local-sgd b=4 I=8|--algo local-sgd --batch 4 --sync-period 8 --lr 0.025 --eval-every 1"
  "cr-psgd B1=4 rho=1.1 lr~B|--algo cr-psgd --b1 4 --rho 1.1 --lr 0.0125 --lr-batch-scaling linear --lr-max 0.05 --eval-every 1"
)
time_run() {  # time_run PART RATE BUDGET "NAME|FLAGS" COMMON_FLAGS...: one method on 2 hosts
  local part=$1 rate=$2 budget=$3 entry=$4
  shift 4
  local name=${entry%%|*}
  local dir="$out/$part-$rate-${name%% *}"
  log "$part, 2 hosts at $rate: $name"
  # shellcheck disable=SC2086  # the method's flags are words
  on_hosts 2 "$dir" "$@" --budget "$budget" "${net_model[@]}" ${entry#*|}
  printf '%s\t%s\t2\t%s\t%s\n' "$part" "$rate" "$name" "$dir" >> "$runs"
}
for rate in 1gbit 100mbit; do
  "$cluster" rate "$rate"
  bytes_per_s=$(( $(sed 's/gbit/000000000/; s/mbit/000000/' <<< "$rate") / 8 ))
  net_model=(--net-model "alpha=5e-5,bandwidth=$bytes_per_s")
  for entry in "${methods_logreg[@]}"; do time_run logreg "$rate" "$logreg_budget" "$entry" "${logreg[@]}"; done
  for entry in "${methods_resnet[@]}"; do time_run resnet20 "$rate" "$resnet_budget" "$entry" "${resnet[@]}"; done
  for entry in "${methods_resnet_b4[@]}"; do
    time_run resnet20-b4 "$rate" "$resnet_b4_budget" "$entry" "${resnet[@]}"
  done
done

# 3. A cut link. The uninterrupted 4-host run of part 1 is the reference.
log "cutting host h3's link mid-run"
cut_dir=$out/cut
fault=("${logreg[@]}" "${equal[@]}" --checkpoint-every 500 --mpi-timeout 5)
"$cluster" mpirun 4 ./build/crpsgd train "${fault[@]}" --out "$cut_dir" -q > "$cut_dir.log" 2>&1 &
job=$!
# Cut once a checkpoint past round 1500 exists (of 6000), so there is something to resume.
for _ in $(seq 1 1200); do
  round=$(sed -n 's/.*"round": *\([0-9]*\).*/\1/p' "$cut_dir/checkpoint/LATEST" 2>/dev/null || true)
  [ -n "$round" ] && (( round >= 1500 )) && break
  sleep 0.05
done
"$cluster" cut 3
cut_at=$(date +%s%N)
cut_rc=0
wait "$job" || cut_rc=$?
ended_ms=$(( ($(date +%s%N) - cut_at) / 1000000 ))
log "the job ended ${ended_ms} ms after the cut (exit code $cut_rc)"
"$cluster" restore 3
log "resuming on the restored hosts"
"$cluster" mpirun 4 ./build/crpsgd train "${fault[@]}" --resume --out "$cut_dir" -q > "$cut_dir-resume.log" 2>&1 || {
  grep -v setpgid "$cut_dir-resume.log" >&2
  exit 1
}
printf 'cut\t1gbit\t4\tpsgd B=1\t%s\n' "$cut_dir" >> "$runs"

python3 bench/network/report.py "$out" "$cut_rc" "$ended_ms" > "$out/results.md"
cp "$out/results.md" bench/network/results.md
log "wrote bench/network/results.md"
