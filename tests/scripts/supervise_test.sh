#!/usr/bin/env bash
# scripts/supervise.sh: a run whose worker is killed mid-run (in process, and
# one rank of three under mpirun) is relaunched from its checkpoint and ends
# with exactly the outputs of a run never stopped (times aside); a bad input
# is not relaunched.
# Usage: supervise_test.sh CRPSGD [MPIEXEC]
set -euo pipefail
crpsgd=$1 mpiexec=${2:-}
here=$(cd "$(dirname "$0")/../.." && pwd)
data=/usr/share/doc/liblinear-tools/examples/heart_scale
[ -f "$data" ] || { echo "SKIP: $data is missing (liblinear-tools)" >&2; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
train=(train -q --data "$data" --workers 3 --algo cr-psgd --budget 1500 --checkpoint-every 5)

check() {  # name, launcher...
  local name=$1; shift
  "$@" "$crpsgd" "${train[@]}" --out "$work/$name-reference" > /dev/null 2>&1 || fail "$name: the reference run failed"
  # The kill fires in the resumed process too, at its own 31st round: after round 30 of the run, fewer are left.
  "$here/scripts/supervise.sh" -- "$@" "$crpsgd" "${train[@]}" --out "$work/$name" \
    --inject-fault kill:rank=1,round=30 > "$work/$name.log" 2>&1 || { cat "$work/$name.log"; fail "$name: supervised run failed"; }
  grep -q "relaunching from the checkpoint of round 30" "$work/$name.log" || { cat "$work/$name.log"; fail "$name: no relaunch from round 30"; }
  rm -rf "$work/$name/checkpoint" "$work/$name-reference/checkpoint"
  /usr/bin/python3 "$here/scripts/same_numbers.py" "$work/$name-reference" "$work/$name" ||
    fail "$name: the supervised run differs from the run never stopped"
}

check inproc env --  # the launcher is nothing: in-process workers
if [ -n "$mpiexec" ]; then
  root=(); [ "$(id -u)" = 0 ] && root=(--allow-run-as-root)
  check mpi "$mpiexec" "${root[@]}" --oversubscribe -np 3
fi
# Bad input is not relaunched: exit 2 once.
code=0
"$here/scripts/supervise.sh" -- "$crpsgd" train -q --data "$work/none.libsvm" --budget 10 --out "$work/bad" \
  > "$work/bad.log" 2>&1 || code=$?
[ "$code" = 2 ] || fail "bad input: exit $code, not 2"
! grep -q relaunching "$work/bad.log" || fail "bad input was relaunched"
echo "supervise_test: PASS"
