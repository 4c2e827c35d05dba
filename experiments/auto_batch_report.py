#!/usr/bin/python3
"""Judges experiments/auto-batch.sh: one row per cell, from each sweep's results.csv.

A cell is (problem, N, T, gamma). In it, every configuration's f - f* and
rounds are averaged over the seeds; a configuration with a diverged seed has
no result. Criteria (issue 17's acceptance):
  1. auto's mean f - f* <= 1.25 x the best grid point whose mean rounds are
     no more than auto's;
  2. auto's mean rounds <= 2 x those of rho = 1.04, B1 = 1.
Usage: auto_batch_report.py OUT_DIR  (markdown on stdout)
"""
import csv
import os
import re
import sys
from collections import defaultdict

GAP_FACTOR = 1.25
ROUNDS_FACTOR = 2.0
REFERENCE = "B1=1 rho=1.04"
AUTO = "rho=auto"  # B1 = 1, or the stable first batch it is raised to
PROBLEM_ORDER = {"raw": 0, "standardised": 1, "leastsq": 2}


def read_runs(path):
    """{(algo, params, lr_multiple): [(gap, rounds) or None per seed]} of a sweep's results.csv.

    --rho auto may start from a larger B1 at the larger step: its runs are one
    configuration, AUTO, whatever B1 they ran with.
    """
    runs = defaultdict(list)
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            ok = row["status"] == "ok" and row["f_gap"] != ""
            params = AUTO if row["params"].endswith(AUTO) else row["params"]
            runs[(row["algo"], params, float(row["lr_multiple"]))].append(
                (float(row["f_gap"]), int(row["rounds"])) if ok else None)
    return runs


def read_cell(path):
    """{lr_multiple: {params: seeds}} of CR-PSGD's runs (the baselines are for the figures)."""
    cell = defaultdict(dict)
    for (algo, params, lr), seeds in read_runs(path).items():
        if algo == "cr-psgd":
            cell[lr][params] = seeds
    return cell


def mean(values):
    return sum(values) / len(values)


def summarise(seeds):
    """(mean gap, mean rounds), or None when a seed diverged."""
    if any(s is None for s in seeds):
        return None
    return mean([s[0] for s in seeds]), mean([s[1] for s in seeds])


def main():
    out = sys.argv[1]
    cells = []
    for name in os.listdir(out):
        m = re.fullmatch(r"(\w+)-N(\d+)-T(\d+)", name)
        path = os.path.join(out, name, "results.csv")
        if m and os.path.exists(path):
            cells.append((PROBLEM_ORDER.get(m[1], 9), m[1], int(m[2]), int(m[3]), path))
    cells.sort()
    print("| problem | N | T | γ·L̂ | auto f − f* | auto rounds | best grid point with ≤ auto's rounds | "
          "its f − f* | auto ÷ best | best grid point overall (rounds) | ρ=1.04, B₁=1: f − f* (rounds) | verdict |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    passed = total = 0
    for _, problem, n, t, path in cells:
        for lr, configs in sorted(read_cell(path).items()):
            total += 1
            stats = {p: summarise(s) for p, s in configs.items()}
            auto = stats.get(AUTO)
            reference = stats.get(REFERENCE)
            grid = {p: s for p, s in stats.items() if p != AUTO and s is not None}
            overall = min(grid.items(), key=lambda kv: kv[1][0]) if grid else None
            overall_text = f"{overall[0]}: {overall[1][0]:.4g} ({overall[1][1]:.0f})" if overall else "—"
            reference_text = f"{reference[0]:.4g} ({reference[1]:.0f})" if reference else "diverged"
            if auto is None:
                print(f"| {problem} | {n} | {t} | {lr:g} | diverged | — | — | — | — | {overall_text} | "
                      f"{reference_text} | **fails**: auto diverged |")
                continue
            within = {p: s for p, s in grid.items() if s[1] <= auto[1]}
            best = min(within.items(), key=lambda kv: kv[1][0]) if within else None
            ratio = auto[0] / best[1][0] if best else None
            reasons = []
            if best and ratio > GAP_FACTOR:
                reasons.append(f"f − f* {ratio:.2f}× the best")
            if reference is None:
                reasons.append("ρ=1.04, B₁=1 diverged")
            elif auto[1] > ROUNDS_FACTOR * reference[1]:
                reasons.append(f"rounds {auto[1] / reference[1]:.2f}× ρ=1.04's")
            verdict = "passes" if not reasons else "**fails**: " + "; ".join(reasons)
            passed += not reasons
            best_text = (f"{best[0]} ({best[1][1]:.0f} rounds)", f"{best[1][0]:.4g}", f"{ratio:.2f}×") if best \
                else ("none with as few rounds", "—", "—")
            print(f"| {problem} | {n} | {t} | {lr:g} | {auto[0]:.4g} | {auto[1]:.1f} | {best_text[0]} | "
                  f"{best_text[1]} | {best_text[2]} | {overall_text} | {reference_text} | {verdict} |")
    print(f"\n{passed} of {total} cells pass both criteria (f − f* within {GAP_FACTOR}× of the best grid point "
          f"with no more rounds; rounds within {ROUNDS_FACTOR:g}× of ρ = 1.04, B₁ = 1). Means over the seeds.")


if __name__ == "__main__":
    main()
