#!/usr/bin/env bash
# Your data as it is: scikit-learn's wine, iris and diabetes, written as
# LIBSVM, CSV (with a header), NumPy .npy and .npz, trained by crpsgd under
# mpirun -np 2 and by scikit-learn at the same lambda, and each saved linear
# model scored by liblinear-predict and by crpsgd predict.
#
# crpsgd runs local-sgd and cr-psgd, each with every flag at its default
# (--lr auto, lambda = 1e-4, --standardize auto and --bias auto, which
# standardize these tables and fit an intercept as scikit-learn's
# StandardScaler and fit_intercept do) and a budget of BUDGET samples per
# worker. The reference: StandardScaler, then
# LogisticRegression(C = 1/(n lambda)) (multinomial) or Ridge(alpha = n lambda).
# experiments/your_data.py prints the table and exits 1 when a row misses:
# the recommended method's (local-sgd for logreg, cr-psgd for leastsq) test accuracy
# within 1 point (R^2 within 0.02 for diabetes) of scikit-learn,
# and the same correct count from liblinear-predict and crpsgd predict.
#
# About a minute on 2 cores. Needs python3-sklearn (Debian). Usage:
#   [BUDGET=20000] [OUT=out/your-data] experiments/your-data.sh
set -euo pipefail
cd "$(dirname "$0")/.."
crpsgd=${CRPSGD:-./build/crpsgd}
[ -x "$crpsgd" ] || { echo "your-data: $crpsgd is missing: run scripts/build.sh" >&2; exit 2; }
/usr/bin/python3 -c "import sklearn" 2>/dev/null ||
  { echo "your-data: needs scikit-learn: apt-get install python3-sklearn" >&2; exit 2; }
exec /usr/bin/python3 experiments/your_data.py --crpsgd "$crpsgd" --out "${OUT:-out/your-data}" \
  --budget "${BUDGET:-20000}"
