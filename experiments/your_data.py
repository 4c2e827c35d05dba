"""crpsgd on scikit-learn's bundled data sets, against scikit-learn itself.

Writes wine, iris and diabetes (a fixed 70/30 split) as LIBSVM, CSV, .npy and .npz,
trains each with `mpirun -np 2 crpsgd train`, scores the saved model with
liblinear-predict and `crpsgd predict`, and prints a markdown table. See
experiments/your-data.sh.
"""
import argparse
import json
import os
import re
import subprocess
import sys

import numpy as np
from sklearn.datasets import load_diabetes, load_iris, load_wine
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

LAMBDA = 1e-4  # crpsgd's default --lambda
SETS = [("wine", load_wine, "logreg"), ("iris", load_iris, "logreg"), ("diabetes", load_diabetes, "leastsq")]
# The method the README recommends for each problem (from the project's own
# matched-round measurements): local SGD for logistic regression, the growing
# batch for least squares. Its row must match scikit-learn.
RECOMMENDED = {"logreg": "local-sgd", "leastsq": "cr-psgd"}


def label_text(y, regression):
    return "%.17g" % y if regression else "%d" % y


def write_sets(folder, name, X, y, regression):
    paths = {}
    for fmt in ("libsvm", "csv", "npy", "npz"):
        paths[fmt] = os.path.join(folder, f"{name}.{fmt}")
        if fmt == "npy":
            np.save(paths[fmt], np.column_stack([y, X]))
            continue
        if fmt == "npz":
            np.savez_compressed(paths[fmt], x=X, y=y)
            continue
        with open(paths[fmt], "w") as f:
            if fmt == "csv":
                f.write("target," + ",".join(f"f{j}" for j in range(X.shape[1])) + "\n")
            for xi, yi in zip(X, y):
                if fmt == "csv":
                    f.write(label_text(yi, regression) + "," + ",".join("%.17g" % v for v in xi) + "\n")
                else:
                    feats = " ".join(f"{j + 1}:{v:.17g}" for j, v in enumerate(xi) if v != 0)
                    f.write(label_text(yi, regression) + " " + feats + "\n")
    return paths


def r2(y, p):
    return 1.0 - np.sum((y - p) ** 2) / np.sum((y - np.mean(y)) ** 2)


def run(cmd):
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"your-data: {' '.join(cmd)} exited {done.returncode}:\n{done.stderr}")
    return done.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--crpsgd", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--budget", type=int, default=20000)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    mpirun = ["mpirun", "-np", "2", "--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
    rows, failed = [], []
    for name, loader, problem in SETS:
        regression = problem == "leastsq"
        X, y = loader(return_X_y=True)
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0)
        scaler = StandardScaler().fit(Xtr)
        n = len(ytr)
        if regression:
            ref = Ridge(alpha=n * LAMBDA).fit(scaler.transform(Xtr), ytr)
            reference = r2(yte, ref.predict(scaler.transform(Xte)))
        else:
            ref = LogisticRegression(C=1.0 / (n * LAMBDA), max_iter=10000).fit(scaler.transform(Xtr), ytr)
            reference = ref.score(scaler.transform(Xte), yte)
        train = write_sets(args.out, f"{name}.train", Xtr, ytr, regression)
        test = write_sets(args.out, f"{name}.test", Xte, yte, regression)
        for fmt in ("libsvm", "csv", "npy", "npz"):
            scores = {}
            for algo in ("local-sgd", "cr-psgd"):
                run_dir = os.path.join(args.out, f"{name}-{fmt}-{algo}")
                run(mpirun + [args.crpsgd, "train", "--algo", algo, "--problem", problem, "--data", train[fmt],
                              "--test-data", test[fmt], "--budget", str(args.budget), "--save-model", "--out", run_dir, "--overwrite", "--quiet"])
                summary = json.load(open(os.path.join(run_dir, "summary.json")))
                model = os.path.join(run_dir, "model.liblinear")
                theirs_file, ours_file = os.path.join(run_dir, "liblinear.pred"), os.path.join(run_dir, "crpsgd.pred")
                theirs = run(["liblinear-predict", test["libsvm"], model, theirs_file])
                ours = run([args.crpsgd, "predict", "--model", model, "--data", test[fmt], "--out", ours_file])
                if regression:
                    predicted = np.loadtxt(ours_file)
                    scores[algo] = r2(yte, predicted)
                    same = np.allclose(predicted, np.loadtxt(theirs_file), rtol=0, atol=1e-9)
                    counts = "MSE %s / %s" % (re.search(r"Mean squared error = (\S+)", theirs).group(1),
                                              re.search(r"Mean squared error = (\S+)", ours).group(1))
                else:
                    scores[algo] = summary["test_accuracy"]
                    theirs_count = re.search(r"\((\d+/\d+)\)", theirs).group(1)
                    ours_count = re.search(r"\((\d+/\d+)\)", ours).group(1)
                    counts = f"{theirs_count} / {ours_count}"
                    same = theirs_count == ours_count
                if algo == RECOMMENDED[problem]:
                    tolerance = 0.02 if regression else 0.01 + 1e-12
                    ok = abs(scores[algo] - reference) <= tolerance and same
                    recommended_counts = counts
                    if not ok:
                        failed.append(f"{name} {fmt}")
                elif not same:
                    failed.append(f"{name} {fmt} cr-psgd: predictions differ")
            default_ok = abs(scores["cr-psgd"] - reference) <= (0.02 if regression else 0.01 + 1e-12)
            rows.append((name, fmt, "R²" if regression else "accuracy", scores["local-sgd"], scores["cr-psgd"],
                         reference, recommended_counts, ok, default_ok))
    print(f"crpsgd (mpirun -np 2, every flag at its default but --algo, T = {args.budget} samples per worker) "
          f"against scikit-learn (StandardScaler, then LogisticRegression or Ridge) at lambda = {LAMBDA}, on a "
          f"70/30 split; in bold the method recommended for the problem (local SGD for logistic regression, "
          f"CR-PSGD for least squares); cr-psgd is also train's default --algo\n")
    print("| data | format | metric | local-sgd | cr-psgd | scikit-learn | liblinear-predict / crpsgd predict "
          "(recommended method's model) | recommended method within | default (cr-psgd) within |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, fmt, metric, local, cr, reference, counts, ok, default_ok in rows:
        local_text, cr_text = f"{local:.4f}", f"{cr:.4f}"
        if metric == "accuracy":
            local_text = f"**{local_text}**"
        else:
            cr_text = f"**{cr_text}**"
        print(f"| {name} | {fmt} | {metric} | {local_text} | {cr_text} | {reference:.4f} | {counts} | "
              f"{'yes' if ok else 'NO'} | {'yes' if default_ok else 'no'} |")
    if failed:
        print("\nmissed: " + ", ".join(failed), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
