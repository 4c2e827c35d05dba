#!/usr/bin/env bash
# The paper's first experiment with figures: logistic regression on
# Fashion-MNIST (class 0 against the rest, lambda = 1e-4), N = 10, T = 6000,
# seeds 1-3, each method at the best step of the main job's grid
# (experiments/logreg-fashion-mnist.json). About a minute on 2 cores.
exec bash "$(dirname "$0")/run.sh" logreg-fashion-mnist "$@"
