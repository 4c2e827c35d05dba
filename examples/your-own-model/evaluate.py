#!/usr/bin/python3
"""Loads a module crpsgd trained (--save-model on a --model run writes
TorchScript) and prints its test accuracy in PyTorch.

  evaluate.py MODEL.pt TRAIN.pt TEST.pt

The inputs are standardised as `crpsgd train --normalize` did: with the mean
and standard deviation of the training images.
"""
import sys

import torch


def main(model_file, train_file, test_file):
    model = torch.jit.load(model_file)
    model.eval()  # batch norm with the statistics crpsgd saved
    train_x = torch.load(train_file)["x"].double()
    mean, std = train_x.mean().item(), train_x.std(unbiased=False).item()
    test = torch.load(test_file)
    x = ((test["x"].double() - mean) / std).float()
    with torch.no_grad():
        predicted = torch.cat([model(x[i:i + 1000]).argmax(1) for i in range(0, len(x), 1000)])
    correct = int((predicted == test["y"]).sum())
    print(f"{model_file}: test accuracy {correct / len(x):.4f} ({correct}/{len(x)}) in PyTorch")


if __name__ == "__main__":
    main(*sys.argv[1:4])
