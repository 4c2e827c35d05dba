#!/usr/bin/python3
"""The table and figure of bench/network/ddp.sh: per link profile and seed, each
run's time, rounds and bytes until its test accuracy first reaches the target
(DDP psgd's final accuracy on the first profile with the same seed, less DROP),
against DDP psgd's and against the same row on the first profile, and the
alpha-beta model's communication time beside each row; then per profile and
seed crpsgd's best row against PyTorch's best row that reaches the target.

  ddp_report.py OUT_DIR "MACHINE" BUDGET [DROP=0.01] > ddp_results.md   (also OUT_DIR/ddp-accuracy.svg)
"""
import csv
import json
import os
import subprocess
import sys

PROFILES = {"1gbit": ("1 Gbit/s", 5e-5, 125e6), "100mbit": ("100 Mbit/s", 5e-5, 12.5e6),
            "wan": ("10 Mbit/s, 50 ms one-way", 0.05, 1.25e6)}
WORKERS = 2


def evaluations(folder):
    """(wall_s, test_accuracy, round, bytes) of every evaluation, in order."""
    points = []
    for line in open(os.path.join(folder, "metrics.jsonl")):
        record = json.loads(line)
        if record.get("test_accuracy") is not None:
            points.append((record["wall_s"], record["test_accuracy"], record["round"], record["bytes"]))
    return points


def alpha_beta(rounds, bytes_sent, alpha, beta):
    """Ring all-reduce: 2(N-1) messages of (bytes a round)/N per round, each alpha + size/beta."""
    if rounds == 0:
        return 0.0
    per_round = bytes_sent / rounds
    return rounds * 2 * (WORKERS - 1) * (alpha + per_round / WORKERS / beta)


def reached(run, target):
    return next((p for p in run["points"] if p[1] >= target), None)


def main():
    out, machine, budget = sys.argv[1], sys.argv[2], sys.argv[3]
    drop = float(sys.argv[4]) if len(sys.argv) > 4 else 0.01
    net = sys.argv[5] if len(sys.argv) > 5 else "cnn"
    lr = sys.argv[6] if len(sys.argv) > 6 else "0.01"
    runs = list(csv.DictReader(open(os.path.join(out, "runs.tsv")), delimiter="\t"))
    for run in runs:
        run["points"] = evaluations(run["dir"])
        run.setdefault("seed", "1")
    profiles = [p for p in PROFILES if any(r["profile"] == p for r in runs)]
    seeds = list(dict.fromkeys(r["seed"] for r in runs))
    targets = {}
    for seed in seeds:
        reference = next(r for r in runs if r["profile"] == profiles[0] and r["seed"] == seed
                         and r["tool"] == "pytorch" and r["method"] == "psgd B=32")
        targets[seed] = reference["points"][-1][1] - drop
    print("# crpsgd against PyTorch DDP, end to end, across link profiles\n")
    model = ("the scripted CNN of examples/your-own-model (20 538 parameters, batch norm)" if net == "cnn" else
             "ResNet-20 (bench/peers/resnet20_step.py, crpsgd's architecture, scripted: 269 434 parameters, "
             "batch norm)")
    tests = "all 10 000 test images" if net == "cnn" else "the first 2000 test images"
    print(f"Output of `bash bench/network/ddp.sh` on {machine}: 2 hosts of the test cluster (network "
          f"namespaces, one rank each, one thread), {model} on Fashion-MNIST, T = {budget} samples per worker, "
          f"B = 32, step {lr}, momentum 0.9, the same starting weights. PyTorch: DistributedDataParallel (gloo, "
          "its defaults) for psgd, its parameters and batch-norm statistics averaged in one all-reduce every I "
          f"steps for local SGD. Test accuracy on {tests}, taken with the clock stopped. "
          f"Target: DDP psgd's final accuracy at {PROFILES[profiles[0]][0]} with the same seed less "
          f"{drop * 100:g} point{'s' if drop != 0.01 else ''} = "
          + ", ".join(f"**{targets[s]:.4f}** (seed {s})" for s in seeds)
          + ". The wan profile's delay is emulated in user space "
          "(scripts/testcluster/wan_switch.py; this kernel has no sch_netem).\n")
    print("α-β: the communication time the α-β model predicts for the run's rounds and bytes (ring "
          "all-reduce, 2(N−1) messages of bytes/N per round, α the one-way latency, β the link rate); "
          "wall time is training only. exposed s (--overlap): the time the local steps waited for "
          "exchanges. vs first profile: time to target against the same row's on "
          f"{PROFILES[profiles[0]][0]}.\n")
    for profile in profiles:
        for seed in seeds:
            table(profile, seed, [r for r in runs if r["profile"] == profile and r["seed"] == seed],
                  runs, profiles[0], targets[seed], len(seeds) > 1)
    summary(runs, profiles, seeds, targets)
    draw(out, [r for r in runs if r["seed"] == seeds[0]], profiles, targets[seeds[0]])


def table(profile, seed, rows, runs, first, target, several_seeds):
    name, alpha, beta = PROFILES[profile]
    base = next((r for r in rows if r["tool"] == "pytorch" and r["method"] == "psgd B=32"), None)
    base_time = reached(base, target)[0] if base and reached(base, target) else None
    print(f"## {name}" + (f", seed {seed}" if several_seeds else "") + "\n")
    print("| tool | method | rounds | bytes sent per worker | final accuracy | wall s | α-β comm s | exposed s | "
          "time to target s | rounds to target | bytes to target | time to target vs DDP psgd | vs first profile |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for run in rows:
        wall, accuracy, rounds, sent = run["points"][-1]
        hit = reached(run, target)
        ratio = f"{base_time / hit[0]:.2f}× faster" if hit and base_time else "—"
        if hit and base_time and hit[0] > base_time:
            ratio = f"{hit[0] / base_time:.2f}× slower"
        if run is base:
            ratio = "(the reference)"
        twin = next((r for r in runs if r["profile"] == first and r["seed"] == seed and r["tool"] == run["tool"]
                     and r["method"] == run["method"]), None)
        twin_hit = reached(twin, target) if twin else None
        own = f"{hit[0] / twin_hit[0]:.2f}×" if hit and twin_hit and profile != first else "—"
        exposed = summary_field(run["dir"], "exposed_comm_s")
        print(f"| {'PyTorch' if run['tool'] == 'pytorch' else 'crpsgd'} | {run['method']} | {rounds} | "
              f"{sent:,} | {accuracy:.4f} | {wall:.1f} | {alpha_beta(rounds, sent, alpha, beta):.1f} | "
              + (f"{exposed:.2f} | " if exposed is not None else "— | ")
              + (f"{hit[0]:.1f} | {hit[2]} | {hit[3]:,} | {ratio} | {own} |" if hit
                 else "not reached | — | — | — | — |"))
    print()


def summary_field(folder, key):
    path = os.path.join(folder, "summary.json")
    return json.load(open(path)).get(key) if os.path.exists(path) else None


def summary(runs, profiles, seeds, targets):
    """Per profile and seed: each tool's fastest row to the target, and their ratio."""
    print("## Best rows\n")
    print("Per profile and seed, each tool's row that reaches the target first.\n")
    print("| profile | seed | crpsgd's best row | s | PyTorch's best row | s | crpsgd sooner by |")
    print("|---|---|---|---|---|---|---|")
    for profile in profiles:
        for seed in seeds:
            best = {}
            for tool in ("crpsgd", "pytorch"):
                hits = [(reached(r, targets[seed])[0], r["method"]) for r in runs if r["profile"] == profile
                        and r["seed"] == seed and r["tool"] == tool and reached(r, targets[seed])]
                best[tool] = min(hits) if hits else None
            c, p = best["crpsgd"], best["pytorch"]
            ratio = f"{p[0] / c[0]:.2f}×" if c and p else "—"
            print(f"| {PROFILES[profile][0]} | {seed} | {c[1] if c else 'none'} | {f'{c[0]:.1f}' if c else '—'} | "
                  f"{p[1] if p else 'none'} | {f'{p[0]:.1f}' if p else '—'} | {ratio} |")
    print()


def draw(out, runs, profiles, target):
    for terminal, ext in (("svg dynamic font 'Helvetica,11'", "svg"), ("pngcairo font 'Helvetica,10'", "png")):
        plot(out, runs, profiles, target, terminal, ext)


def plot(out, runs, profiles, target, terminal, ext):
    width, height = 440 * len(profiles), 400
    script = [f"set terminal {terminal} size {width},{height}", f"set output '{out}/ddp-accuracy.{ext}'",
              f"set multiplot layout 1,{len(profiles)}", "set logscale x", "set xlabel 'training wall time (s)'",
              "set ylabel 'test accuracy'", "set yrange [0.6:0.92]", "set key bottom right font ',8'", "set grid"]
    for profile in profiles:
        rows = [r for r in runs if r["profile"] == profile]
        plots = [f"{target} with lines dashtype 2 lc rgb 'black' title 'target'"]
        for i, run in enumerate(rows):
            data = os.path.join(out, f"{profile}-{i}.dat")
            with open(data, "w") as f:
                for wall, accuracy, _, _ in run["points"]:
                    f.write(f"{max(wall, 1e-2)} {accuracy}\n")
            style = "dashtype 3" if run["tool"] == "pytorch" else "dashtype 1"
            label = ("PyTorch " if run["tool"] == "pytorch" else "crpsgd ") + run["method"]
            plots.append(f"'{data}' using 1:2 with linespoints {style} pt {i + 1} ps 0.5 title '{label}'")
        script.append(f"set title '{PROFILES[profile][0]}'")
        script.append("plot " + ", ".join(plots))
    script.append("unset multiplot")
    subprocess.run(["gnuplot"], input="\n".join(script), text=True, check=True)


if __name__ == "__main__":
    main()
