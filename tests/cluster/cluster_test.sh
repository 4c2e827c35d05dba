#!/usr/bin/env bash
# Multi-host runs over real TCP on the test cluster (scripts/testcluster):
#  - 2 hosts give bit-for-bit the final loss of a single-host mpirun;
#  - a cut link ends a 3-host job within a bounded time, and the other ranks
#    name the unreachable rank and its host;
#  - over a distant link (10 Mbit/s, 50 ms one-way; wan_switch.py) the same
#    bits, each round at least a round trip long;
#  - nothing is left behind (namespaces, links, processes).
# Needs root and iproute2; exits 77 (CTest: skipped) without them.
# Usage: cluster_test.sh CRPSGD_BINARY DATA_FILE
set -euo pipefail
crpsgd=$1
data=$2
here=$(cd "$(dirname "$0")" && pwd)
cluster=$here/../../scripts/testcluster/cluster.sh
if [ "$(id -u)" != 0 ] || ! command -v ip > /dev/null || ! command -v tc > /dev/null; then
  echo "SKIP: needs root, ip and tc" >&2
  exit 77
fi
[ -f "$data" ] || { echo "SKIP: $data is missing" >&2; exit 77; }
work=$(mktemp -d)
fail() { echo "FAIL: $*" >&2; exit 1; }
cleanup() {
  "$cluster" down
  rm -rf "$work"
}
trap cleanup EXIT

# on_hosts_and_here HOSTS_DIR LOCAL_DIR ARGS...: crpsgd train on hosts h1, h2 of
# the cluster, and as 2 ranks of a plain mpirun here.
on_hosts_and_here() {
  local hosts=$1 local_dir=$2
  shift 2
  "$cluster" mpirun 2 "$crpsgd" train "$@" --out "$hosts" > "$hosts.log" 2>&1 ||
    { cat "$hosts.log"; fail "the 2-host run ($hosts) failed"; }
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    mpirun --oversubscribe -np 2 "$crpsgd" train "$@" --out "$local_dir" > "$local_dir.log" 2>&1 ||
    { cat "$local_dir.log"; fail "the single-host run ($local_dir) failed"; }
}
final() { sed -n 's/.*"final_loss": *\([^,]*\),*/\1/p' "$1/summary.json"; }

"$cluster" up 3 1gbit
common=(--data "$data" --algo psgd --batch 1 --budget 2000 --seed 7 -q)

# Same seed and N on 2 hosts and on one: the same final loss, to the last bit.
on_hosts_and_here "$work/hosts" "$work/local" "${common[@]}"
[ -n "$(final "$work/hosts")" ] || fail "no final_loss in $work/hosts/summary.json"
[ "$(final "$work/hosts")" = "$(final "$work/local")" ] ||
  fail "final loss on 2 hosts $(final "$work/hosts") != on one host $(final "$work/local")"
grep -q '"backend": "mpi"' "$work/hosts/summary.json" || fail "the 2-host run did not use the mpi backend"

# Cut host h2 (rank 1) in the middle of a long run.
"$cluster" mpirun 3 "$crpsgd" train --data "$data" --algo psgd --batch 1 --budget 200000 --mpi-timeout 3 -q \
  --out "$work/cut" > "$work/cut.log" 2>&1 &
job=$!
for _ in $(seq 1 6000); do  # waits for the event; the bound (5 min) is for a machine that is very busy
  [ "$(wc -l < "$work/cut/metrics.jsonl" 2>/dev/null || echo 0)" -gt 500 ] && break
  sleep 0.05
done
[ "$(wc -l < "$work/cut/metrics.jsonl")" -gt 500 ] || fail "the 3-host run did not start"
"$cluster" cut 2
start=$SECONDS
rc=0
wait "$job" || rc=$?
took=$(( SECONDS - start ))
[ "$rc" != 0 ] || fail "the job with a cut link exited 0"
(( took <= 30 )) || fail "the job took $took s to end after the cut (bound: 30 s)"
grep -q "no data from rank 1 (host h2)" "$work/cut.log" || { cat "$work/cut.log"; fail "no rank named rank 1 (host h2)"; }
[ ! -e "$work/cut/summary.json" ] || fail "a summary.json was written by the failed run"

# A distant link (cluster.sh up-wan: wan_switch.py, 10 Mbit/s and 50 ms one-way): the same
# bits as on one host, and each round waits at least a round trip, 100 ms.
"$cluster" up-wan 2 10mbit 50ms
on_hosts_and_here "$work/wan" "$work/wan-local" --data "$data" --algo psgd --batch 100 --budget 2000 --seed 7 -q
[ "$(final "$work/wan")" = "$(final "$work/wan-local")" ] ||
  fail "final loss over the distant link $(final "$work/wan") != on one host $(final "$work/wan-local")"
field() { sed -n "s/.*\"$2\": *\([^,]*\),*/\1/p" "$1/summary.json"; }
rounds=$(field "$work/wan" rounds)
wall=$(field "$work/wan" wall_s)
awk -v r="$rounds" -v w="$wall" 'BEGIN { exit !(r >= 20 && w >= 0.1 * r) }' ||
  fail "$rounds rounds took $wall s over a link of 50 ms each way (at least 0.1 s a round)"

# auto plans its rounds from the link: all it can use on one machine (counted
# free), the fewest across the distant one (measured: a round trip a round).
on_hosts_and_here "$work/wan-auto" "$work/local-auto" --data "$data" --budget 2000 --seed 7
wan_rounds=$(field "$work/wan-auto" rounds)
local_rounds=$(field "$work/local-auto" rounds)
grep -q "plan: .* s measured" "$work/wan-auto.log" || { cat "$work/wan-auto.log"; fail "the 2-host plan measured no link"; }
grep -q "free within one machine" "$work/local-auto.log" || { cat "$work/local-auto.log"; fail "the one-host plan timed its link"; }
(( wan_rounds < local_rounds )) ||
  fail "auto planned $wan_rounds rounds across the distant link, not fewer than on one host ($local_rounds)"

"$cluster" down
"$cluster" check-clean || fail "the test cluster left something behind"
echo "PASS: same loss on 2 hosts as on one; a cut link ended the job in $took s, naming rank 1 (host h2);" \
  "$rounds rounds over a 50 ms link took $wall s, the same bits; auto planned $wan_rounds rounds there, $local_rounds here"
