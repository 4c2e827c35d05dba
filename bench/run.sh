#!/usr/bin/env bash
# Runs the benchmarks and writes bench/results.md, naming the machine.
# Needs a build (scripts/build.sh). A few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/bench/allreduce_bench ] || { echo "bench: build/bench is missing: run scripts/build.sh" >&2; exit 2; }
mpirun=(mpirun)
[ "$(id -u)" -eq 0 ] && mpirun+=(--allow-run-as-root)
out=bench/results.md
{
  echo "# Benchmark results"
  echo
  echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, \
$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $(. /etc/os-release && echo "$PRETTY_NAME"); \
$(date -u +%Y-%m-%d). Regenerate with \`bash bench/run.sh\`."
  echo
  echo "## All-reduce: crpsgd's communicator against bare MPI_Allreduce (target: overhead <= 5% from 256 KB)"
  echo
  echo "2 ranks (one per core):"
  echo
  "${mpirun[@]}" -np 2 build/bench/allreduce_bench
  echo
  echo "4 ranks on $(nproc) cores (oversubscribed: noisy, for shape only):"
  echo
  "${mpirun[@]}" -np 4 --oversubscribe build/bench/allreduce_bench
  if [ -x build/bench/torch_step_bench ]; then
    echo
    echo "## ResNet-20 step: crpsgd against bare LibTorch"
    echo
    echo '```'
    build/bench/torch_step_bench --benchmark_min_time=2 2>/dev/null
    echo '```'
  fi
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "bench: wrote $out" >&2
