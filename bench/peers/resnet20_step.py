#!/usr/bin/python3
"""The PyTorch peer of torch_step_bench: one ResNet-20 training step (forward,
backward, SGD update) on a batch of 64 Fashion-MNIST-sized images, with the same
architecture as crpsgd's (src/torch/models.cc: 3x3 convolutions without bias,
batch norm, option-A shortcuts, 16/32/64 channels, 3 blocks per stage).

Prints one JSON object per thread count: {"threads": t, "ms_per_step": ..., "images_per_s": ...}.
Usage: resnet20_step.py [--threads 1,2] [--seconds 3]
       resnet20_step.py --script FILE.pt   (writes the model as a TorchScript
       module for torch_step_bench's --model step, and exits)
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH = 64


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = stride != 1 or cin != cout
        self.pad = (cout - cin) // 2

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        shortcut = x
        if self.downsample:
            shortcut = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(y + shortcut)


class ResNet20(nn.Module):
    def __init__(self, channels=1, classes=10):
        super().__init__()
        self.conv = nn.Conv2d(channels, 16, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        blocks, cin = [], 16
        for stage in range(3):
            cout = 16 << stage
            for block in range(3):
                blocks.append(BasicBlock(cin, cout, 2 if stage > 0 and block == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        x = self.blocks(x)
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def time_steps(threads, seconds):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = ResNet20()
    model.train()
    sgd = torch.optim.SGD(model.parameters(), lr=0.01)
    inputs = torch.rand(BATCH, 1, 28, 28)
    labels = torch.arange(BATCH) % 10

    def step():
        sgd.zero_grad()
        loss = F.cross_entropy(model(inputs), labels)
        loss.backward()
        sgd.step()

    for _ in range(3):  # warm-up: allocator, thread pool
        step()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or steps < 5:
        step()
        steps += 1
    elapsed = time.perf_counter() - start
    return {"threads": threads, "ms_per_step": 1000 * elapsed / steps, "images_per_s": BATCH * steps / elapsed,
            "torch": torch.__version__}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--script", help="write torch.jit.script(ResNet20()) to this file and exit")
    args = parser.parse_args()
    if args.script:
        torch.manual_seed(1)
        torch.jit.script(ResNet20()).save(args.script)
        return
    for t in (int(v) for v in args.threads.split(",")):
        print(json.dumps(time_steps(t, args.seconds)), flush=True)


if __name__ == "__main__":
    main()
