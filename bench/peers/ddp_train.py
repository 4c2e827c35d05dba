#!/usr/bin/python3
"""The PyTorch peer of `crpsgd train --model cnn.pt` in bench/network/ddp.sh:
the scripted CNN of examples/your-own-model (or with --net resnet20 the
ResNet-20 of resnet20_step.py, scripted as resnet20.pt) trained by one rank
of a torch.distributed (gloo) job, as a user of PyTorch would train it.

  psgd       DistributedDataParallel (its defaults: gradients all-reduced in
             buckets, buffers broadcast from rank 0 before each forward);
             one step a round. --comm-hook compresses the gradients with
             PyTorch's own DDP communication hooks: fp16 (fp16_compress_hook:
             2 bytes a value; its bf16 twin needs CUDA and NCCL) or powersgd
             (powerSGD_hook at rank 2 with error feedback and warm start,
             plain all-reduces for the first 10% of the steps, the hook's
             recommended warm-up; bytes from the hook's own element counts).
  local-sgd  plain SGD on each rank; every --sync-period steps the parameters
             and the batch-norm statistics are averaged in one all-reduce (what
             torch.distributed.algorithms.model_averaging's
             PeriodicModelAverager does for the parameters).

The same data as crpsgd's run (train.pt / test.pt of make_model.py, each
channel standardised with the training set's statistics, as --normalize),
the same starting weights (the scripted module's state loaded into the eager
SmallCNN), batch, step and momentum; each rank takes its half of a seeded
permutation of the training set, in order, one pass.

Every --eval-every samples per worker (at the first round boundary past it)
and at the end, training time stops, rank 0 scores the model on the whole
test set in eval mode, and both ranks wait for each other; then the clock
runs again. Rank 0 writes one JSON line per evaluation to --out:
{"round", "sfo_per_worker", "wall_s", "bytes", "test_accuracy"}, where wall_s
is training time only and bytes the payload rank 0 gave to all-reduces
(4 bytes a float32 value; DDP's buffer broadcasts counted too).

Runs with Debian's python3-torch (/usr/bin/python3). Usage (one per rank):
  ddp_train.py --rank R --world N --master ADDR:PORT --dir DIR --algo psgd \\
      --batch 32 --lr 0.01 --momentum 0.9 --budget 30000 --out FILE
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../examples/your-own-model"))
from make_model import SmallCNN  # noqa: E402  (the module crpsgd trains, scripted)
from resnet20_step import ResNet20  # noqa: E402  (this folder's: crpsgd's architecture)


def standardised(x, mean, std):
    return (x.float() - mean) / std


def hook_gradient_bytes(net, a, parameters, steps):
    """Registers --comm-hook on DDP `net`; returns a function giving the bytes of this step's gradients."""
    if a.algo != "psgd" or a.comm_hook == "none":
        return lambda: 4 * parameters
    from torch.distributed.algorithms.ddp_comm_hooks import default_hooks, powerSGD_hook
    if a.comm_hook == "fp16":
        net.register_comm_hook(dist.group.WORLD, default_hooks.fp16_compress_hook)
        return lambda: 2 * parameters
    state = powerSGD_hook.PowerSGDState(process_group=None, matrix_approximation_rank=2,
                                        start_powerSGD_iter=max(2, steps // 10), use_error_feedback=True,
                                        warm_start=True, random_seed=a.seed)
    net.register_comm_hook(state, powerSGD_hook.powerSGD_hook)
    seen = [0]

    def compressed_bytes():  # the elements the hook all-reduced this step (P, Q and what it left whole)
        now = state.total_numel_after_compression
        sent, seen[0] = now - seen[0], now
        return 4 * sent if sent > 0 else 4 * parameters  # 0: a plain all-reduce (the warm-up)
    return compressed_bytes


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rank", type=int, required=True)
    p.add_argument("--world", type=int, required=True)
    p.add_argument("--master", required=True, help="ADDR:PORT of rank 0")
    p.add_argument("--dir", required=True, help="cnn.pt, train.pt and test.pt (make_model.py); resnet20.pt")
    p.add_argument("--net", choices=("cnn", "resnet20"), default="cnn", help="the model, from DIR/NET.pt")
    p.add_argument("--algo", choices=("psgd", "local-sgd"), required=True)
    p.add_argument("--comm-hook", choices=("none", "fp16", "powersgd"), default="none", help="psgd's gradients")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--sync-period", type=int, default=8)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--budget", type=int, default=30000, help="samples per worker")
    p.add_argument("--eval-every", type=int, default=1600, help="samples per worker between evaluations")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    dist.init_process_group("gloo", init_method=f"tcp://{a.master}", rank=a.rank, world_size=a.world)

    train, test = torch.load(os.path.join(a.dir, "train.pt")), torch.load(os.path.join(a.dir, "test.pt"))
    x_all = train["x"].float()
    mean = x_all.mean(dim=(0, 2, 3), keepdim=True)[0]
    std = x_all.std(dim=(0, 2, 3), keepdim=True)[0]
    order = torch.randperm(len(train["y"]), generator=torch.Generator().manual_seed(a.seed))
    shard = order[a.rank::a.world]
    x_train = standardised(train["x"][shard], mean, std)
    y_train = train["y"][shard]
    x_test, y_test = standardised(test["x"], mean, std), test["y"]

    model = SmallCNN() if a.net == "cnn" else ResNet20()
    model.load_state_dict(torch.jit.load(os.path.join(a.dir, f"{a.net}.pt")).state_dict())
    parameters = sum(t.numel() for t in model.parameters())
    float_buffers = [b for b in model.buffers() if b.is_floating_point()]
    buffer_values = sum(b.numel() for b in model.buffers())
    net = torch.nn.parallel.DistributedDataParallel(model) if a.algo == "psgd" else model
    optimizer = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=a.momentum)

    steps = min(a.budget, len(y_train)) // a.batch
    gradient_bytes = hook_gradient_bytes(net, a, parameters, steps)
    wall, rounds, sent, next_eval = 0.0, 0, 0, a.eval_every
    log = open(a.out, "w") if a.rank == 0 else None

    def evaluate(step):
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(x_test[i:i + 1000]).argmax(1) == y_test[i:i + 1000]).sum())
                          for i in range(0, len(y_test), 1000))
        model.train()
        if log:
            log.write(json.dumps({"round": rounds, "sfo_per_worker": step * a.batch, "wall_s": wall,
                                  "bytes": sent, "test_accuracy": correct / len(y_test)}) + "\n")
            log.flush()

    def average_models():
        flat = torch.cat([t.detach().flatten() for t in list(model.parameters()) + float_buffers])
        dist.all_reduce(flat)
        flat /= a.world
        offset = 0
        with torch.no_grad():
            for t in list(model.parameters()) + float_buffers:
                t.copy_(flat[offset:offset + t.numel()].view_as(t))
                offset += t.numel()
        return 4 * flat.numel()

    dist.barrier()
    for step in range(1, steps + 1):
        start = time.perf_counter()
        lo = (step - 1) * a.batch
        loss = F.cross_entropy(net(x_train[lo:lo + a.batch]), y_train[lo:lo + a.batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if a.algo == "psgd":
            rounds += 1
            sent += gradient_bytes() + 4 * buffer_values  # gradients, and the buffers DDP broadcasts
        elif step % a.sync_period == 0 or step == steps:
            rounds += 1
            sent += average_models()
        wall += time.perf_counter() - start
        round_end = a.algo == "psgd" or step % a.sync_period == 0 or step == steps
        if round_end and (step * a.batch >= next_eval or step == steps):
            while next_eval <= step * a.batch:
                next_eval += a.eval_every
            evaluate(step)
            dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
