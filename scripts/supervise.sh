#!/usr/bin/env bash
# Keeps a crpsgd run going when a worker is lost: runs COMMAND, and when it
# ends with exit code 5 (a worker was lost: --round-timeout or --mpi-timeout)
# or by a signal (128+N: mpirun's code when a rank is killed, or the process's
# own), runs it again: with --resume when its --out holds a checkpoint (the run
# goes on from there, bit-identical to a run never stopped), else as given (a
# failed run with no checkpoint leaves nothing in the way). At most ATTEMPTS
# relaunches. Any other exit ends the supervision with that code: 0 (done),
# 2 (bad input), 3 (diverged), 1 (an internal error) are not cured by a relaunch.
# It relaunches on the same workers; a checkpoint resumes only on the number
# that wrote it.
#
# Usage: scripts/supervise.sh [--attempts N] -- COMMAND...   (N: default 3)
#   scripts/supervise.sh -- mpirun -np 4 ./build/crpsgd train --data FILE --checkpoint-every 10 --out run
# COMMAND must write checkpoints (--checkpoint-every K --out DIR).
# Exit: COMMAND's last exit code; 2 for bad usage.
set -uo pipefail
attempts=3
while [ $# -gt 0 ]; do
  case $1 in
    --attempts) attempts=${2:-}; shift 2 ;;
    --) shift; break ;;
    *) echo "supervise: usage: $0 [--attempts N] -- COMMAND..." >&2; exit 2 ;;
  esac
done
[[ "$attempts" =~ ^[0-9]+$ ]] || { echo "supervise: --attempts must be a count, got '$attempts'" >&2; exit 2; }
[ $# -gt 0 ] || { echo "supervise: usage: $0 [--attempts N] -- COMMAND..." >&2; exit 2; }
command=("$@")
out="" resumes=no
for ((i = 0; i < ${#command[@]}; ++i)); do
  case ${command[i]} in
    --out) out=${command[i + 1]:-} ;;
    --out=*) out=${command[i]#--out=} ;;
    --resume) resumes=yes ;;  # a requeued job script's: it resumes already
  esac
done
[ -n "$out" ] || { echo "supervise: COMMAND has no --out DIR, so there is no checkpoint to resume" >&2; exit 2; }
resume=()
for ((attempt = 0; ; ++attempt)); do
  "${command[@]}" "${resume[@]}"
  code=$?
  if [ "$code" -ne 5 ] && [ "$code" -lt 128 ]; then exit "$code"; fi
  if [ "$attempt" -ge "$attempts" ]; then
    echo "supervise: exit code $code after $attempts relaunches; giving up" >&2
    exit "$code"
  fi
  resume=()
  if [ -f "$out/checkpoint/LATEST" ]; then
    [ "$resumes" = yes ] || resume=(--resume)
    round=$(sed -n 's/.*"round": *\([0-9]*\).*/\1/p' "$out/checkpoint/LATEST")
    echo "supervise: exit code $code (a worker was lost); relaunching from the checkpoint of round $round" >&2
  else
    echo "supervise: exit code $code (a worker was lost) before any checkpoint; relaunching from the start" >&2
  fi
done
