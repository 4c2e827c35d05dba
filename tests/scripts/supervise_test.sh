#!/usr/bin/env bash
# scripts/supervise.sh: a run whose worker is killed mid-run (in process, and
# one rank of three under mpirun) is relaunched from its checkpoint and ends
# with exactly the outputs of a run never stopped (times aside); with --hosts
# it goes on on the hosts that answer and grows back; a bad input is not
# relaunched.
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
# --hosts: a run on hosts a b c d (in process: --workers {np}) whose process
# is killed while d is down goes on on 3 (which host the plan's 4 workers),
# grows back to 4 once d answers, and ends with exactly the outputs of the run
# never stopped (times aside).
wait_for() {  # what, a test command...: polls for up to 120 s
  local what=$1; shift
  for _ in $(seq 2400); do "$@" && return 0; sleep 0.05; done
  fail "waited 120 s for $what"
}
printf 'a\nb\nc\nd slots=1\n' > "$work/hosts"
touch "$work/d-up"
# 20000 rounds (seconds, even on an idle machine): the run on 3 outlasts the supervisor noticing d.
grow=(train -q --data "$data" --algo psgd --batch 1 --budget 20000 --sampling global --checkpoint-every 20)
"$crpsgd" "${grow[@]}" --workers 4 --out "$work/grow-reference" > /dev/null 2>&1 || fail "grow: the reference run failed"
"$here/scripts/supervise.sh" --hosts "$work/hosts" --probe "[ {host} != d ] || [ -e $work/d-up ]" --grow-every 0.1 \
  -- "$crpsgd" "${grow[@]}" --workers '{np}' --out "$work/grow" > "$work/grow.log" 2>&1 &
supervisor=$!
wait_for "the first checkpoint" test -f "$work/grow/checkpoint/LATEST"
rm "$work/d-up"  # d is lost with the process
kill_run() {  # kill -9 the crpsgd process of --out $1 (from /proc: procps may not be installed)
  local p killed=no
  for p in /proc/[0-9]*; do
    case $(tr '\0' ' ' < "$p/cmdline" 2> /dev/null) in
      "$crpsgd train "*"--out $1 ") kill -KILL "${p#/proc/}" 2> /dev/null && killed=yes ;;
    esac
  done
  [ "$killed" = yes ]
}
kill_run "$work/grow" || fail "grow: no run to kill"
wait_for "the relaunch on 3 hosts" grep -q "launching on 3 of 4 hosts" "$work/grow.log"
resumed=$(sed -n 's/.*relaunching from the checkpoint of round \([0-9]*\).*/\1/p' "$work/grow.log" | head -1)
past_resume() { [ "$(sed -n 's/.*"round": *\([0-9]*\).*/\1/p' "$work/grow/checkpoint/LATEST")" -gt "$resumed" ]; }
wait_for "a checkpoint of the 3 hosts" past_resume
touch "$work/d-up"  # d is back
wait "$supervisor" || { cat "$work/grow.log"; fail "grow: the supervised run failed"; }
grep -q "a host is back; stopping after the checkpoint of round" "$work/grow.log" || { cat "$work/grow.log"; fail "grow: it did not grow"; }
[ "$(grep -c "launching on 4 of 4 hosts" "$work/grow.log")" = 2 ] || { cat "$work/grow.log"; fail "grow: not back on 4"; }
rm -rf "$work/grow/checkpoint" "$work/grow-reference/checkpoint"
/usr/bin/python3 "$here/scripts/same_numbers.py" "$work/grow-reference" "$work/grow" ||
  fail "grow: the run lost and regained differs from the run never stopped"

# Bad input is not relaunched: exit 2 once.
code=0
"$here/scripts/supervise.sh" -- "$crpsgd" train -q --data "$work/none.libsvm" --budget 10 --out "$work/bad" \
  > "$work/bad.log" 2>&1 || code=$?
[ "$code" = 2 ] || fail "bad input: exit $code, not 2"
! grep -q relaunching "$work/bad.log" || fail "bad input was relaunched"
echo "supervise_test: PASS"
