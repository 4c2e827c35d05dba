#!/usr/bin/env bash
# A test cluster on one machine: K "hosts", each a network namespace with its
# own address on 10.213.0.0/24, joined to a bridge by a veth pair whose two
# ends are limited to RATE by a token-bucket filter (tc tbf shapes egress, so
# both ends are shaped: one for what a host sends, one for what it receives).
# mpirun runs on a head node of its own (namespace crpsgd-head, 10.213.0.10,
# unshaped) and starts one daemon per host through netns-rsh; ranks talk over
# TCP only, never shared memory.
#
#   cluster.sh up K [RATE]        create hosts h1..hK (RATE: tc syntax, default 1gbit)
#   cluster.sh rate RATE [DELAY]  change every host's link rate; DELAY (e.g. 50ms): the one-way
#                                 delay between two hosts (netem, half on each of the path's links)
#   cluster.sh up-wan K RATE DELAY  hosts h1..hK on a distant link: RATE each way and DELAY
#                                 one-way between two hosts, emulated by wan_switch.py (TAP
#                                 devices; for kernels without sch_netem) instead of the bridge
#   cluster.sh cut I              take host hI's link down (its processes keep running, cut off)
#   cluster.sh restore I          bring hI back as after a reboot: its processes killed, link up
#   cluster.sh mpirun N ARGS...   mpirun on the head node over hosts h1..hN, one rank each
#   cluster.sh down               remove everything this script made (idempotent)
#   cluster.sh check-clean        exit 1 if any namespace, link or process is left
#
# Needs root (ip netns, tc). Nothing leaves the machine: the bridge has no
# address in the root namespace and no route out.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
subnet=10.213.0
bridge=crpsgd-br
prefix=crpsgd-h   # namespaces crpsgd-h1 ... ; root-side veth ends crpsgd-v1 ...
head=crpsgd-head  # mpirun's namespace; its veth end is crpsgd-v0

die() { echo "cluster.sh: $*" >&2; exit 2; }
need_root() { [ "$(id -u)" = 0 ] || die "needs root (ip netns, tc)"; }

# tbf is a token bucket: after the link idles (compute, evaluation), up to
# `burst` bytes pass at full speed, so a small bucket is closer to a real
# wire. 1 ms of traffic, at least 16 KB (GSO packets larger than the bucket
# are segmented by tbf, so the bucket need not hold one).
# With a delay, netem holds each packet that long before the token bucket
# (its child) paces it; a path host -> host crosses two shaped links (the
# sender's and the receiver's), so each gets half the one-way delay.
shape() {  # shape NS_OR_EMPTY DEV RATE [HALF_DELAY_US]
  local ns=$1 dev=$2 rate=$3 delay_us=${4:-0} run=()
  [ -n "$ns" ] && run=(ip netns exec "$ns")
  local bits
  bits=$(rate_bits "$rate")
  local burst=$(( bits / 8 / 1000 ))
  (( burst < 16384 )) && burst=16384
  if (( delay_us == 0 )); then
    "${run[@]}" tc qdisc replace dev "$dev" root tbf rate "$rate" burst "$burst" latency 200ms
    return
  fi
  "${run[@]}" tc qdisc del dev "$dev" root 2>/dev/null || true
  "${run[@]}" tc qdisc add dev "$dev" root handle 1: netem delay "${delay_us}us" limit 100000
  "${run[@]}" tc qdisc add dev "$dev" parent 1:1 handle 10: tbf rate "$rate" burst "$burst" latency 1s
}

delay_us() {  # 50ms -> 50000 (also us, s); empty -> 0
  local d=${1,,}
  case "$d" in
    '') echo 0 ;;
    *ms) echo $(( ${d%ms} * 1000 )) ;;
    *us) echo $(( ${d%us} )) ;;
    *s) echo $(( ${d%s} * 1000000 )) ;;
    *) die "delay '$1': use e.g. 50ms" ;;
  esac
}

rate_bits() {  # 100mbit -> 100000000
  local r=${1,,}
  case "$r" in
    *gbit) echo $(( ${r%gbit} * 1000000000 )) ;;
    *mbit) echo $(( ${r%mbit} * 1000000 )) ;;
    *kbit) echo $(( ${r%kbit} * 1000 )) ;;
    *bit) echo $(( ${r%bit} )) ;;
    *) die "rate '$1': use e.g. 1gbit, 100mbit, 500kbit" ;;
  esac
}

hosts() { ip netns list 2>/dev/null | awk '{print $1}' | grep "^${prefix}[0-9]*$" | sort -V || true; }

switch_pid=/run/crpsgd-wan-switch.pid

cmd_down() {
  if [ -f "$switch_pid" ]; then
    kill "$(cat "$switch_pid")" 2>/dev/null || true
    rm -f "$switch_pid"
  fi
  local ns
  for ns in $(hosts) $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$head$" || true); do
    # Everything still running in a host (orted, ranks) goes with it.
    local pids
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -n "$pids" ] && kill -9 $pids 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  local dev
  for dev in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep '^crpsgd-' || true); do
    ip link del "$dev" 2>/dev/null || true
  done
}

cmd_check_clean() {
  local left=""
  left+=$(hosts)
  left+=$(ip netns list | awk '{print $1}' | grep "^$head$" || true)
  left+=$(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep '^crpsgd-' || true)
  left+=$(pgrep -f "netns-rsh|orted.*10\.213\.0\.|wan_switch\.py" || true)
  if [ -n "$left" ]; then
    echo "cluster.sh: left behind:" $left >&2
    return 1
  fi
  echo "cluster.sh: clean (no test-cluster namespace, link or process)"
}

# One namespace with address 10.213.0.<10+index> on the bridge.
add_node() {  # add_node NAMESPACE INDEX
  local ns=$1 i=$2
  ip netns add "$ns"
  ip link add "crpsgd-v$i" type veth peer name "crpsgd-p$i"
  ip link set "crpsgd-p$i" netns "$ns"
  ip -n "$ns" link set "crpsgd-p$i" name eth0
  ip -n "$ns" addr add "$subnet.$((10 + i))/24" dev eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  ip link set "crpsgd-v$i" master "$bridge"
  ip link set "crpsgd-v$i" up
}

cmd_up() {
  local k=${1:-} rate=${2:-1gbit}
  [[ "$k" =~ ^[1-9][0-9]?$ ]] && (( k <= 50 )) || die "up K: K must be 1..50 hosts, got '${k}'"
  rate_bits "$rate" >/dev/null
  cmd_down
  ip link add "$bridge" type bridge
  ip link set "$bridge" up
  add_node "$head" 0
  # A cut host leaves mpirun's messages to it unacknowledged; Linux retries
  # them for ~15 minutes by default (tcp_retries2=15). A head node that gives
  # up after ~6 s lets mpirun declare the host lost and end the job.
  ip netns exec "$head" sysctl -qw net.ipv4.tcp_retries2=4
  local i
  for i in $(seq 1 "$k"); do
    add_node "$prefix$i" "$i"
    shape "$prefix$i" eth0 "$rate"
    shape "" "crpsgd-v$i" "$rate"
  done
  echo "cluster.sh: $k hosts h1..h$k at $subnet.11..$subnet.$((10 + k)), links at $rate; head node $subnet.10"
}

cmd_up_wan() {
  local k=${1:-} rate=${2:-} delay=${3:-}
  [[ "$k" =~ ^[1-9][0-9]?$ ]] && (( k <= 50 )) || die "up-wan K RATE DELAY: K must be 1..50 hosts, got '${k}'"
  [ -n "$rate" ] && [ -n "$delay" ] || die "up-wan K RATE DELAY: e.g. up-wan 2 10mbit 50ms"
  local bits us
  bits=$(rate_bits "$rate")
  us=$(delay_us "$delay")
  cmd_down
  local ports=() i ns
  for i in $(seq 0 "$k"); do
    ns=$prefix$i
    (( i == 0 )) && ns=$head
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ports+=("$ns=crpsgd-t$i")
  done
  local log
  log=$(mktemp /tmp/crpsgd-wan-switch.XXXXXX)
  setsid /usr/bin/python3 "$here/wan_switch.py" --rate "$bits" --delay "$(awk "BEGIN{print $us/1e6}")" \
    --head "$head" "${ports[@]}" > "$log" 2>&1 < /dev/null &
  echo $! > "$switch_pid"
  until grep -q '^ready' "$log"; do  # every port exists
    kill -0 "$(cat "$switch_pid")" 2>/dev/null || { cat "$log" >&2; rm -f "$log"; die "wan_switch.py failed"; }
    sleep 0.1
  done
  rm -f "$log"
  for i in $(seq 0 "$k"); do
    ns=$prefix$i
    (( i == 0 )) && ns=$head
    ip -n "$ns" addr add "$subnet.$((10 + i))/24" dev eth0
    ip -n "$ns" link set eth0 up
    (( i > 0 )) && shape "$ns" eth0 "$rate"  # the host's uplink; the switch paces its downlink
  done
  ip netns exec "$head" sysctl -qw net.ipv4.tcp_retries2=4
  echo "cluster.sh: $k hosts h1..h$k at $subnet.11..$subnet.$((10 + k)), links at $rate, $delay one-way" \
    "(wan_switch.py); head node $subnet.10"
}

cmd_rate() {
  local rate=${1:-} delay=${2:-}
  [ -n "$rate" ] || die "rate RATE [DELAY]: missing RATE"
  rate_bits "$rate" >/dev/null
  local half
  half=$(( $(delay_us "$delay") / 2 ))
  local ns
  for ns in $(hosts); do
    local i=${ns#$prefix}
    shape "$ns" eth0 "$rate" "$half"
    shape "" "crpsgd-v$i" "$rate" "$half"
  done
}

link_of() {
  local i=${1:-}
  [[ "$i" =~ ^[0-9]+$ ]] && ip netns list | grep -q "^$prefix$i\b" || die "no host h$i"
  echo "crpsgd-v$i"
}

cmd_mpirun() {
  local n=${1:-}
  shift || true
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "mpirun N ARGS...: N must be a number of hosts, got '${n}'"
  local have
  have=$(hosts | wc -l)
  (( n <= have )) || die "mpirun $n: the cluster has $have hosts"
  local hostfile
  hostfile=$(mktemp /tmp/crpsgd-hosts.XXXXXX)
  local i
  for i in $(seq 1 "$n"); do echo "$subnet.$((10 + i)) slots=1"; done > "$hostfile"
  local rc=0
  # --bind-to none: each daemon thinks its host's cores are its own and would
  # bind its rank to "core 0": every rank on the same core of this machine.
  ip netns exec "$head" mpirun --allow-run-as-root --hostfile "$hostfile" -np "$n" --map-by ppr:1:node --bind-to none \
    --mca plm_rsh_agent "$here/netns-rsh" --mca plm_rsh_no_tree_spawn 1 \
    --mca btl tcp,self --mca btl_tcp_if_include "$subnet.0/24" --mca oob_tcp_if_include "$subnet.0/24" \
    --mca pml ob1 --mca mpi_yield_when_idle 1 "$@" || rc=$?
  rm -f "$hostfile"
  return $rc
}

need_root
case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  up-wan) shift; cmd_up_wan "$@" ;;
  down) cmd_down ;;
  rate) shift; cmd_rate "$@" ;;
  cut) ip link set "$(link_of "${2:-}")" down ;;
  restore)
    dev=$(link_of "${2:-}")
    pids=$(ip netns pids "$prefix${2}" 2>/dev/null || true)
    [ -n "$pids" ] && kill -9 $pids 2>/dev/null || true
    ip link set "$dev" up ;;
  mpirun) shift; cmd_mpirun "$@" ;;
  check-clean) cmd_check_clean ;;
  *) die "usage: cluster.sh up K [RATE] | up-wan K RATE DELAY | rate RATE [DELAY] | cut I | restore I | mpirun N ARGS... | down | check-clean" ;;
esac
