#!/usr/bin/python3
"""The tuning network of experiments/auto-tuning-network.sh: a small CNN with
batch norm on scikit-learn's 8x8 digits (ten classes), scripted with
TorchScript (seed 1), and the digits as tensor files split by a seeded
permutation (1397 training, 400 test images).

  make_digits_cnn.py OUT_DIR   writes OUT_DIR/net.pt, OUT_DIR/train.pt, OUT_DIR/test.pt

Runs with Debian's python3-torch and python3-sklearn (/usr/bin/python3).
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits



class DigitsCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.fc1 = nn.Linear(16 * 4 * 4, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)  # 4 x 4
        return self.fc2(F.relu(self.fc1(x.flatten(1))))



def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(1)  # the starting point crpsgd trains from
    torch.jit.script(DigitsCNN()).save(os.path.join(out, "net.pt"))
    digits = load_digits()  # pixels 0..16, as uint8 0..255 for --normalize
    x = torch.tensor(digits.images * 16, dtype=torch.float32).clamp(0, 255).to(torch.uint8).view(-1, 1, 8, 8)
    y = torch.tensor(digits.target, dtype=torch.int64)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    train, test = order[:1397], order[1397:]
    torch.save({"x": x[train].clone(), "y": y[train].clone()}, os.path.join(out, "train.pt"))
    torch.save({"x": x[test].clone(), "y": y[test].clone()}, os.path.join(out, "test.pt"))


if __name__ == "__main__":
    main(sys.argv[1])
