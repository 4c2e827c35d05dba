#!/usr/bin/python3
"""Writes one of scikit-learn's bundled data sets as a CSV table, label first,
with a header: sklearn_table.py NAME FILE (NAME: wine, iris, digits, diabetes,
breast_cancer). The whole set: experiments that judge f - f* on the training
objective need no test split."""
import sys

from sklearn import datasets

if len(sys.argv) != 3:
    sys.exit("usage: sklearn_table.py NAME FILE")
name, path = sys.argv[1:]
X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
with open(path, "w") as f:
    f.write("target," + ",".join(f"f{j}" for j in range(X.shape[1])) + "\n")
    for xi, yi in zip(X, y):
        f.write(f"{yi:.17g}," + ",".join(f"{v:.17g}" for v in xi) + "\n")
