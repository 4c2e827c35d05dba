#!/usr/bin/python3
"""--model (your own TorchScript network) and --format tensors, end to end.

Usage: torchscript_test.py CRPSGD MPIEXEC CASE, CASE one of:
  backends  a scripted CNN with batch norm and dropout trains with equal bits
            in-process and under mpirun -np 2 (local SGD with momentum and
            batch-norm averaging; CR-PSGD with augmentation, weight decay, a
            cosine schedule and recomputed batch norm), and its saved module,
            loaded with torch.jit.load, gives the test accuracy and loss of
            summary.json (and crpsgd predict the same accuracy)
  resume    a killed --model run resumes to the same bits (dropout's stream,
            batch-norm statistics and momentum are in the checkpoint)
  losses    --loss mse on real targets and --loss model (the module's own
            loss), and uint8 tensors with --normalize
  bad       the bad-input table: exit 2, one message naming the file and what
            is wrong, nothing written to --out
MPIEXEC may be '-' (no MPI: the mpirun halves are skipped).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
TIMES = re.compile(r'"([a-z_]*_s|peak_rss_bytes)": ?[^,}\n]*,?|"peak_rss_bytes_per_worker": ?\[[^\]]*\],?')
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL: " + message, file=sys.stderr)


def run(args, mpi=None, expect=0):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    prefix = [mpi, "-np", "2", "--oversubscribe"] if mpi else []
    done = subprocess.run(prefix + [CRPSGD] + args, cwd=WORK, env=env, capture_output=True, text=True)
    if expect is not None and done.returncode != expect:
        check(False, f"{' '.join(args)} exited {done.returncode}, expected {expect}:\n{done.stderr[-2000:]}")
    return done


def without_times(path):
    with open(path) as f:
        return TIMES.sub("", f.read())


def summary(folder):
    with open(os.path.join(WORK, folder, "summary.json")) as f:
        return json.load(f)


TRAIN = ["train", "-q", "--model", "cnn.pt", "--data", "train.pt", "--test-data", "test.pt", "--threads", "1",
         "--momentum", "0.9", "--lr", "0.05"]
RUNS = {
    "local-sgd": ["--algo", "local-sgd", "--batch", "4", "--sync-period", "3", "--budget", "120"],
    "cr-psgd": ["--algo", "cr-psgd", "--b1", "2", "--rho", "1.2", "--budget", "120", "--augment", "--weight-decay",
                "1e-4", "--lr-schedule", "cosine", "--eval-batch-norm", "recomputed"],
    "catalyst": ["--algo", "cr-psgd-catalyst", "--b1", "2", "--rho", "1.3", "--theta", "0.1", "--outer-iters", "3",
                 "--inner-budget", "30", "--budget", "120"],
}


def case_backends():
    for name, flags in RUNS.items():
        if name == "catalyst":
            continue
        run(TRAIN + flags + ["--workers", "2", "--save-model", "--out", "inproc-" + name])
        if MPI:
            run(TRAIN + flags + ["--out", "mpi-" + name], mpi=MPI)
            check(without_times(os.path.join(WORK, "inproc-" + name, "metrics.jsonl")) ==
                  without_times(os.path.join(WORK, "mpi-" + name, "metrics.jsonl")),
                  f"{name}: metrics.jsonl differs between inproc and mpi")
            a, b = summary("inproc-" + name), summary("mpi-" + name)
            for key in ("final_loss", "test_loss", "test_accuracy", "train_accuracy", "rounds", "sfo_total"):
                check(a[key] == b[key], f"{name}: {key} is {a[key]} in-process, {b[key]} under mpirun")
        # The saved module in PyTorch: the accuracy and loss crpsgd reported.
        s = summary("inproc-" + name)
        model = torch.jit.load(os.path.join(WORK, "inproc-" + name, "model.pt"))
        model.eval()
        test = torch.load(os.path.join(WORK, "test.pt"))
        with torch.no_grad():
            out = model(test["x"])
        accuracy = int((out.argmax(1) == test["y"]).sum()) / len(test["y"])
        loss = F.cross_entropy(out, test["y"]).item()
        check(abs(accuracy - s["test_accuracy"]) < 1e-9,
              f"{name}: PyTorch's test accuracy {accuracy}, summary.json's {s['test_accuracy']}")
        check(abs(loss - s["test_loss"]) <= 1e-6 * max(1.0, abs(loss)),
              f"{name}: PyTorch's test loss {loss}, summary.json's {s['test_loss']}")
        check(s["test_accuracy"] > 0.5, f"{name}: test accuracy {s['test_accuracy']}: it did not learn")
        # And in crpsgd predict, which reads the saved module as it is.
        done = run(["predict", "--model", os.path.join("inproc-" + name, "model.pt"), "--problem", "torchscript",
                    "--data", "test.pt"])
        correct = int(round(accuracy * len(test["y"])))
        check(f"({correct}/{len(test['y'])})" in done.stdout, f"{name}: predict says {done.stdout!r}, PyTorch {correct}")


def case_resume():
    for name in ("local-sgd", "catalyst"):
        for mpi in ([None, MPI] if MPI else [None]):
            where = "mpi" if mpi else "inproc"
            workers = [] if mpi else ["--workers", "2"]
            reference, killed = f"ref-{name}-{where}", f"killed-{name}-{where}"
            run(TRAIN + RUNS[name] + workers + ["--out", reference], mpi=mpi)
            every = ["--checkpoint-every", "3"]
            run(TRAIN + RUNS[name] + workers + every + ["--out", killed, "--inject-fault", "kill:rank=1,round=8"],
                mpi=mpi, expect=None)
            check(not os.path.exists(os.path.join(WORK, killed, "summary.json")), f"{name}: the killed run finished")
            run(TRAIN + RUNS[name] + workers + every + ["--out", killed, "--resume"], mpi=mpi)
            for file in ("metrics.jsonl", "summary.json"):
                check(without_times(os.path.join(WORK, reference, file)) ==
                      without_times(os.path.join(WORK, killed, file)),
                      f"{name} ({where}): {file} of the resumed run differs from the uninterrupted one")


def case_losses():
    run(["train", "-q", "--model", "regress.pt", "--loss", "mse", "--data", "regress_train.pt", "--workers", "2",
         "--algo", "psgd", "--batch", "8", "--budget", "240", "--lr", "0.05", "--save-model", "--out", "mse"])
    s = summary("mse")
    # predict scores the regression network as PyTorch does: its mean squared error, and R².
    done = run(["predict", "--model", os.path.join("mse", "model.pt"), "--problem", "torchscript", "--loss", "mse",
                "--data", "regress_train.pt", "--out", os.path.join("mse", "predictions")])
    mse = float(re.search(r"Mean squared error = (\S+)", done.stdout).group(1))
    check("R^2 = " in done.stdout, f"predict --loss mse: no R^2 line: {done.stdout}")
    net = torch.jit.load(os.path.join(WORK, "mse", "model.pt"))
    net.eval()
    data = torch.load(os.path.join(WORK, "regress_train.pt"))
    with torch.no_grad():
        expected = float(((net(data["x"]).flatten().double() - data["y"].double()) ** 2).mean())
    check(abs(mse - expected) <= 1e-4 * expected, f"predict --loss mse: MSE {mse}, PyTorch {expected}")
    with open(os.path.join(WORK, "mse", "metrics.jsonl")) as f:
        first = json.loads(f.readline())
    check(s["final_loss"] < first["loss"], f"mse: the loss went from {first['loss']} to {s['final_loss']}")
    check(s["train_accuracy"] is None, "mse: a regression has no accuracy")
    run(["train", "-q", "--model", "cnn_loss.pt", "--loss", "model", "--data", "train.pt", "--workers", "2",
         "--algo", "psgd", "--batch", "8", "--budget", "240", "--lr", "0.2", "--momentum", "0.9", "--out", "own"])
    check(summary("own")["train_accuracy"] > 0.5, "--loss model: it did not learn")
    run(["train", "-q", "--model", "cnn.pt", "--data", "train_uint8.pt", "--normalize", "--workers", "2",
         "--algo", "psgd", "--batch", "8", "--budget", "240", "--lr", "0.05", "--momentum", "0.9", "--out", "uint8"])
    check(summary("uint8")["train_accuracy"] > 0.5, "uint8 tensors: it did not learn")


BAD = [
    # (flags, message)
    (["--model", "missing.pt"], "missing.pt: no such file"),
    (["--model", "not_torch.pt"], "not_torch.pt: not a TorchScript module"),
    (["--model", "state_dict.pt"], "state_dict.pt: not a TorchScript module"),
    (["--model", "traced.pt"], "use torch.jit.script(model) instead"),
    (["--model", "two_classes.pt"], "forward gives [1, 2] for one sample (input [1, 1, 8, 8] Float); the labels of "
                                    "train.pt have 3 classes, so --loss cross-entropy needs [1, 3]"),
    (["--model", "three_channels.pt"], "forward fails on one sample of train.pt (input [1, 1, 8, 8] Float): "
                                       "RuntimeError: Given groups=1, weight of size [6, 3, 3, 3]"),
    (["--model", "tuple_out.pt"], "tuple_out.pt: forward must return one Tensor"),
    (["--model", "cnn.pt", "--loss", "mse"], "--loss mse needs one output per sample"),
    (["--model", "cnn.pt", "--loss", "model"], "--loss model needs a method loss(output, target)"),
    (["--model", "cnn.pt", "--loss", "hinge"], "--loss must be cross-entropy, mse or model, got 'hinge'"),
    (["--model", "cnn.pt", "--problem", "mlp"], "give one of them"),
    (["--model", "cnn.pt", "--data", "no_y.pt"], "no_y.pt: has no 'y' entry"),
    (["--model", "cnn.pt", "--data", "only_x.pt"], "only_x.pt: LibTorch cannot read it as a tensors file"),
    (["--model", "cnn.pt", "--data", "legacy.pt"], "legacy.pt: LibTorch cannot read it as a tensors file"),
    (["--model", "cnn.pt", "--data", "mismatched.pt"], "mismatched.pt: y has shape [239], x [240, 1, 8, 8]"),
    (["--model", "cnn.pt", "--test-data", "legacy.pt"], "legacy.pt: LibTorch cannot read it as a tensors file"),
    (["--problem", "mlp", "--loss", "mse"], "--loss is for your own network"),
    (["--model", "bn1d.pt", "--algo", "cr-psgd"], "--b1 1: layer 'bn' is BatchNorm1d, which needs at least 2 samples per batch in "
                             "training: give --b1 2 or more"),
    (["--model", "bn1d.pt", "--algo", "psgd", "--batch", "1"], "--batch 1: layer 'bn' is BatchNorm1d"),
]


def case_bad():
    for k, (flags, message) in enumerate(BAD):
        args = ["train", "--budget", "40", "--lr", "0.1", "--workers", "2", "--out", f"bad-{k}"]
        if "--data" not in flags:
            args += ["--data", "train.pt"]
        done = run(args + flags, expect=2)
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        check(len(lines) == 1, f"{flags}: {len(lines)} lines of error, expected one: {done.stderr[-1500:]}")
        check(message in done.stderr, f"{flags}: the message lacks '{message}': {done.stderr[-1500:]}")
        check(not os.path.exists(os.path.join(WORK, f"bad-{k}")), f"{flags}: --out was written")


def main():
    global CRPSGD, MPI, WORK
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    CRPSGD, MPI, case = os.path.abspath(sys.argv[1]), None if sys.argv[2] == "-" else sys.argv[2], sys.argv[3]
    WORK = tempfile.mkdtemp(prefix="crpsgd_torchscript_")
    try:
        subprocess.run([sys.executable, os.path.join(HERE, "make_inputs.py"), WORK], check=True, capture_output=True)
        {"backends": case_backends, "resume": case_resume, "losses": case_losses, "bad": case_bad}[case]()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    if failures:
        sys.exit(f"{len(failures)} failure(s)")
    print(f"{case}: ok")


if __name__ == "__main__":
    main()
