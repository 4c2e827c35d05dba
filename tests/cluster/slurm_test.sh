#!/usr/bin/env bash
# A job under a real scheduler: a one-node Slurm cluster (scripts/slurm-cluster.sh:
# munged, slurmctld, slurmd from Debian's slurm-wlm) runs docs/cluster.md's
# job script with sbatch (mpirun inside the allocation, 2 tasks) and an
# `srun --mpi=pmix -n 2` step; both summaries equal a plain mpirun -np 2 run's,
# bit for bit. Needs root and slurm-wlm; exits 77 (CTest: skipped) without.
# Usage: slurm_test.sh CRPSGD_BINARY DATA_FILE
set -euo pipefail
crpsgd=$1
data=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../..
if [ "$(id -u)" != 0 ]; then echo "SKIP: slurmd needs root" >&2; exit 77; fi
for tool in munged slurmctld slurmd sbatch srun sinfo mpirun; do
  command -v "$tool" > /dev/null || { echo "SKIP: $tool is missing (apt-get install slurm-wlm munge)" >&2; exit 77; }
done
[ -f "$data" ] || { echo "SKIP: $data is missing" >&2; exit 77; }
work=$(mktemp -d)
fail() { echo "FAIL: $*" >&2; exit 1; }
cleanup() {
  bash "$root/scripts/slurm-cluster.sh" down "$work/cluster"
  rm -rf "$work"
}
trap cleanup EXIT

eval "$(bash "$root/scripts/slurm-cluster.sh" up "$work/cluster")"
[ -n "${SLURM_CONF:-}" ] || fail "the cluster did not start"

# The job script exactly as docs/cluster.md shows it (the bash block after its marker).
awk '/<!-- slurm-job-script -->/ { found = 1; next } found && /^```bash/ { inside = 1; next }
     inside && /^```/ { exit } inside { print }' "$root/docs/cluster.md" > "$work/job.sh"
grep -q '#SBATCH --ntasks=2' "$work/job.sh" || fail "no job script found in docs/cluster.md"

OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun -np 2 --oversubscribe \
  "$crpsgd" train --data "$data" --budget 2000 --out "$work/plain" -q > /dev/null

(cd "$work" && CRPSGD=$crpsgd DATA=$data OUT=$work/sbatch timeout 300 sbatch --wait job.sh > /dev/null) ||
  { cat "$work"/crpsgd-*.out >&2 || true; fail "the sbatch job failed"; }
timeout 300 srun --mpi=pmix -n 2 "$crpsgd" train --data "$data" --budget 2000 --out "$work/srun" -q > /dev/null ||
  fail "srun --mpi=pmix failed"

same() {  # the two summaries agree on the result, bit for bit
  /usr/bin/python3 - "$1" "$2" << 'PY'
import json, sys
a, b = (json.load(open(f + "/summary.json")) for f in sys.argv[1:])
keys = ("x", "final_loss", "rounds", "sfo_total", "workers", "backend")
bad = [k for k in keys if a.get(k) != b.get(k)]
sys.exit(f"{sys.argv[2]} differs from {sys.argv[1]} in {bad}" if bad else 0)
PY
}
same "$work/plain" "$work/sbatch" || fail "sbatch's run is not the plain mpirun's"
same "$work/plain" "$work/srun" || fail "srun --mpi=pmix's run is not the plain mpirun's"
echo "slurm_test: sbatch (mpirun in the allocation) and srun --mpi=pmix equal mpirun -np 2"
