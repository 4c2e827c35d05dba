#!/usr/bin/python3
"""Writes the TorchScript modules and tensor files the --model tests train on.

Usage: make_inputs.py OUT_DIR. Data: 8x8 one-channel images of 3 classes
(horizontal stripes, vertical stripes, grey; plus seeded noise). Modules: a scripted CNN with
batch norm and dropout (cnn.pt), the same with an exported loss
(cnn_loss.pt), a regression head (regress.pt), and the bad ones of the
bad-input table.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class CNN(nn.Module):
    def __init__(self, channels=1, classes=3, outputs=None):
        super().__init__()
        self.conv = nn.Conv2d(channels, 6, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(6)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(6, outputs if outputs is not None else classes)

    def forward(self, x):
        y = F.relu(self.bn(self.conv(x)))
        y = F.adaptive_avg_pool2d(y, 1).flatten(1)
        return self.fc(self.drop(y))


class CNNWithLoss(CNN):
    @torch.jit.export
    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(output, target, label_smoothing=0.1)


class TupleOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 3)

    def forward(self, x):
        return self.fc(x.flatten(1)), x


class MLPWithBatchNorm1d(nn.Module):
    """BatchNorm1d cannot train on one sample: crpsgd refuses B1 = 1 before training."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 8)
        self.bn = nn.BatchNorm1d(8)
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.bn(self.fc1(x.flatten(1)))))


def images(n, seed):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    x = torch.rand(n, 1, 8, 8, generator=g) * 0.3
    # Translation-invariant classes (random crops keep them): horizontal
    # stripes, vertical stripes, or an even grey.
    x[y == 0, 0, ::2, :] += 0.7
    x[y == 1, 0, :, ::2] += 0.7
    x[y == 2] += 0.35
    return x, y


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(7)
    model = CNN()
    torch.jit.script(model).save(os.path.join(out, "cnn.pt"))
    torch.jit.script(CNNWithLoss()).save(os.path.join(out, "cnn_loss.pt"))
    torch.jit.script(CNN(outputs=1)).save(os.path.join(out, "regress.pt"))
    # The bad ones.
    torch.jit.trace(model, torch.rand(2, 1, 8, 8), check_trace=False).save(os.path.join(out, "traced.pt"))
    torch.jit.script(CNN(classes=2)).save(os.path.join(out, "two_classes.pt"))
    torch.jit.script(CNN(channels=3)).save(os.path.join(out, "three_channels.pt"))
    torch.jit.script(TupleOut()).save(os.path.join(out, "tuple_out.pt"))
    torch.jit.script(MLPWithBatchNorm1d()).save(os.path.join(out, "bn1d.pt"))
    torch.save(model.state_dict(), os.path.join(out, "state_dict.pt"))

    x, y = images(240, 1)
    tx, ty = images(90, 2)
    torch.save({"x": x, "y": y}, os.path.join(out, "train.pt"))
    torch.save({"x": tx, "y": ty}, os.path.join(out, "test.pt"))
    torch.save({"x": (x * 255).to(torch.uint8), "y": y}, os.path.join(out, "train_uint8.pt"))
    torch.save({"x": x, "y": y.float() * 0.5 + 0.1}, os.path.join(out, "regress_train.pt"))
    torch.save({"x": x, "labels": y}, os.path.join(out, "no_y.pt"))
    torch.save({"x": x}, os.path.join(out, "only_x.pt"))
    torch.save({"x": x, "y": y[:-1]}, os.path.join(out, "mismatched.pt"))
    torch.save({"x": x, "y": y}, os.path.join(out, "legacy.pt"), _use_new_zipfile_serialization=False)
    with open(os.path.join(out, "not_torch.pt"), "w") as f:
        f.write("this is text\n")


if __name__ == "__main__":
    main(sys.argv[1])
