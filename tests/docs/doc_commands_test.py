#!/usr/bin/python3
"""Runs every shell command block of README.md and docs/*.md, so that no doc
drifts from the code.

Each ```sh block runs with bash -euo pipefail in a fresh scratch folder that
looks like the repository (build/, scripts/, experiments/, bench/ linked or
copied in), so its out/ folders never meet those of an earlier run. A block
runs as written, except:
  - mpirun gets --oversubscribe, and --allow-run-as-root under root (the
    README says to add them there);
  - the budgets of the long ones are cut (REDUCE below: each says what and why);
  - the few that cannot run here are skipped, each for a stated reason (SKIP).
A block that matches no rule runs as written, so a new block is tested the
day it is written. Exit 0 when every block exits 0.

Usage: doc_commands_test.py REPO_ROOT BUILD_DIR [--list] [--only SUBSTRING]
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

# Blocks not run, by a phrase of theirs -> why.
SKIP = {
    "bash scripts/test.sh": "the test command itself (this test runs inside it)",
    "--hostfile hosts": "needs several hosts (the multi-host one; docs/cluster.md)",
    "scripts/testcluster/cluster.sh up": "the network-namespace cluster: run by multi_host_cluster_test",
    "#SBATCH": "a Slurm job script: slurm_test (tests/cluster/slurm_test.sh) submits it, as written, to a "
               "one-node cluster it starts",
}

# Blocks run with their budgets cut: a phrase of theirs -> [(regex, replacement)].
REDUCE = {
    # Install and build are what the test command did before this test; the
    # main job runs with one seed and a tenth of its budget.
    "bash scripts/install-deps.sh && bash scripts/build.sh && bash scripts/main-job.sh": [
        (r"bash scripts/install-deps.sh && bash scripts/build.sh && ", "SEEDS=1 BUDGET=600 "),
    ],
    "--run psgd:batch=1 --run cr-psgd:b1=4,rho=1.04": [  # the raw-pixel sweep
        (r"--budget 6000 --seeds 1,2,3", "--budget 300 --seeds 1"),
    ],
    "--budget 30000 --algo local-sgd": [  # ResNet-20 under mpirun
        (r"--budget 30000", "--budget 128"), (r"--eval-samples 8000", "--eval-samples 256"),
    ],
    "--algo cr-psgd-catalyst --b1 16": [  # ResNet-20, the catalyst
        (r"--workers 8 --budget 7500", "--workers 2 --budget 256"),
        (r"--outer-iters 10 --inner-budget 750", "--outer-iters 2 --inner-budget 128"),
        (r"--eval-samples 8000", "--eval-samples 256"),
    ],
    "bash examples/your-own-model/run.sh": [  # one epoch of three runs: a tenth of one
        (r"bash examples/your-own-model/run.sh", "BUDGET=600 bash examples/your-own-model/run.sh"),
    ],
    "bash experiments/fewest-rounds.sh": [  # one cell of the twelve, one seed
        (r"bash experiments/fewest-rounds.sh",
         "PROBLEMS=leastsq-bad ROUNDS=20 SEEDS=1 OUT=out/fewest-rounds-doc bash experiments/fewest-rounds.sh"),
    ],
    "theory-check --out out/theory-check": [  # the short sweep the CLI test runs too
        (r"theory-check --out out/theory-check", "theory-check --max-budget 100000 --seeds 2 --out out/theory-check"),
    ],
}

# experiments/*.json budgets are cut in the scratch copy by this factor.
EXPERIMENT_BUDGET_DIVISOR = 20


def blocks(root):
    """(file:line, text) of every ```sh block in README.md and docs/*.md."""
    files = [os.path.join(root, "README.md")] + sorted(glob.glob(os.path.join(root, "docs", "*.md")))
    for path in files:
        text = open(path, encoding="utf-8").read()
        for m in re.finditer(r"^```(sh|bash)\n(.*?)^```", text, re.S | re.M):
            line = text.count("\n", 0, m.start()) + 1
            yield f"{os.path.relpath(path, root)}:{line}", m.group(2)


def prepare(root, build, scratch):
    """A folder that looks like the repository, with its own out/ and docs/."""
    os.symlink(os.path.abspath(build), os.path.join(scratch, "build"))
    for name in ("scripts", "bench", "tools", "include", "src", "examples"):
        os.symlink(os.path.join(root, name), os.path.join(scratch, name))
    # Copied, not linked: the scripts write into docs/figures, and the
    # experiments' budgets are cut here.
    shutil.copytree(os.path.join(root, "experiments"), os.path.join(scratch, "experiments"))
    os.makedirs(os.path.join(scratch, "docs"))
    for config in glob.glob(os.path.join(scratch, "experiments", "*.json")):
        with open(config) as f:
            settings = json.load(f)
        settings["budget"] = max(64, settings["budget"] // EXPERIMENT_BUDGET_DIVISOR)
        for run in settings.get("runs", []):
            for key in ("inner_budget",):
                if key in run:
                    run[key] = max(16, run[key] // EXPERIMENT_BUDGET_DIVISOR)
        if "eval_samples" in settings:
            settings["eval_samples"] = min(settings["eval_samples"], 512)
        with open(config, "w") as f:
            json.dump(settings, f)


def rewrite(text):
    root = os.geteuid() == 0
    extra = "--oversubscribe" + (" --allow-run-as-root" if root else "")
    # Commands only (a line's first word, or after `&&`), not the word in comments.
    text = re.sub(r"(^|&& )mpirun( --allow-run-as-root)?", r"\1mpirun " + extra, text, flags=re.M)
    for phrase, substitutions in REDUCE.items():
        if phrase in text:
            for pattern, replacement in substitutions:
                text, count = re.subn(pattern, replacement, text)
                if count == 0:
                    raise SystemExit(f"doc_commands_test: the rule for '{phrase}' no longer matches '{pattern}': "
                                     "update REDUCE to the doc")
    return text


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        raise SystemExit(__doc__)
    root, build = os.path.abspath(args[0]), os.path.abspath(args[1])
    only = args[args.index("--only") + 1] if "--only" in args else None
    failed, ran, skipped = [], 0, 0
    for where, text in blocks(root):
        reason = next((why for phrase, why in SKIP.items() if phrase in text), None)
        if reason:
            print(f"doc_commands_test: {where}: skipped: {reason}", flush=True)
            skipped += 1
            continue
        if only and only not in text and only not in where:
            continue
        command = rewrite(text)
        if "--list" in args:
            print(f"== {where}\n{command}")
            continue
        scratch = tempfile.mkdtemp(prefix="crpsgd-doc-")
        try:
            prepare(root, build, scratch)
            start = time.monotonic()
            env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
            run = subprocess.run(["timeout", "600", "bash", "-euo", "pipefail", "-c", command], cwd=scratch,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
            seconds = time.monotonic() - start
            ran += 1
            status = "ok" if run.returncode == 0 else f"FAILED (exit {run.returncode})"
            print(f"doc_commands_test: {where}: {status} in {seconds:.1f} s", flush=True)
            if run.returncode != 0:
                failed.append(where)
                print(f"---- the block as run:\n{command}---- its output (last 60 lines):")
                print("\n".join(run.stdout.splitlines()[-60:]), flush=True)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    if "--list" in args:
        return 0
    print(f"{ran - len(failed)} passed, {len(failed)} failed, {skipped} skipped")
    return 1 if failed or ran == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
