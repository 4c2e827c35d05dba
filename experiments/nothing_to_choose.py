"""`crpsgd train --data TRAIN --test-data TEST` and nothing else, against the reference solvers at their defaults.

For each data set (a fixed 70/30 split, written as CSV with a header, LIBSVM and .npy), runs
`mpirun -np 2 crpsgd train` with no flag but the data (and, for regression, --problem leastsq),
and beside it liblinear-train -s 0 and scikit-learn's LogisticRegression (Ridge for regression),
each at its own defaults. Prints a markdown table: test accuracy (R² for regression), wall time,
rounds and samples, and whether crpsgd is within 1 point of both references (R² within 0.02): not more
than that below them (a run above a reference is no miss).

The sets are split in two: `tuning` (heart_scale, breast cancer), on which the defaults of
--budget auto were chosen, and `judged` (wine, iris, diabetes, digits), on which no default
was chosen. See experiments/nothing-to-choose.sh.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris, load_svmlight_file, load_wine
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from your_data import r2, write_sets  # noqa: E402  (the same writers as experiments/your-data.sh)

HEART_SCALE = "/usr/share/doc/liblinear-tools/examples/heart_scale"


def heart_scale(return_X_y=True):
    X, y = load_svmlight_file(HEART_SCALE)
    return X.toarray(), y


SETS = {  # name: (loader, regression, group)
    "heart_scale": (heart_scale, False, "tuning"),
    "breast_cancer": (load_breast_cancer, False, "tuning"),
    "wine": (load_wine, False, "judged"),
    "iris": (load_iris, False, "judged"),
    "diabetes": (load_diabetes, True, "judged"),
    "digits": (load_digits, False, "judged"),
}
FORMATS = ("csv", "libsvm", "npy")


def timed(cmd):
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"nothing-to-choose: {' '.join(cmd)} exited {done.returncode}:\n{done.stderr}")
    return done.stdout, time.perf_counter() - start


def references(out, name, Xtr, ytr, Xte, yte, regression, train, test):
    """scikit-learn and LIBLINEAR at their defaults: (sklearn score, liblinear score or None)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs at its default max_iter may stop early: that is its default
        if regression:
            return r2(yte, Ridge().fit(Xtr, ytr).predict(Xte)), None
        sklearn = LogisticRegression().fit(Xtr, ytr).score(Xte, yte)
    model = os.path.join(out, f"{name}.liblinear-model")
    timed(["liblinear-train", "-s", "0", "-q", train["libsvm"], model])
    predictions = os.path.join(out, f"{name}.liblinear-pred")
    timed(["liblinear-predict", test["libsvm"], model, predictions])
    liblinear = float(np.mean(np.loadtxt(predictions) == yte))
    return sklearn, liblinear


NETWORK_SETS = ("breast_cancer", "wine", "iris")
GRID_STEPS = ("0.003", "0.01", "0.03", "0.1", "0.3", "1")
GRID_BATCHES = ("1", "4", "16")


def networks(args, out):
    """--problem mlp with no --lr, --batch or --rounds against PSGD's best of a grid at the same samples."""
    print("\n`crpsgd train --problem mlp --data TRAIN.csv --test-data TEST.csv --workers 2` and nothing else, "
          "against PSGD at each step of {%s} x batch {%s} at the same samples; test accuracy\n"
          % (", ".join(GRID_STEPS), ", ".join(GRID_BATCHES)))
    print("| set | data | crpsgd (range-test step) | PSGD's best of the grid (step, batch) | within |")
    print("|---|---|---|---|---|")
    missed = []
    for name in NETWORK_SETS:
        group = SETS[name][2]
        train, test = (os.path.join(out, f"{name}.{part}.csv") for part in ("train", "test"))
        if not os.path.exists(train):
            continue  # not among --sets
        common = [args.crpsgd, "train", "--problem", "mlp", "--data", train, "--test-data", test, "--workers", "2",
                  "--quiet", "--overwrite"]
        run_dir = os.path.join(out, f"{name}-mlp")
        timed(common + shlex.split(args.network_extra) + ["--out", run_dir])
        s = json.load(open(os.path.join(run_dir, "summary.json")))
        best = (-1.0, "", "")
        for lr in GRID_STEPS:
            for batch in GRID_BATCHES:
                grid_dir = os.path.join(out, f"{name}-mlp-psgd-{lr}-{batch}")
                done = subprocess.run(common + ["--algo", "psgd", "--batch", batch, "--lr", lr, "--budget",
                                                str(s["budget"]), "--out", grid_dir], capture_output=True)
                if done.returncode != 0:
                    continue  # a diverged step is no candidate
                accuracy = json.load(open(os.path.join(grid_dir, "summary.json")))["test_accuracy"]
                if accuracy > best[0]:
                    best = (accuracy, lr, batch)
        ok = s["test_accuracy"] >= best[0] - 0.01 - 1e-12
        if not ok and group == "judged":
            missed.append(f"{name} mlp")
        print(f"| {group} | {name} | {s['test_accuracy']:.4f} ({s['lr']:.3g}) | {best[0]:.4f} ({best[1]}, "
              f"{best[2]}) | {'yes' if ok else 'NO'} |")
    return missed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--crpsgd", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--extra", default="", help="flags added to every crpsgd run (to try another default)")
    parser.add_argument("--network-extra", default="", help="flags added to the MLP runs (not the grid's)")
    parser.add_argument("--networks", action="store_true", help="also the MLP against PSGD's grid (a few minutes)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    mpirun = ["mpirun", "-np", "2", "--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
    rows, missed = [], []
    for name in args.sets.split(","):
        loader, regression, group = SETS[name]
        X, y = loader(return_X_y=True)
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0)
        train = write_sets(args.out, f"{name}.train", Xtr, ytr, regression)
        test = write_sets(args.out, f"{name}.test", Xte, yte, regression)
        sklearn, liblinear = references(args.out, name, Xtr, ytr, Xte, yte, regression, train, test)
        for fmt in args.formats.split(","):
            run_dir = os.path.join(args.out, f"{name}-{fmt}")
            cmd = mpirun + [args.crpsgd, "train", "--data", train[fmt], "--test-data", test[fmt]]
            cmd += (["--problem", "leastsq"] if regression else []) + shlex.split(args.extra)
            cmd += ["--out", run_dir, "--overwrite", "--quiet", "--save-model"]
            _, wall = timed(cmd)
            s = json.load(open(os.path.join(run_dir, "summary.json")))
            if regression:  # R² of the saved model's predictions
                predictions = os.path.join(run_dir, "predictions")
                timed([args.crpsgd, "predict", "--model", os.path.join(run_dir, "model.liblinear"), "--data",
                       test[fmt], "--out", predictions])
                ours = r2(yte, np.loadtxt(predictions))
                ok = ours >= sklearn - 0.02 - 1e-12  # within: not more than 0.02 below (above is no miss)
            else:
                ours = s["test_accuracy"]
                ok = ours >= sklearn - 0.01 - 1e-12 and ours >= liblinear - 0.01 - 1e-12
            if not ok and group == "judged":
                missed.append(f"{name} {fmt}")
            rows.append((group, name, fmt, "R²" if regression else "accuracy", ours, sklearn, liblinear, ok, wall,
                         s["rounds"], s["sfo_total"], s.get("stopped_by", "")))
    print(f"`mpirun -np 2 crpsgd train --data TRAIN --test-data TEST{(' ' + args.extra) if args.extra else ''}` "
          "(regression: `--problem leastsq`), every other flag at its default, against LIBLINEAR "
          "(`liblinear-train -s 0`) and scikit-learn (`LogisticRegression()`, `Ridge()`) at theirs, on a 70/30 split "
          "of the raw features; within: not more than 1 point below either reference (R²: 0.02 below Ridge's)\n")
    print("| set | data | format | metric | crpsgd | scikit-learn | liblinear | within | crpsgd wall s | rounds | "
          "samples (all workers) | stopped by |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for group, name, fmt, metric, ours, sklearn, liblinear, ok, wall, rounds, samples, stopped in rows:
        lib = "" if liblinear is None else f"{liblinear:.4f}"
        print(f"| {group} | {name} | {fmt} | {metric} | {ours:.4f} | {sklearn:.4f} | {lib} | "
              f"{'yes' if ok else 'NO'} | {wall:.2f} | {rounds} | {samples} | {stopped.split(':')[0]} |")
    if args.networks:
        missed += networks(args, args.out)
    if missed:
        print("\nmissed (judged sets): " + ", ".join(missed), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
