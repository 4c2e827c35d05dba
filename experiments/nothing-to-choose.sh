#!/usr/bin/env bash
# Nothing to choose: `mpirun -np 2 crpsgd train --data TRAIN --test-data TEST` and no other
# flag (regression: --problem leastsq), on scikit-learn's wine, iris, diabetes and digits and
# on the tuning sets heart_scale and breast cancer (CSV with a header, LIBSVM and .npy), against
# liblinear-train -s 0 and scikit-learn's LogisticRegression / Ridge at their defaults.
# experiments/nothing_to_choose.py prints the table (accuracy or R², wall time, rounds, samples)
# and exits 1 when a judged set misses: test accuracy within 1 point of both references, R²
# within 0.02 of Ridge.
#
# NETWORKS=1 adds --problem mlp with no --lr, --batch or --rounds on breast cancer, wine and iris
# (CSV), against PSGD at each of 6 steps x 3 batches at the same samples (test accuracy within
# 1 point of the grid's best); NETWORK_EXTRA adds flags to those runs only (not the grid's).
#
# 35 s on 2 cores (NETWORKS=1: about 3 minutes more). Needs python3-sklearn and liblinear-tools
# (Debian). Usage:
#   [OUT=out/nothing-to-choose] [SETS=wine,iris] [FORMATS=csv] [EXTRA="--epochs 5"] [NETWORKS=1] \
#     [NETWORK_EXTRA="--lr auto*0.5"] \
#     experiments/nothing-to-choose.sh
set -euo pipefail
cd "$(dirname "$0")/.."
crpsgd=${CRPSGD:-./build/crpsgd}
[ -x "$crpsgd" ] || { echo "nothing-to-choose: $crpsgd is missing: run scripts/build.sh" >&2; exit 2; }
/usr/bin/python3 -c "import sklearn" 2>/dev/null ||
  { echo "nothing-to-choose: needs scikit-learn: apt-get install python3-sklearn" >&2; exit 2; }
command -v liblinear-train > /dev/null ||
  { echo "nothing-to-choose: needs liblinear-train: apt-get install liblinear-tools" >&2; exit 2; }
args=(--crpsgd "$crpsgd" --out "${OUT:-out/nothing-to-choose}" --extra "${EXTRA:-}")
[ -n "${SETS:-}" ] && args+=(--sets "$SETS")
[ -n "${FORMATS:-}" ] && args+=(--formats "$FORMATS")
[ -n "${NETWORKS:-}" ] && args+=(--networks --network-extra "${NETWORK_EXTRA:-}")
exec /usr/bin/python3 experiments/nothing_to_choose.py "${args[@]}"
