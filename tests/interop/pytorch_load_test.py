#!/usr/bin/env python3
"""A model trained by crpsgd loads in PyTorch and predicts as crpsgd does.

Trains softmax regression and ResNet-20 with `crpsgd train --save-model` on a
generated CIFAR-10 folder, loads each model.pt with torch.load into the same
network written in PyTorch, and checks that its test accuracy equals the one
crpsgd reported. Usage: pytorch_load_test.py PATH/TO/crpsgd
"""
import json
import os
import subprocess
import sys
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F


def write_cifar(path, n):
    """n records; class c (0..2) has a bright band of rows, plus texture."""
    out = bytearray()
    for i in range(n):
        c = i % 3
        out.append(c)
        for p in range(3072):
            row = (p % 1024) // 32
            out.append(200 if row // 10 == c else (p * 37 + i * 11) % 60)
    with open(path, "wb") as f:
        f.write(out)


def read_cifar(path):
    raw = torch.frombuffer(bytearray(open(path, "rb").read()), dtype=torch.uint8).view(-1, 3073)
    return raw[:, 1:].float().div(255).view(-1, 3, 32, 32), raw[:, 0].long()


class Softmax(nn.Module):
    def __init__(self, features, classes):
        super().__init__()
        self.fc = nn.Linear(features, classes)

    def forward(self, x):
        return self.fc(x.flatten(1))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = stride != 1 or cin != cout
        self.pad = (cout - cin) // 2

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        s = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad)) if self.down else x
        return F.relu(y + s)


class ResNet20(nn.Module):
    def __init__(self, channels, classes):
        super().__init__()
        self.conv = nn.Conv2d(channels, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        blocks, cin = [], 16
        for stage in range(3):
            for b in range(3):
                cout = 16 << stage
                blocks.append(Block(cin, cout, 2 if stage > 0 and b == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = self.blocks(F.relu(self.bn(self.conv(x))))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def main():
    crpsgd = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        write_cifar(os.path.join(tmp, "data_batch_1.bin"), 48)
        write_cifar(os.path.join(tmp, "test_batch.bin"), 30)
        images, labels = read_cifar(os.path.join(tmp, "test_batch.bin"))
        for problem, net in (("softmax", Softmax(3072, 3)), ("resnet20", ResNet20(3, 3))):
            out = os.path.join(tmp, problem)
            subprocess.run([crpsgd, "train", "--problem", problem, "--data", tmp,
                            "--test-data", os.path.join(tmp, "test_batch.bin"), "--algo", "psgd",
                            "--batch", "4", "--budget", "24", "--workers", "2", "--lr", "0.05",
                            "--threads", "1", "--save-model", "--quiet", "--out", out], check=True,
                           stdout=subprocess.DEVNULL)
            state = torch.load(os.path.join(out, "model.pt"))
            net.load_state_dict(state, strict=True)  # every name and shape must match
            net.eval()
            with torch.no_grad():
                accuracy = (net(images).argmax(1) == labels).float().mean().item()
            reported = json.load(open(os.path.join(out, "summary.json")))["test_accuracy"]
            print(f"{problem}: PyTorch accuracy {accuracy:.4f}, crpsgd reported {reported:.4f}")
            if round(accuracy * len(labels)) != round(reported * len(labels)):  # same count of correct samples
                sys.exit(f"{problem}: PyTorch's predictions differ from crpsgd's")
    print("pytorch load test: passed")


if __name__ == "__main__":
    main()
