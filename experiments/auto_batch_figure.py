#!/usr/bin/python3
"""Figures of experiments/auto-batch.sh: f - f* against rounds at equal SFO.

One PNG per (problem, N, T) cell given: every configuration at its better step
of {1/2, 1}/L-hat (lower mean f - f* over the seeds), one point per
configuration, x = communication rounds, y = mean f - f*. CR-PSGD's rho grid is
a line per B1, --rho auto a single large point, PSGD a line over B and local
SGD a line over I. Points further down and left win; a baseline's line below
CR-PSGD's at the same rounds means the baseline wins there.
Usage: auto_batch_figure.py OUT_DIR FIGURE_DIR CELL... (CELL: e.g. raw-N10-T6000)
"""
import os
import re
import subprocess
import sys
from collections import defaultdict

from auto_batch_report import AUTO, read_runs, summarise  # beside this script

TITLES = {"raw": "logistic regression, raw Fashion-MNIST pixels",
          "standardised": "logistic regression, standardised Fashion-MNIST pixels",
          "leastsq": "least squares, theory-check's generator"}


def best_points(path):
    """{series: [(rounds, gap, label)]}, each configuration at its better step."""
    runs = read_runs(path)
    tried = {algo for algo, _, _ in runs}
    best = {}
    for (algo, params, lr), seeds in runs.items():
        stats = summarise(seeds)
        if stats is None:
            continue
        gap, rounds = stats
        if (algo, params) not in best or gap < best[(algo, params)][1]:
            best[(algo, params)] = (rounds, gap, lr)
    series = defaultdict(list)
    for (algo, params), (rounds, gap, lr) in best.items():
        if algo == "cr-psgd" and params == AUTO:
            name = "CR-PSGD --rho auto"
        elif algo == "cr-psgd":
            name = "CR-PSGD, ρ grid, " + params.split()[0].replace("B1", "B₁")
        elif algo == "psgd":
            name = "PSGD, fixed B"
        else:
            name = "local SGD, b = 1, period I"
        series[name].append((rounds, gap, params))
    missing = sorted(algo for algo in tried if not any(a == algo for a, _ in best))
    return {k: sorted(v) for k, v in series.items()}, missing


def draw(out, figures, cell):
    m = re.fullmatch(r"(\w+)-N(\d+)-T(\d+)", cell)
    series, missing = best_points(os.path.join(out, cell, "results.csv"))
    def order(name):  # auto first, then the grid by B1, then the baselines
        b1 = re.search(r"B₁=(\d+)", name)
        return (0 if "auto" in name else 1 if b1 else 2, int(b1[1]) if b1 else 0, name)
    names = sorted(series, key=order)
    os.makedirs(figures, exist_ok=True)
    data = os.path.join(figures, cell + ".dat")
    with open(data, "w") as f:
        for name in names:
            points = series[name]
            f.write(f"# {name}\n")
            for rounds, gap, params in points:
                f.write(f"{rounds:.6g} {gap:.6g} \"{params}\"\n")
            f.write("\n\n")
    styles = []
    for i, name in enumerate(names):
        style = "linespoints pt 7 ps 0.9 lw 1.5"
        if "auto" in name:
            style = "points pt 5 ps 2.2 lc rgb 'black'"
        elif "PSGD, fixed" in name:
            style = "linespoints pt 9 ps 1.2 lw 2 dt 2 lc rgb '#d62728'"
        elif "local" in name:
            style = "linespoints pt 11 ps 1.2 lw 2 dt 3 lc rgb '#2ca02c'"
        styles.append(f"'{cell}.dat' index {i} using 1:2 with {style} title \"{name}\"")
    title = (f"{TITLES.get(m[1], m[1])}: N = {m[2]}, T = {m[3]} per worker\\n"
             f"f − f* at the end against rounds (equal SFO, mean over the seeds, each at its better step)")
    names_of = {"local-sgd": "local SGD (b = 1, every I)", "psgd": "PSGD (every B)"}
    if missing:
        title += "\\n" + ", ".join(names_of.get(a, a) for a in missing) + ": diverged at both steps"
    script = f"""cd '{os.path.abspath(figures)}'
set terminal pngcairo size 1200,600
set output '{cell}.png'
set key outside right top vertical reverse Left samplen 2 spacing 1.2
set grid
set autoscale fix
set offsets graph 0.05, graph 0.05, graph 0.08, graph 0.08
set logscale xy
set format x '%g'
set format y '%g'
set xlabel 'communication rounds (log scale)'
set ylabel 'f − f* after T samples per worker (log scale)'
set title "{title}" noenhanced
plot {", ".join(styles)}
"""
    with open(os.path.join(figures, cell + ".gp"), "w") as f:
        f.write(script)
    subprocess.run(["gnuplot", os.path.join(figures, cell + ".gp")], check=True)


def main():
    out, figures, cells = sys.argv[1], sys.argv[2], sys.argv[3:]
    for cell in cells:
        draw(out, figures, cell)


if __name__ == "__main__":
    main()
