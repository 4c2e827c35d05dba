#!/usr/bin/env python3
"""Turns the runs of bench/network/run.sh into its results table (markdown on stdout).

Usage: report.py OUT_DIR CUT_EXIT_CODE CUT_TO_END_MS
"""
import csv
import datetime
import functools
import json
import os
import platform
import sys


@functools.lru_cache(maxsize=None)  # each run's files are read once
def summary(run_dir):
    with open(os.path.join(run_dir, "summary.json")) as f:
        return json.load(f)


@functools.lru_cache(maxsize=None)
def metrics(run_dir):
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def last_loss(rows):
    return [r for r in rows if r.get("loss") is not None][-1]["loss"]


def first_at_or_below(rows, target):
    for r in rows:
        if r.get("loss") is not None and r["loss"] <= target:
            return r
    return None


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_gib = int(f.readline().split()[1]) / 1048576
    return f"{cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, Linux {platform.release()}"


def main():
    out, cut_rc, cut_ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with open(os.path.join(out, "runs.tsv")) as f:
        runs = list(csv.DictReader(f, delimiter="\t"))
    verdicts = []
    print("# Multi-host runs on a bandwidth-limited test cluster")
    print()
    print(f"Machine: {machine()}; {datetime.date.today().isoformat()}. All hosts are network namespaces "
          "of this one machine, so every rank shares its 2 cores: compute is slower than on real hosts, "
          "and the links are real TCP through a bridge, each shaped by `tc tbf` in both directions. "
          "Regenerate with `bash bench/network/run.sh` (root).")
    print()

    print("## Same result on several hosts as on one (same seed, same N)")
    print()
    print("| N | final loss, N hosts over TCP | final loss, one host (`mpirun -np N`) | relative difference |")
    print("|---|---|---|---|")
    same = [r for r in runs if r["part"] == "same"]
    for n in sorted({r["hosts"] for r in same}):
        multi = summary(next(r["dir"] for r in same if r["hosts"] == n and r["rate"] != "local"))["final_loss"]
        local = summary(next(r["dir"] for r in same if r["hosts"] == n and r["rate"] == "local"))["final_loss"]
        rel = abs(multi - local) / abs(local)
        verdicts.append(f"{n} hosts give the single-host final loss (relative difference {rel:.1e}, target ≤ 1e-9): "
                        f"{'met' if rel <= 1e-9 else 'MISSED'}")
        print(f"| {n} | {multi:.17g} | {local:.17g} | {rel:.1e} {'(target ≤ 1e-9: met)' if rel <= 1e-9 else '(target ≤ 1e-9: MISSED)'} |")
    print()

    print("## Time to a target loss")
    print()
    print("The target is the highest final loss among a problem's methods, so every method reaches it; "
          "time is training wall time (loss evaluations excluded) at the first evaluated round at or below it, "
          "and rounds and bytes (training payload per worker) are counted up to that round. "
          "`comm` is the time inside training all-reduces up to then, waiting included; `model` is the same "
          "rounds costed as ring all-reduces on the nominal link (α = 50 µs per message). "
          "The criterion: the communication-reduced method reaches the target at least 5× sooner than psgd "
          "at its starting batch on the 100 Mbit/s links.")
    for problem, hosts_note in (("logreg", "logistic regression, Fashion-MNIST T-shirt vs rest, 2 hosts (one per core)"),
                                ("resnet20", "ResNet-20, Fashion-MNIST, 2 hosts (one per core), B1 = 8"),
                                ("resnet20-b4", "ResNet-20, Fashion-MNIST, 2 hosts (one per core), B1 = 4, "
                                                "the catalyst's step growing with its batch")):
        part = [r for r in runs if r["part"] == problem]
        if not part:
            continue
        target = max(last_loss(metrics(r["dir"])) for r in part)
        print()
        print(f"### {hosts_note}: target loss {target:.6g}")
        print()
        print("| link | method | rounds | SFO/worker | final loss | rounds to target | bytes to target | "
              "time to target | comm share | modelled net time | whole run | psgd ÷ this |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for rate in dict.fromkeys(r["rate"] for r in part):
            rows = [r for r in part if r["rate"] == rate]
            hits = {r["method"]: first_at_or_below(metrics(r["dir"]), target) for r in rows}
            times = {method: hit["wall_s"] if hit else None for method, hit in hits.items()}
            base = next((t for m, t in times.items() if m.startswith("psgd")), None)
            for r in rows:
                s = summary(r["dir"])
                m = metrics(r["dir"])
                hit = hits[r["method"]]
                t = times[r["method"]]
                share = f"{100 * hit['comm_s'] / hit['wall_s']:.0f}%" if hit and hit["wall_s"] > 0 else "—"
                model = f"{hit['net_model_s']:.2f} s" if hit and hit.get("net_model_s") is not None else "—"
                ratio = f"{base / t:.1f}×" if base and t else "—"
                if rate == "100mbit" and r["method"].startswith("cr-psgd"):
                    met = bool(t and base and base / t >= 5)
                    verdicts.append(f"{problem} at 100 Mbit/s: {r['method']} reaches the target "
                                    f"{base / t:.1f}× sooner than psgd (target ≥ 5×): "
                                    f"{'met' if met else 'MISSED'}" if t and base else
                                    f"{problem} at 100 Mbit/s: {r['method']} did not reach the target: MISSED")
                to_target = (f"{hit['round']} | {hit['bytes'] / 1e6:.3g} MB" if hit else "— | —")
                print(f"| {rate} | {r['method']} | {s['rounds']} | {s['sfo_per_worker']} | {last_loss(m):.6g} | "
                      f"{to_target} | {f'{t:.2f} s' if t is not None else 'not reached'} | {share} | {model} | "
                      f"{s['wall_s']:.2f} s ({100 * s['comm_s'] / s['wall_s']:.0f}% comm) | {ratio} |")
    print()

    print("## A cut link")
    print()
    cut = next(r for r in runs if r["part"] == "cut")
    reference = summary(next(r["dir"] for r in runs if r["part"] == "same" and r["hosts"] == "4"
                             and r["rate"] != "local"))["final_loss"]
    with open(cut["dir"] + ".log") as f:
        named = sorted({line.strip() for line in f if "no data from rank" in line})
    resumed = summary(cut["dir"])["final_loss"]
    rel = abs(resumed - reference) / abs(reference)
    verdicts.append(f"a cut link ends the job ({cut_ms / 1000:.1f} s after the cut, exit code {cut_rc}) naming the "
                    f"unreachable rank, and the resume matches the uninterrupted run: "
                    f"{'met' if cut_rc != 0 and named and rel <= 1e-9 else 'MISSED'}")
    print(f"psgd B=1 on 4 hosts at 1 Gbit/s with `--checkpoint-every 500 --mpi-timeout 5`; host h3's link "
          f"(rank 2) taken down with `ip link set … down` after the checkpoint of round 1500.")
    print()
    print(f"- The job ended {cut_ms / 1000:.1f} s after the cut, exit code {cut_rc}: the timeout (5 s), "
          "then mpirun's wait for the cut host's daemon (the head node gives up on unanswered TCP after about 6 s).")
    print("- What the other ranks printed:")
    print()
    print("```")
    for line in named:
        print(line)
    print("```")
    print()
    print(f"- After `cluster.sh restore 3`, `--resume` on the 4 hosts completed with final loss {resumed:.17g}; "
          f"the uninterrupted run's is {reference:.17g} (relative difference {rel:.1e}).")
    print()
    print("## Criteria")
    print()
    for v in verdicts:
        print(f"- {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
