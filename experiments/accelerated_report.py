#!/usr/bin/python3
"""Judges experiments/accelerated.sh: acc-cr-psgd at R/2 rounds against cr-psgd at R.

Each method keeps its best (B1, step) by mean f - f* over the seeds (a
configuration with a diverged seed has no result); auto has one, --lr auto.
Usage: accelerated_report.py OUT_DIR  (markdown on stdout)
"""
import csv
import os
import re
import sys
from collections import defaultdict

PROBLEMS = {"raw": "logistic regression, raw Fashion-MNIST pixels, lambda 1e-4, N = 10",
            "standardised": "logistic regression, standardised Fashion-MNIST pixels, lambda 1e-4, N = 10",
            "leastsq-bad": "least squares, condition 1000, lambda 0, N = 8"}
PAIRS = ((10, 20), (25, 50), (50, 100))  # (acc-cr-psgd's R, cr-psgd's R)


def best_per_algo(path):
    """{algo: (mean f - f*, params, step multiple)} of a sweep's best configuration per algorithm."""
    seeds = defaultdict(list)
    lipschitz = None
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            ok = row["status"] == "ok" and row["f_gap"] != ""
            key = (row["algo"], row["params"].split()[0], row["lr_multiple"] or "auto")
            seeds[key].append(float(row["f_gap"]) if ok else None)
            if ok and row["lr_multiple"] not in ("", "0"):
                lipschitz = float(row["lr_multiple"]) / float(row["lr"])
    best = {}
    for (algo, params, lr), gaps in seeds.items():
        if None in gaps:
            continue
        mean = sum(gaps) / len(gaps)
        if algo not in best or mean < best[algo][0]:
            best[algo] = (mean, params, lr)
    return best, lipschitz


def describe(entry):
    if entry is None:
        return "diverged"
    gap, params, lr = entry
    return f"{gap:.3g} ({params}, {lr}/L)" if lr != "auto" else f"{gap:.3g}"


def main(out):
    cells, lipschitz = {}, {}
    for name in os.listdir(out):
        m = re.fullmatch(r"(.+)-R(\d+)", name)
        path = os.path.join(out, name, "results.csv")
        if m and os.path.exists(path):
            cells[(m[1], int(m[2]))], lipschitz[m[1]] = best_per_algo(path)
    print("| problem | acc-cr-psgd at R/2 (best) | cr-psgd at R (best) | acc / cr-psgd | auto at R | "
          "acc-cr-psgd at R (best) | verdict |")
    print("|---|---|---|---|---|---|---|")
    met = total = 0
    for problem in PROBLEMS:
        for half, full in PAIRS:
            if (problem, half) not in cells or (problem, full) not in cells:
                continue
            acc = cells[(problem, half)].get("acc-cr-psgd")
            cr = cells[(problem, full)].get("cr-psgd")
            auto = cells[(problem, full)].get("auto")
            acc_full = cells[(problem, full)].get("acc-cr-psgd")
            ratio = acc[0] / cr[0] if acc and cr else None
            total += 1
            met += ratio is not None and ratio <= 1.0
            verdict = ("no result" if ratio is None else
                       "reaches it in half the rounds" if ratio <= 1.0 else "does not")
            ratio_text = "—" if ratio is None else f"{ratio:.2f}×"
            print(f"| {problem} | {half}: {describe(acc)} | {full}: {describe(cr)} | {ratio_text} | "
                  f"{describe(auto)} | {describe(acc_full)} | {verdict} |")
    print()
    for problem, text in PROBLEMS.items():
        if lipschitz.get(problem):
            kappa = lipschitz[problem] / 1e-4 if problem != "leastsq-bad" else None
            extra = f", kappa-hat = L-hat/lambda = {kappa:.3g}" if kappa else ""
            print(f"- {problem}: {text}; L-hat = {lipschitz[problem]:.4g}{extra}")
    print()
    print(f"acc-cr-psgd at R/2 reaches cr-psgd's f - f* at R in {met} of {total} cells.")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out/accelerated")
