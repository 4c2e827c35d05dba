#!/usr/bin/python3
"""Your own network for crpsgd: a small CNN with batch norm, scripted with
TorchScript, and Fashion-MNIST written as tensor files.

  make_model.py OUT_DIR   writes OUT_DIR/cnn.pt (torch.jit.script), and
                          OUT_DIR/train.pt, OUT_DIR/test.pt ({'x': uint8
                          [n, 1, 28, 28], 'y': int64 [n]}, torch.save)

Any module works the same way if its forward maps a float32 batch in the
data's shape to logits [batch, classes]. Script it (torch.jit.script), do not
trace it: a traced module keeps batch norm in training mode forever.
Runs with Debian's python3-torch (/usr/bin/python3).
"""
import gzip
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

FASHION = "/usr/share/datasets/fashion-mnist"


class SmallCNN(nn.Module):
    def __init__(self, classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.fc = nn.Linear(32 * 7 * 7, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)  # 14 x 14
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)  # 7 x 7
        return self.fc(x.flatten(1))


def read_idx(images, labels):
    """An IDX images file and its labels as (uint8 [n, 1, 28, 28], int64 [n])."""
    with gzip.open(images, "rb") as f:
        x = torch.frombuffer(bytearray(f.read()[16:]), dtype=torch.uint8).view(-1, 1, 28, 28)
    with gzip.open(labels, "rb") as f:
        y = torch.frombuffer(bytearray(f.read()[8:]), dtype=torch.uint8).long()
    return x.clone(), y.clone()


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(1)  # the starting point crpsgd trains from
    torch.jit.script(SmallCNN()).save(os.path.join(out, "cnn.pt"))
    for name, prefix in (("train", "train"), ("test", "t10k")):
        x, y = read_idx(f"{FASHION}/{prefix}-images-idx3-ubyte.gz", f"{FASHION}/{prefix}-labels-idx1-ubyte.gz")
        torch.save({"x": x, "y": y}, os.path.join(out, name + ".pt"))
        print(f"{out}/{name}.pt: x {list(x.shape)} uint8, y {list(y.shape)} int64", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out/your-own-model")
