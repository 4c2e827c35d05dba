#!/usr/bin/python3
"""Progress, table and figures of experiments/resnet20-long.sh.

  resnet20_long_report.py progress OUT RUN...      how far each run is
  resnet20_long_report.py table OUT RUN...         the Markdown table (stdout)
  resnet20_long_report.py figures OUT FIGDIR RUN...  test accuracy against SFO and rounds

A run is the folder OUT/RUN written by `crpsgd train`: metrics.jsonl (one line
a round, test_accuracy on evaluated rounds) and, once finished, summary.json.
"Rounds to 85%" is the round of the first evaluation (every half epoch) at or
above 85% test accuracy: an upper bound, to within half an epoch of rounds.
"Training s" is the run's wall time without its evaluations.
"""
import json
import os
import subprocess
import sys

THRESHOLDS = (0.85, 0.90)
EPOCH = 7500  # samples per worker in one pass over the 60 000 images (N = 8)


def read_metrics(folder):
    path = os.path.join(folder, "metrics.jsonl")
    if not os.path.exists(path):
        return []
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:  # a line cut by a kill: the resume rewrites it
                    break
    return rows


def read_summary(folder):
    path = os.path.join(folder, "summary.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def budget_of(folder):
    try:
        with open(os.path.join(folder, "config.toml")) as f:
            for line in f:
                key, _, value = line.partition("=")
                if key.strip() == "budget":
                    return int(value.strip().strip('"'))
    except OSError:
        pass
    return 75000


def progress(out, runs):
    for name in runs:
        folder = os.path.join(out, name)
        summary = read_summary(folder)
        rows = read_metrics(folder)
        if summary:
            print(f"  {name}: done, {summary['rounds']} rounds, test accuracy {summary['test_accuracy']:.4f}",
                  file=sys.stderr)
        elif rows:
            last, budget = rows[-1], budget_of(folder)
            checkpoint = "checkpoint kept" if os.path.exists(os.path.join(folder, "checkpoint", "LATEST")) else "no checkpoint yet"
            print(f"  {name}: round {last['round']}, SFO {last['sfo_per_worker']} of {budget} per worker "
                  f"({100.0 * last['sfo_per_worker'] / budget:.0f}%), {last['wall_s']:.0f} s of training, {checkpoint}",
                  file=sys.stderr)
        else:
            print(f"  {name}: not started", file=sys.stderr)


def evaluations(rows):
    return [r for r in rows if r.get("test_accuracy") is not None]


def rounds_to(evals, threshold):
    for r in evals:
        if r["test_accuracy"] >= threshold:
            return str(r["round"])
    return "—"


def table(out, runs):
    print("| run | algorithm | parameters | seed | final test acc. | best test acc. | rounds | "
          "MB sent/worker | SFO/worker | rounds to 85% | rounds to 90% | training s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in runs:
        folder = os.path.join(out, name)
        s = read_summary(folder)
        if s is None:
            print(f"| {name} | (not finished) | | | | | | | | | | |")
            continue
        evals = evaluations(read_metrics(folder))
        best = max(r["test_accuracy"] for r in evals)
        cells = [name, s["algo"], s["params"], str(s["seed"]), f"{s['test_accuracy']:.4f}", f"{best:.4f}",
                 str(s["rounds"]), f"{s['bytes'] / 1e6:.1f}", str(s["sfo_per_worker"])]
        cells += [rounds_to(evals, t) for t in THRESHOLDS]
        cells.append(f"{s['wall_s']:.0f}")
        print("| " + " | ".join(cells) + " |")


def figures(out, figdir, runs):
    os.makedirs(figdir, exist_ok=True)
    series = []
    for name in runs:
        evals = evaluations(read_metrics(os.path.join(out, name)))
        if not evals:
            continue
        dat = os.path.join(figdir, name + ".dat")
        with open(dat, "w") as f:
            f.write("# epochs (SFO per worker / 7500)  rounds  test_accuracy\n")
            for r in evals:
                f.write(f"{r['sfo_per_worker'] / EPOCH:.6g} {max(r['round'], 1)} {r['test_accuracy']:.6g}\n")
        series.append((name, dat))
    if not series:
        return
    script = os.path.join(figdir, "figures.gp")
    with open(script, "w") as f:
        f.write("set terminal pngcairo size 900,600 noenhanced\nset grid\nset key bottom right\n"
                "set ylabel 'test accuracy (10 000 images)'\nset yrange [0.7:0.95]\n")
        for kind, column, extra in (("sfo", 1, "set xlabel 'epochs (SFO per worker / 7500)'\nunset logscale x\n"),
                                    ("rounds", 2, "set xlabel 'communication rounds'\nset logscale x\n")):
            f.write(extra)
            f.write(f"set output '{os.path.join(figdir, 'test_accuracy_vs_' + kind + '.png')}'\n")
            f.write("set title 'ResNet-20, Fashion-MNIST, N = 8: test accuracy against "
                    + ("SFO" if kind == "sfo" else "rounds") + "'\n")
            plots = [f"'{dat}' using {column}:3 with linespoints title '{name}'" for name, dat in series]
            f.write("plot " + ", \\\n     ".join(plots) + "\n")
    subprocess.run(["gnuplot", script], check=True)


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    command, out = argv[1], argv[2]
    if command == "progress":
        progress(out, argv[3:])
    elif command == "table":
        table(out, argv[3:])
    elif command == "figures" and len(argv) >= 4:
        figures(out, argv[3], argv[4:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
