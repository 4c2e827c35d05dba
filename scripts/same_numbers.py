"""Compares two folders of crpsgd outputs (scripts/same-numbers.sh): every
.json, .jsonl and .csv file must be in both and equal, the fields that measure
time or memory aside. Exit 0 when equal, 1 with the differences listed."""
import csv
import json
import pathlib
import sys

# Measured, not computed: they differ between any two runs.
VOLATILE = {"wall_s", "comm_s", "eval_s", "peak_rss_bytes", "peak_rss_bytes_per_worker", "version",
            "time_s", "seconds", "wall_s_mean", "comm_s_mean", "exposed_comm_s"}


def scrub(value):
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def load(path: pathlib.Path):
    if path.suffix == ".json":
        return scrub(json.loads(path.read_text()))
    if path.suffix == ".jsonl":
        return [scrub(json.loads(line)) for line in path.read_text().splitlines() if line.strip()]
    with path.open(newline="") as f:
        return [scrub(row) for row in csv.DictReader(f)]


def first_difference(a, b, where=""):
    if type(a) is not type(b):
        return f"{where}: {a!r} against {b!r}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{where}.{key}: only in {'new' if key not in a else 'old'}"
            found = first_difference(a[key], b[key], f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{where}: {len(a)} entries against {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{where}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{where}: {a!r} against {b!r}"


def main(old_dir: str, new_dir: str) -> int:
    old, new = pathlib.Path(old_dir), pathlib.Path(new_dir)
    kinds = (".json", ".jsonl", ".csv")
    old_files = {p.relative_to(old) for p in old.rglob("*") if p.suffix in kinds}
    new_files = {p.relative_to(new) for p in new.rglob("*") if p.suffix in kinds}
    problems = [f"{p}: only in the old outputs" for p in sorted(old_files - new_files)]
    problems += [f"{p}: only in the new outputs" for p in sorted(new_files - old_files)]
    for rel in sorted(old_files & new_files):
        found = first_difference(load(old / rel), load(new / rel))
        if found:
            problems.append(f"{rel}{found}")
    for line in problems:
        print("differs:", line)
    print(f"same-numbers: {len(old_files & new_files)} files compared, {len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: same_numbers.py OLD_DIR NEW_DIR", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
