#!/usr/bin/env bash
# Losing and regaining a host on the test cluster (scripts/testcluster: 4
# hosts, network namespaces, 1 Gbit/s links). For each seed: the run on 4
# hosts never stopped, then the same run under scripts/supervise.sh --hosts:
# with a checkpoint every round; past a quarter of the run h4 "crashes": its rank
# and mpirun's daemon there are killed with kill -9 and its link is cut; the supervisor relaunches on the 3 hosts
# that answer from the last checkpoint; once those 3 have written a
# checkpoint, h4 is restored, and the supervisor grows back to 4 at the next
# checkpoint and the run finishes. MODEL=logreg (the default): logistic
# regression (synthetic data with f*), psgd B=4; MODEL=cnn: the scripted CNN
# of examples/your-own-model (batch norm), one epoch of Fashion-MNIST, local
# SGD b=16 I=8. Both with --sampling global.
# Reports, against the uninterrupted run: rounds and samples (equal), f − f*
# (the CNN: test accuracy), how long every rank took to be gone after the
# kill, and the time from the kill to the relaunched run's first checkpoint.
#
# Usage (root): [MODEL=logreg|cnn] bash bench/network/elastic.sh [SEEDS]
#   (default 3 seeds; about 3 minutes on 2 cores, the CNN about 6)
# Writes bench/network/elastic.md (the CNN: elastic-cnn.md); the runs stay in
# out/network-elastic/ (out/network-elastic-cnn/).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "elastic bench: needs root (network namespaces, tc)" >&2; exit 2; }
[ -x build/crpsgd ] || { echo "elastic bench: build/crpsgd is missing: run scripts/build.sh" >&2; exit 2; }
seeds=${1:-3}
model=${MODEL:-logreg}
cluster=scripts/testcluster/cluster.sh
case "$model" in
  logreg) out=out/network-elastic report=bench/network/elastic.md ;;
  cnn) out=out/network-elastic-cnn report=bench/network/elastic-cnn.md ;;
  *) echo "elastic bench: MODEL must be logreg or cnn, got '$model'" >&2; exit 2 ;;
esac
rm -rf "$out"
mkdir -p "$out"
log() { echo "elastic bench: $*" >&2; }
teardown() {
  "$cluster" down
  "$cluster" check-clean >&2
}
trap teardown EXIT
trap 'exit 130' INT TERM

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
latest() { sed -n "s/.*\"$2\": *\\([0-9]*\\).*/\\1/p" "$1/checkpoint/LATEST" 2> /dev/null || true; }
wait_until() {  # what, test...: polls for up to 10 minutes
  local what=$1; shift
  for _ in $(seq 12000); do
    "$@" && return 0
    kill -0 "$supervisor" 2> /dev/null || { cat "$dir.log" >&2; log "the supervisor ended waiting for $what"; exit 1; }
    sleep 0.05
  done
  log "waited 10 minutes for $what"; exit 1
}
past() { [ "$(latest "$1" round)" -ge "$2" ] 2> /dev/null; }
ranks() {  # the crpsgd processes in hosts' namespaces
  local h p
  for h in "$@"; do
    for p in $(ip netns pids "crpsgd-h$h"); do [ "$(cat "/proc/$p/comm" 2> /dev/null)" = crpsgd ] && echo "$p"; done
  done
  return 0
}
gone() { local p; for p in $1; do [ -e "/proc/$p" ] && return 1; done; return 0; }

printf '11\n12\n13\n14\n' > "$out/hosts"  # host hI is at 10.213.0.1I (cluster.sh)
# A host answers when a TCP connection from the head node is refused at once
# (no ping here); a cut link leaves it unanswered.
probe='ip netns exec crpsgd-head timeout 2 bash -c "exec 3<>/dev/tcp/10.213.0.{host}/9" 2>&1 | grep -q refused'
if [ "$model" = logreg ]; then
  # 20000 samples a worker: 5000 rounds of psgd B=4 (about 10 s a run here, a checkpoint every round)
  train=(train -q --format synthetic --synthetic-samples 20000 --synthetic-features 50 --problem logreg
         --algo psgd --batch 4 --budget 20000 --sampling global --checkpoint-every 1)
  crash_past=1250
else
  cnn=out/your-own-model
  [ -f "$cnn/cnn.pt" ] || /usr/bin/python3 examples/your-own-model/make_model.py "$cnn" > /dev/null
  # One epoch: 15000 samples a worker, 128 a round, 118 rounds.
  train=(train -q --model "$cnn/cnn.pt" --data "$cnn/train.pt" --test-data "$cnn/test.pt" --normalize --threads 1
         --algo local-sgd --batch 16 --sync-period 8 --lr 0.05 --momentum 0.9 --budget 15000 --sampling global
         --checkpoint-every 1)
  crash_past=30
fi
printf 'seed\tdir\tkilled_ms\tgone_ms\trecovered_ms\tlast_checkpoint\tresumed_from\n' > "$out/runs.tsv"

"$cluster" up 4 1gbit >&2
for seed in $(seq "$seeds"); do
  log "seed $seed: the run never stopped"
  "$cluster" mpirun 4 ./build/crpsgd "${train[@]}" --seed "$seed" --out "$out/reference-$seed" \
    > "$out/reference-$seed.log" 2>&1 || { grep -v setpgid "$out/reference-$seed.log" >&2; exit 1; }
  dir=$out/elastic-$seed
  log "seed $seed: supervised, h4 killed and cut, then restored"
  scripts/supervise.sh --hosts "$out/hosts" --probe "$probe" --grow-every 0.5 --min-hosts 2 -- \
    "$cluster" mpirun '{np}' ./build/crpsgd "${train[@]}" --seed "$seed" --out "$dir" > "$dir.log" 2>&1 &
  supervisor=$!
  wait_until "a quarter of the run" past "$dir" "$crash_past"
  before=$(ranks 1 2 3)  # the ranks on the hosts that stay
  last_round=$(latest "$dir" round)  # the last checkpoint before the crash (one every round)
  killed=$(now_ms)
  # h4 crashes: its rank and mpirun's daemon there die (kill -9), then its link goes down.
  kill -9 $(ip netns pids crpsgd-h4)
  "$cluster" cut 4
  wait_until "every rank to be gone" gone "$before"
  gone_at=$(now_ms)
  # The relaunch goes on from this checkpoint: the next is the 3 hosts' (which host the plan's 4 workers).
  wait_until "a checkpoint of the 3 hosts" past "$dir" $(($(latest "$dir" round) + 1))
  recovered=$(now_ms)
  "$cluster" restore 4
  wait "$supervisor" || { cat "$dir.log" >&2; exit 1; }
  grep -q "launching on 3 of 4 hosts" "$dir.log" && grep -q "stopping after the checkpoint" "$dir.log" ||
    { cat "$dir.log" >&2; log "seed $seed: the run did not go on on 3 and grow back"; exit 1; }
  resumed_from=$(sed -n 's/.*relaunching from the checkpoint of round \([0-9]*\).*/\1/p' "$dir.log" | head -1)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$seed" "$dir" "$killed" "$((gone_at - killed))" "$((recovered - killed))" \
    "$last_round" "$resumed_from" >> "$out/runs.tsv"
done
/usr/bin/python3 bench/network/elastic_report.py "$out" "$model" > "$report"
cat "$report"
