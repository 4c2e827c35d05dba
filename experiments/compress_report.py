"""experiments/compress.sh's table: each run at its best step, per compression,
against the uncompressed run's f - f* and bytes at the same rounds."""
import csv
import pathlib
import statistics
import sys

out = pathlib.Path(sys.argv[1])
compressions = [c for c in ("none", "bf16", "int8") if (out / c / "results.csv").exists()]


def best_rows(compression):
    """(algo, params) -> (lr multiple, mean f - f*, rounds, bytes a round, seeds) at the best step."""
    by_run = {}
    for row in csv.DictReader(open(out / compression / "results.csv")):
        if row["status"] != "ok":
            continue
        key = (row["algo"], row["params"])
        by_run.setdefault(key, {}).setdefault(row["lr_multiple"], []).append(row)
    best = {}
    for key, steps in by_run.items():
        multiple, rows = min(steps.items(), key=lambda item: statistics.mean(float(r["f_gap"]) for r in item[1]))
        rounds = int(rows[0]["rounds"])
        best[key] = (multiple, statistics.mean(float(r["f_gap"]) for r in rows), rounds,
                     int(rows[0]["bytes"]) / rounds, len(rows))
    return best


tables = {c: best_rows(c) for c in compressions}
print("# --compress on the main job's problem (experiments/compress.sh)\n")
print("Logistic regression on Fashion-MNIST (class 0 against the rest, normalized, λ = 1e-4), N = 10 in")
print("process, T = 6000 samples a worker; each run at its best step of {0.5, 1, 2, 4, 8}/L̂ (mean f − f*")
print("over the seeds), once per compression. Bytes are a worker's payload a round (a linear model's")
print("uncompressed wire is float64: 8 bytes a value).\n")
print("| run | rounds | compression | best step (×1/L̂) | f − f* | vs none | bytes a round | vs none | vs float32 |")
print("|---|---|---|---|---|---|---|---|---|")
for key in tables["none"]:
    base = tables["none"][key]
    for c in compressions:
        if key not in tables[c]:
            continue
        multiple, gap, rounds, per_round, seeds = tables[c][key]
        float32 = base[3] / 2
        print(f"| {key[0]} {key[1]} | {rounds} | {c} | {multiple} | {gap:.5f} | {gap / base[1]:.3f}× "
              f"| {per_round:.0f} | {per_round / base[3]:.3f}× | {per_round / float32:.3f}× |")
seeds = {tables[c][k][4] for c in compressions for k in tables[c]}
print(f"\nSeeds per cell: {', '.join(str(s) for s in sorted(seeds))}.")
