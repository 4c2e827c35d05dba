#!/usr/bin/python3
"""The table and figure of bench/network/ddp.sh: per link profile, each run's
time, rounds and bytes until its test accuracy first reaches the target (DDP
psgd's final accuracy on the first profile, less one point), against DDP
psgd's, and the alpha-beta model's communication time beside each row.

  ddp_report.py OUT_DIR "MACHINE" BUDGET > ddp_results.md   (also OUT_DIR/ddp-accuracy.svg)
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


def main():
    out, machine, budget = sys.argv[1], sys.argv[2], sys.argv[3]
    runs = list(csv.DictReader(open(os.path.join(out, "runs.tsv")), delimiter="\t"))
    for run in runs:
        run["points"] = evaluations(run["dir"])
    profiles = [p for p in PROFILES if any(r["profile"] == p for r in runs)]
    reference = next(r for r in runs if r["profile"] == profiles[0] and r["tool"] == "pytorch"
                     and r["method"].startswith("psgd"))
    target = reference["points"][-1][1] - 0.01
    print("# crpsgd against PyTorch DDP, end to end, across link profiles\n")
    print(f"Output of `bash bench/network/ddp.sh` on {machine}: 2 hosts of the test cluster (network "
          "namespaces, one rank each, one thread), the scripted CNN of examples/your-own-model (20 538 "
          f"parameters, batch norm) on Fashion-MNIST, T = {budget} samples per worker (one pass), B = 32, "
          "step 0.01, momentum 0.9, the same starting weights. PyTorch: DistributedDataParallel (gloo, its "
          "defaults) for psgd, its parameters and batch-norm statistics averaged in one all-reduce every I "
          "steps for local SGD. Test accuracy on all 10 000 test images, taken with the clock stopped. "
          f"Target: DDP psgd's final accuracy at {PROFILES[profiles[0]][0]} less one point = "
          f"**{target:.4f}**. The wan profile's delay is emulated in user space "
          "(scripts/testcluster/wan_switch.py; this kernel has no sch_netem).\n")
    print("α-β: the communication time the α-β model predicts for the run's rounds and bytes (ring "
          "all-reduce, 2(N−1) messages of bytes/N per round, α the one-way latency, β the link rate); "
          "wall time is training only.\n")
    for profile in profiles:
        name, alpha, beta = PROFILES[profile]
        rows = [r for r in runs if r["profile"] == profile]
        base = next((r for r in rows if r["tool"] == "pytorch" and r["method"].startswith("psgd")), None)

        def reached(run):
            return next((p for p in run["points"] if p[1] >= target), None)

        base_time = reached(base)[0] if base and reached(base) else None
        print(f"## {name}\n")
        print("| tool | method | rounds | bytes sent per worker | final accuracy | wall s | α-β comm s | "
              "time to target s | rounds to target | bytes to target | time to target vs DDP psgd |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for run in rows:
            wall, accuracy, rounds, sent = run["points"][-1]
            hit = reached(run)
            ratio = f"{base_time / hit[0]:.2f}× faster" if hit and base_time else "—"
            if hit and base_time and hit[0] > base_time:
                ratio = f"{hit[0] / base_time:.2f}× slower"
            if run is base:
                ratio = "(the reference)"
            print(f"| {'PyTorch' if run['tool'] == 'pytorch' else 'crpsgd'} | {run['method']} | {rounds} | "
                  f"{sent:,} | {accuracy:.4f} | {wall:.1f} | {alpha_beta(rounds, sent, alpha, beta):.1f} | "
                  + (f"{hit[0]:.1f} | {hit[2]} | {hit[3]:,} | {ratio} |" if hit else "not reached | — | — | — |"))
        print()
    draw(out, runs, profiles, target)


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
