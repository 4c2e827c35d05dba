#!/usr/bin/env bash
# The main job: the paper's first experiment at small scale.
#
# l2-regularised logistic regression (lambda = 1e-4) on Fashion-MNIST, class 0
# (T-shirt/top) against the rest, pixels standardised (mean 0, std 1 over the
# training set: a better-conditioned f, on which a hundred large steps go as
# far as thousands of small ones); N = 10 workers;
# every method gets the same per-worker budget T = 6000 samples (one pass over
# the 60000 training images) and runs at each step of the grid {1/2,1,2,4,8}/L,
# for seeds 1, 2 and 3. The table shows each method at its best step (lowest
# mean final loss over the seeds). Beside the paper's three runs: PSGD with
# B = 57 and local SGD with I = 57, the rounds of CR-PSGD (T/57 = 106 against
# 105: matched rounds), and CR-PSGD with --rho auto (no rho to tune). Outputs: out/main-job/{table.md,results.csv}
# and each run's metrics.jsonl and summary.json.
#
# Usage: [SEEDS=1] [BUDGET=600] scripts/main-job.sh [extra crpsgd sweep flags, e.g. --quiet]
# (SEEDS and BUDGET make a quick look; docs/experiments.md's table is of the defaults.)
set -euo pipefail
cd "$(dirname "$0")/.."
data=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
[ -f "$data" ] || { echo "main-job: $data is missing: run scripts/install-deps.sh" >&2; exit 2; }
[ -x build/crpsgd ] || { echo "main-job: build/crpsgd is missing: run scripts/build.sh" >&2; exit 2; }
# One thread per worker; 10 workers share this machine's cores.
./build/crpsgd sweep \
  --problem logreg --data "$data" --positive-class 0 --normalize --lambda 1e-4 \
  --workers 10 --backend inproc --budget "${BUDGET:-6000}" --lr-grid 0.5,1,2,4,8 --seeds "${SEEDS:-1,2,3}" \
  --run psgd:batch=1 \
  --run local-sgd:batch=1,sync-period=10 \
  --run cr-psgd:b1=4,rho=1.04 \
  --run psgd:batch=57 \
  --run local-sgd:batch=1,sync-period=57 \
  --run cr-psgd:rho=auto \
  --out out/main-job --overwrite "$@"   # a rerun replaces the last one
echo "main-job: table in out/main-job/table.md, every run in out/main-job/seed-*/" >&2
