#!/usr/bin/python3
"""Judges experiments/fewest-rounds.sh: a row per (problem, R), a figure per problem.

In each cell every configuration's f - f* (test error, 1 - accuracy, for the
network) is averaged over the seeds; one with a diverged seed has no result.
Each baseline (psgd, local-sgd, cr-psgd) keeps its best configuration (grid
point and step); auto has one, at --lr auto, or for the network (no L-hat) at
the step PSGD's grid found best. Criteria (issue 30's acceptance): auto's mean
<= 1.0x the best baseline's in at least two thirds of the cells, and <= 1.25x
in every cell.
Usage: fewest_rounds_report.py OUT_DIR  (markdown on stdout; figures in OUT_DIR/figures)
"""
import csv
import os
import re
import subprocess
import sys
from collections import defaultdict

BASELINES = ("psgd", "local-sgd", "cr-psgd")
PROBLEMS = {"raw": "logistic regression, raw Fashion-MNIST pixels, N = 10",
            "standardised": "logistic regression, standardised Fashion-MNIST pixels, N = 10",
            "leastsq-well": "least squares, condition 5, N = 8",
            "leastsq-bad": "least squares, condition 1000, N = 8",
            "cnn": "the scripted CNN of examples/your-own-model, one epoch, N = 2 (test error)",
            "wine": "multinomial logistic regression, scikit-learn's wine, N = 2 (untuned)",
            "iris": "multinomial logistic regression, scikit-learn's iris, N = 2 (untuned)",
            "diabetes": "least squares, scikit-learn's diabetes, N = 2 (untuned)"}
ALL_CELLS, EVERY_CELL = 1.0, 1.25


def configurations(path):
    """{algo: {(params, step): mean f - f* (or test error) or None}} of a sweep's results.csv.

    The step is the multiple of 1/L-hat, or the step itself where the run gave one (the network)."""
    seeds = defaultdict(list)
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            gap = row["f_gap"] if row["f_gap"] != "" else (
                str(1.0 - float(row["test_accuracy"])) if row["test_accuracy"] != "" else "")
            ok = row["status"] == "ok" and gap != ""
            # The fitted parameters (rho, I, B) follow R; the grid point is the
            # first word (B1=, b=) and the step.
            key = (row["algo"], row["params"].split()[0], float(row["lr_multiple"] or row["lr"] or 0))
            seeds[key].append(float(gap) if ok else None)
    result = defaultdict(dict)
    for (algo, params, lr), gaps in seeds.items():
        result[algo][(params, lr)] = None if None in gaps else sum(gaps) / len(gaps)
    return result


def best(configs):
    """(gap, params, lr) of the best configuration with a result, or None."""
    scored = [(gap, params, lr) for (params, lr), gap in configs.items() if gap is not None]
    return min(scored) if scored else None


def main(out):
    cells = []
    for name in sorted(os.listdir(out)):
        m = re.fullmatch(r"(.+)-R(\d+)", name)
        path = os.path.join(out, name, "results.csv")
        if m and os.path.exists(path):
            cells.append((m[1], int(m[2]), configurations(path)))
    order = list(PROBLEMS)
    cells.sort(key=lambda c: (order.index(c[0]) if c[0] in order else len(order), c[1]))
    print("| problem | R | psgd (best) | local-sgd (best) | cr-psgd (best) | auto | auto / best | verdict |")
    print("|---|---|---|---|---|---|---|---|")
    ratios, series = [], defaultdict(lambda: defaultdict(list))
    for problem, rounds, configs in cells:
        cols, best_gap = [], None
        step = "lr {:g}" if problem == "cnn" else "{:g}/L"
        for algo in BASELINES:
            b = best(configs.get(algo, {}))
            cols.append("diverged" if b is None else f"{b[0]:.3g} ({b[1]}, {step.format(b[2])})")
            if b is not None:
                best_gap = b[0] if best_gap is None else min(best_gap, b[0])
                series[problem][algo].append((rounds, b[0]))
        auto_configs = configs.get("auto", {})
        if problem == "cnn":  # no L-hat: auto takes PSGD's best step
            psgd = best(configs.get("psgd", {}))
            auto_configs = {k: g for k, g in auto_configs.items() if psgd is not None and k[1] == psgd[2]}
        auto = best(auto_configs)
        if auto is not None:
            series[problem]["auto"].append((rounds, auto[0]))
        ratio = auto[0] / best_gap if auto is not None and best_gap else None
        ratios.append(ratio)
        verdict = ("no result" if ratio is None else "best" if ratio <= ALL_CELLS
                   else "within 1.25x" if ratio <= EVERY_CELL else "FAILS (> 1.25x)")
        auto_text = "diverged" if auto is None else f"{auto[0]:.3g}"
        ratio_text = "—" if ratio is None else f"{ratio:.2f}×"
        print(f"| {problem} | {rounds} | " + " | ".join(cols) + f" | {auto_text} | {ratio_text} | {verdict} |")
    judged = [r for r in ratios if r is not None]
    at_most_one = sum(r <= ALL_CELLS for r in judged)
    every = all(r is not None and r <= EVERY_CELL for r in ratios)
    two_thirds = bool(ratios) and 3 * at_most_one >= 2 * len(ratios)
    print()
    print(f"auto <= 1.0x the best baseline in {at_most_one} of {len(ratios)} cells "
          f"({'at least' if two_thirds else 'fewer than'} two thirds); "
          f"<= 1.25x in {'every cell' if every else 'not every cell'}: "
          f"{'PASSES' if two_thirds and every else 'does NOT pass'} issue 30's criterion.")
    draw(out, series)


def draw(out, series):
    figures = os.path.join(out, "figures")
    os.makedirs(figures, exist_ok=True)
    for problem, by_algo in series.items():
        names = [a for a in ("auto",) + BASELINES if a in by_algo]
        with open(os.path.join(figures, problem + ".dat"), "w") as f:
            for algo in names:
                f.write(f"# {algo}\n")
                for rounds, gap in sorted(by_algo[algo]):
                    f.write(f"{rounds} {gap:.6g}\n")
                f.write("\n\n")
        styles = {"auto": "linespoints pt 5 ps 1.8 lw 2.5 lc rgb 'black'",
                  "psgd": "linespoints pt 9 ps 1.2 lw 2 dt 2 lc rgb '#d62728'",
                  "local-sgd": "linespoints pt 11 ps 1.2 lw 2 dt 3 lc rgb '#2ca02c'",
                  "cr-psgd": "linespoints pt 7 ps 1.2 lw 2 lc rgb '#1f77b4'"}
        titles = {"auto": "auto (defaults)", "psgd": "PSGD (best step)",
                  "local-sgd": "local SGD (best b, step)", "cr-psgd": "CR-PSGD (best B1, step)"}
        plots = ", ".join(f"'{problem}.dat' index {i} using 1:2 with {styles[a]} title '{titles[a]}'"
                          for i, a in enumerate(names))
        measure = "test error" if problem == "cnn" else "f − f*"
        script = f"""cd '{os.path.abspath(figures)}'
set terminal pngcairo size 900,560
set output '{problem}.png'
set key top right
set grid
set logscale xy
set format x '%g'
set format y '%g'
set xtics (20, 50, 100)
set xrange [15:130]
set xlabel 'communication rounds R (every method spends the same T samples per worker)'
set ylabel '{measure} at the end (mean over seeds)'
set title "{PROBLEMS.get(problem, problem)}" noenhanced
plot {plots}
"""
        with open(os.path.join(figures, problem + ".gp"), "w") as f:
            f.write(script)
        subprocess.run(["gnuplot", os.path.join(figures, problem + ".gp")], check=True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: fewest_rounds_report.py OUT_DIR")
    main(sys.argv[1])
