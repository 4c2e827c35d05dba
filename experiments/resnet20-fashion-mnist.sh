#!/usr/bin/env bash
# The paper's second experiment on the data at hand: ResNet-20 with N = 8
# workers (threads of one process), one epoch of SFO (T = 7500 samples per
# worker = the 60000 Fashion-MNIST training images once), test accuracy on
# 8000 of the 10000 test images (experiments/resnet20-fashion-mnist.json).
# PSGD and local SGD against CR-PSGD-Catalyst, all at step 0.05 with momentum
# 0.9 and per-channel normalisation. About 8 minutes on 2 cores.
exec bash "$(dirname "$0")/run.sh" resnet20-fashion-mnist "$@"
