#!/usr/bin/env bash
# Runs the benchmarks and writes bench/results.md, naming the machine.
# Needs a build (scripts/build.sh). A few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/bench/allreduce_bench ] || { echo "bench: build/bench is missing: run scripts/build.sh" >&2; exit 2; }
mpirun=(mpirun)
[ "$(id -u)" -eq 0 ] && mpirun+=(--allow-run-as-root)
out=bench/results.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "$out.tmp"' EXIT  # a failed run leaves results.md as it was
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
  echo
  echo "## Gradient kernel against memory bandwidth (target: dense batches of 4096 or more at >= 70% of read bandwidth)"
  echo
  echo "Logistic regression batch gradient, rows drawn at random from a 411 MB dense data set"
  echo "(785 features; 206 MB at float32) or a sparse one (64 non-zeros per row), a fresh batch every round;"
  echo "STREAM-like read in the same run. Bytes read are the sampled rows' features (and CSR indices)."
  echo
  build/bench/kernel_bench --benchmark_min_time=1 --benchmark_format=json 2>/dev/null > "$tmp/kernel.json"
  python3 - "$tmp/kernel.json" <<'REPORT'
import json, sys
report = json.load(open(sys.argv[1]))
bench = report["benchmarks"]
stream = {b.get("threads", 1): b["bytes_per_second"] for b in bench if b["name"].startswith("BM_StreamRead")}
print(f"Row kernels: {report['context'].get('row_kernels', '?')} (picked at run time; the same bits on every kind)")
print()
print("STREAM-like read: " + ", ".join(f"{v / 1e9:.2f} GB/s on {t} thread{'s' if t > 1 else ''}" for t, v in sorted(stream.items())))
print()
print("| kernel | features | batch | threads | samples/s | bytes read/s | share of the read bandwidth of as many threads |")
print("|---|---|---|---|---|---|---|")
for b in bench:
    if b["name"].startswith("BM_LogregGradient"):
        parts = b["name"].split("/")
        if "InOrder" in b["name"]:
            kind, batch, threads, bits = "dense, all rows in order (contrast)", "65536", 1, parts[1]
        else:
            kind = "dense" if "Dense" in b["name"] else "sparse"
            batch = parts[1]
            threads = int(parts[2]) if kind == "dense" else 1
            bits = parts[3] if kind == "dense" else parts[2]
        print(f"| {kind} | float{bits} | {batch} | {threads} | {b['items_per_second']:,.0f} | "
              f"{b['bytes_per_second'] / 1e9:.2f} GB/s | {100 * b['bytes_per_second'] / stream[threads]:.0f}% |")
REPORT
  echo
  echo "## End to end and cost growth: psgd and cr-psgd over the budget T (target: cr-psgd's communication time grows like log T)"
  echo
  echo "Logistic regression on Fashion-MNIST (T-shirt vs rest, standardised), 2 MPI ranks, one per core."
  echo
  python3 bench/cost_growth.py "$tmp"
  if [ -x build/bench/allreduce_bench ]; then
    echo
    echo "## Memory that scales with the shard: peak memory per rank against the file (target: each rank reads only its part)"
    echo
    bash bench/shard_memory.sh
  fi
  if [ -x build/bench/torch_step_bench ]; then
    echo
    echo "## ResNet-20 step: crpsgd against bare LibTorch and PyTorch (target: crpsgd at least as fast as PyTorch)"
    echo
    echo "One training step on a batch of 64 images (1×28×28), same architecture everywhere;"
    echo "PyTorch is Debian's python3-torch running bench/peers/resnet20_step.py; \"TorchScript\" is that"
    echo "model scripted (--script) and trained through crpsgd as --model does (target: at most 1.25× the built-in step time)."
    echo
    /usr/bin/python3 bench/peers/resnet20_step.py --script "$tmp/resnet20.pt"
    CRPSGD_SCRIPTED_RESNET20="$tmp/resnet20.pt" build/bench/torch_step_bench --benchmark_min_time=3 \
      --benchmark_filter=Step --benchmark_format=json 2>/dev/null > "$tmp/step.json"
    # Debian's python3, the one with python3-torch (a python3 earlier on PATH may lack it),
    # with the allocator settings crpsgd sets itself (crpsgd/allocator.h), so that both reuse memory.
    GLIBC_TUNABLES=glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=1073741824 \
      /usr/bin/python3 bench/peers/resnet20_step.py --threads 1,2 --seconds 6 > "$tmp/peer.jsonl"
    python3 - "$tmp/step.json" "$tmp/peer.jsonl" <<'REPORT'
import json, sys
bench = json.load(open(sys.argv[1]))["benchmarks"]
peer = {p["threads"]: p for p in map(json.loads, open(sys.argv[2]))}
rate = {}
for b in bench:
    name, threads = b["name"].split("/")[0], int(b["name"].split("/")[1])
    rate[(name, threads)] = b["items_per_second"]
print("| threads | crpsgd | bare LibTorch (C++) | PyTorch %s | crpsgd ÷ PyTorch | crpsgd, TorchScript module | its step time ÷ built-in's |"
      % next(iter(peer.values()))["torch"])
print("|---|---|---|---|---|---|---|")
for t in sorted(peer):
    c, l, p = rate[("BM_CrpsgdResNet20Step", t)], rate[("BM_BareLibTorchResNet20Step", t)], peer[t]["images_per_s"]
    s = rate[("BM_CrpsgdScriptedResNet20Step", t)]
    print(f"| {t} | {c:.0f} images/s | {l:.0f} images/s | {p:.0f} images/s | {c / p:.2f}× | {s:.0f} images/s | {c / s:.2f}× |")
REPORT
    echo
    bash bench/batch_rate.sh
  fi
  echo
  bash bench/checkpoint_cost.sh
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "bench: wrote $out" >&2
