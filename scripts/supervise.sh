#!/usr/bin/env bash
# Keeps a crpsgd run going when a worker is lost: runs COMMAND, and when it
# ends with exit code 5 (a worker was lost: --round-timeout or --mpi-timeout)
# or by a signal (128+N: mpirun's code when a rank is killed, or the process's
# own), runs it again: with --resume when its --out holds a checkpoint (the run
# goes on from there), else as given (a failed run with no checkpoint leaves
# nothing in the way). At most ATTEMPTS relaunches. Any other exit ends the
# supervision with that code: 0 (done), 2 (bad input), 3 (diverged), 1 (an
# internal error) are not cured by a relaunch.
#
# Without --hosts it relaunches on the same workers (bit-identical to a run
# never stopped). With --hosts FILE (one host a line, "host [slots=K]", as
# mpirun's --hostfile reads) it runs on the hosts that answer PROBE: before
# each launch it writes them to a hostfile and puts that file and their slots
# in COMMAND's {hostfile} and {np}; a checkpoint resumes on any number of
# workers (the run keeps its plan: docs/reliability.md). While the run is on
# fewer hosts than FILE names it probes the others every GROW_EVERY seconds;
# when one answers it waits for the run's next checkpoint, stops the run
# (SIGTERM to its process group) and relaunches on them all: it grows back,
# losing at most the rounds since that checkpoint. Growing does not count as
# an attempt.
#
# Usage: scripts/supervise.sh [--attempts N] [--hosts FILE [--probe CMD] [--min-hosts M]
#                              [--grow-every SECONDS]] -- COMMAND...
#   N: default 3. CMD: a shell command with {host}, exit 0 when the host can
#   run a rank (default: ssh -o BatchMode=yes -o ConnectTimeout=5 {host} true).
#   M: the fewest answering hosts to launch on (default 1). SECONDS: default 30.
#   scripts/supervise.sh -- mpirun -np 4 ./build/crpsgd train --data FILE --checkpoint-every 10 --out run
#   scripts/supervise.sh --hosts hosts.txt -- mpirun -np {np} --hostfile {hostfile} \
#     ./build/crpsgd train --data FILE --sampling global --checkpoint-every 10 --out run
# COMMAND must write checkpoints (--checkpoint-every K --out DIR).
# Exit: COMMAND's last exit code; 2 for bad usage; 5 when fewer than M hosts answer.
set -uo pipefail
usage="usage: $0 [--attempts N] [--hosts FILE [--probe CMD] [--min-hosts M] [--grow-every SECONDS]] -- COMMAND..."
attempts=3 hosts_file="" probe='ssh -o BatchMode=yes -o ConnectTimeout=5 {host} true' min_hosts=1 grow_every=30
while [ $# -gt 0 ]; do
  case $1 in
    --attempts) attempts=${2:-}; shift 2 ;;
    --hosts) hosts_file=${2:-}; shift 2 ;;
    --probe) probe=${2:-}; shift 2 ;;
    --min-hosts) min_hosts=${2:-}; shift 2 ;;
    --grow-every) grow_every=${2:-}; shift 2 ;;
    --) shift; break ;;
    *) echo "supervise: $usage" >&2; exit 2 ;;
  esac
done
[[ "$attempts" =~ ^[0-9]+$ ]] || { echo "supervise: --attempts must be a count, got '$attempts'" >&2; exit 2; }
[[ "$min_hosts" =~ ^[1-9][0-9]*$ ]] || { echo "supervise: --min-hosts must be >= 1, got '$min_hosts'" >&2; exit 2; }
[[ "$grow_every" =~ ^[0-9]*\.?[0-9]+$ ]] ||
  { echo "supervise: --grow-every must be a number of seconds, got '$grow_every'" >&2; exit 2; }
[ -z "$hosts_file" ] || [ -r "$hosts_file" ] || { echo "supervise: --hosts $hosts_file: cannot read it" >&2; exit 2; }
[ $# -gt 0 ] || { echo "supervise: $usage" >&2; exit 2; }
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

# The lines of FILE whose host answers the probe (comments and blank lines skipped).
answering() {
  local line host
  while IFS= read -r line || [ -n "$line" ]; do
    host=${line%%[[:space:]]*}
    { [ -z "$host" ] || [ "${host:0:1}" = "#" ]; } && continue
    if bash -c "${probe//\{host\}/$host}" < /dev/null > /dev/null 2>&1; then echo "$line"; fi
  done < "$hosts_file"
}
# The ranks the given hostfile lines hold: their slots=K (1 without).
slots() {
  local line total=0 k
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    k=$(sed -n 's/.*slots=\([0-9]*\).*/\1/p' <<< "$line")
    total=$((total + ${k:-1}))
  done <<< "$1"
  echo "$total"
}
latest_round() { sed -n 's/.*"round": *\([0-9]*\).*/\1/p' "$out/checkpoint/LATEST" 2> /dev/null; }

# --hosts: runs COMMAND on the hosts that answer, growing back when one
# returns. Sets `code` (and `grew` when it stopped the run to grow).
run_on_hosts() {
  local up np pid before total
  up=$(answering)
  np=$(slots "$up")
  if [ -z "$up" ] || [ "$(wc -l <<< "$up")" -lt "$min_hosts" ]; then
    echo "supervise: fewer than $min_hosts hosts of $hosts_file answer; giving up" >&2
    exit 5
  fi
  printf '%s\n' "$up" > "$hostfile"
  local args=() a
  for a in "${command[@]}"; do a=${a//\{np\}/$np}; args+=("${a//\{hostfile\}/$hostfile}"); done
  total=$(grep -cv '^[[:space:]]*\(#\|$\)' "$hosts_file")
  echo "supervise: launching on $(wc -l <<< "$up") of $total hosts ($np ranks)" >&2
  setsid "${args[@]}" "${resume[@]}" &
  pid=$! grew=no
  while kill -0 "$pid" 2> /dev/null; do
    sleep "$grow_every"
    [ "$(wc -l <<< "$up")" -lt "$total" ] || continue
    [ "$(answering | wc -l)" -gt "$(wc -l <<< "$up")" ] || continue
    before=$(latest_round)  # a host is back: stop right after the next checkpoint
    while kill -0 "$pid" 2> /dev/null && [ "$(latest_round)" = "$before" ]; do sleep 0.05; done
    if kill -TERM -- "-$pid" 2> /dev/null; then
      grew=yes
      echo "supervise: a host is back; stopping after the checkpoint of round $(latest_round) to grow" >&2
    fi
    break
  done
  wait "$pid"
  code=$?
}

hostfile=""
if [ -n "$hosts_file" ]; then
  hostfile=$(mktemp)
  trap 'rm -f "$hostfile"' EXIT
fi
resume=()
for ((attempt = 0; ; )); do
  grew=no
  if [ -n "$hosts_file" ]; then
    run_on_hosts
  else
    "${command[@]}" "${resume[@]}"
    code=$?
  fi
  if [ "$grew" = yes ]; then
    [ "$resumes" = yes ] || resume=(--resume)
    continue
  fi
  if [ "$code" -ne 5 ] && [ "$code" -lt 128 ]; then exit "$code"; fi
  if [ "$attempt" -ge "$attempts" ]; then
    echo "supervise: exit code $code after $attempts relaunches; giving up" >&2
    exit "$code"
  fi
  attempt=$((attempt + 1))
  resume=()
  if [ -f "$out/checkpoint/LATEST" ]; then
    [ "$resumes" = yes ] || resume=(--resume)
    echo "supervise: exit code $code (a worker was lost); relaunching from the checkpoint of round $(latest_round)" >&2
  else
    echo "supervise: exit code $code (a worker was lost) before any checkpoint; relaunching from the start" >&2
  fi
done
