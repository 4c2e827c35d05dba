#!/usr/bin/env bash
# Time per sample against the batch, one thread: ResNet-20 and the scripted CNN
# of examples/your-own-model, through crpsgd's Objective, with the allocator
# crpsgd train sets (crpsgd/allocator.h: freed memory kept for reuse) and with
# glibc's defaults. Prints a markdown section (bench/run.sh puts it in
# bench/results.md). About 6 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bench=build/bench/torch_step_bench
[ -x "$bench" ] || { echo "batch_rate: $bench is missing: run scripts/build.sh" >&2; exit 2; }
model=out/your-own-model
[ -f "$model/cnn.pt" ] || /usr/bin/python3 examples/your-own-model/make_model.py "$model" > /dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for mode in reuse default; do
  allocator=()
  [ "$mode" = default ] && allocator=(CRPSGD_DEFAULT_ALLOCATOR=1)
  env "${allocator[@]}" CRPSGD_SCRIPTED_MODEL="$model/cnn.pt" "$bench" --benchmark_filter=Batch \
    --benchmark_min_time=2 --benchmark_format=json 2>/dev/null > "$tmp/$mode.json"
done
echo "## Time per sample against the batch (target: at a batch of 1024, at most 1.2× that at 32)"
echo
echo "One training step's time divided by its batch, one thread, $(lscpu | sed -n 's/^Model name: *//p');"
echo "\"reuse\": the allocator as crpsgd train sets it, \"glibc\": glibc's defaults (CRPSGD_DEFAULT_ALLOCATOR=1)."
echo
/usr/bin/python3 - "$tmp/reuse.json" "$tmp/default.json" <<'REPORT'
import json, sys
def per_sample(path):
    out = {}
    for b in json.load(open(path))["benchmarks"]:
        name, batch = b["name"].split("/")[0], int(b["name"].split("/")[1])
        out[(name, batch)] = 1e3 / b["items_per_second"]  # ms a sample
    return out
reuse, glibc = per_sample(sys.argv[1]), per_sample(sys.argv[2])
models = [("BM_CrpsgdResNet20Batch", "ResNet-20"), ("BM_CrpsgdScriptedModelBatch", "scripted CNN")]
print("| batch | " + " | ".join(f"{m}, reuse | {m}, glibc" for _, m in models) + " |")
print("|---|" + "---|---|" * len(models))
for batch in sorted({b for _, b in reuse}):
    cells = [f"{reuse[(n, batch)]:.3f} ms | {glibc[(n, batch)]:.3f} ms" for n, _ in models]
    print(f"| {batch} | " + " | ".join(cells) + " |")
for n, m in models:
    print()
    print(f"{m}: a sample at 1024 costs {reuse[(n, 1024)] / reuse[(n, 32)]:.2f}× one at 32 with reuse, "
          f"{glibc[(n, 1024)] / glibc[(n, 32)]:.2f}× with glibc's defaults; reuse is "
          f"{glibc[(n, 1024)] / reuse[(n, 1024)]:.1f}× faster at 1024 and {glibc[(n, 32)] / reuse[(n, 32)]:.1f}× at 32.")
REPORT
