#!/usr/bin/env bash
# Do two builds compute the same numbers? For a refactor: every algorithm,
# the defaults, an MLP and ResNet-20, a resumed checkpoint, a sweep and the main job's
# sweep at a small budget, run by both
# binaries with the same seeds; every JSON, JSONL and CSV file they write must
# be equal, the fields that measure time or memory aside.
#
# Usage: scripts/same-numbers.sh OLD_CRPSGD NEW_CRPSGD [WORK_DIR]
#   e.g. git worktree add /tmp/old main~3 && (cd /tmp/old && scripts/build.sh)
#        scripts/same-numbers.sh /tmp/old/build/crpsgd build/crpsgd
# Exit 0: the same numbers; 1: a difference (listed); 2: bad usage.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 OLD_CRPSGD NEW_CRPSGD [WORK_DIR]" >&2; exit 2; }
old=$1 new=$2
work=${3:-$(mktemp -d)}
for bin in "$old" "$new"; do [ -x "$bin" ] || { echo "$0: $bin is not an executable" >&2; exit 2; }; done
heart=/usr/share/doc/liblinear-tools/examples/heart_scale
[ -f "$heart" ] || { echo "$0: $heart is missing (liblinear-tools)" >&2; exit 2; }
fashion=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz  # the main job's data
[ -f "$fashion" ] || { echo "$0: $fashion is missing (dataset-fashion-mnist)" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)

# name|flags (each run gets --out WORK/{old,new}/name and -q)
runs=(
  "psgd|train --data $heart --workers 2 --algo psgd --batch 4 --budget 2000"
  "cr-psgd|train --data $heart --workers 2 --algo cr-psgd --b1 1 --rho 1.3 --budget 2000"
  "cr-psgd-rho-auto|train --data $heart --workers 2 --algo cr-psgd --rho auto --budget 2000"
  "cr-psgd-rounds|train --data $heart --workers 2 --algo cr-psgd --rounds 12 --budget 2000"
  "local-sgd|train --data $heart --workers 3 --algo local-sgd --batch 2 --sync-period 8 --budget 2000"
  "catalyst|train --data $heart --workers 2 --problem ncvx-logreg --algo cr-psgd-catalyst --budget 4000"
  "auto-split-noise|train --data $heart --workers 2 --algo auto --rounds 20 --round-split noise --budget 2000"
  "defaults|train --data $heart --workers 2"
  "epochs|train --data $heart --workers 2 --epochs 3 --seed 5"
  "mlp|train --format synthetic --synthetic-samples 400 --synthetic-features 8 --workers 2 --problem mlp --epochs 2"
  "main-job|sweep --problem logreg --data $fashion --positive-class 0 --normalize --lambda 1e-4 --workers 10 --budget 600 --lr-grid 1,4 --seeds 1 --run psgd:batch=1 --run local-sgd:batch=1,sync-period=10 --run cr-psgd:b1=4,rho=1.04 --run cr-psgd:rho=auto"
  "resnet20|train --problem resnet20 --data $fashion --algo local-sgd --batch 64 --sync-period 2 --budget 256 --workers 2 --lr 0.05 --eval-samples 128"
  "sweep|sweep --data $heart --workers 2 --budget 1000 --lr-grid 0.5,2 --seeds 1,2 --run psgd:batch=2 --run auto:rounds=10"
)

for side in old new; do
  bin=$old
  [ "$side" = new ] && bin=$new
  mkdir -p "$work/$side"
  for entry in "${runs[@]}"; do
    name=${entry%%|*}
    read -r -a flags <<< "${entry#*|}"
    rm -rf "${work:?}/$side/$name"
    "$bin" "${flags[@]}" --out "$work/$side/$name" -q > "$work/$side/$name.log" 2>&1 ||
      { cat "$work/$side/$name.log" >&2; echo "$0: $side: $name failed" >&2; exit 1; }
  done
  # A checkpointed run stopped half way and resumed (the checkpoint's format and contents).
  base=(train --data "$heart" --workers 2 --algo auto --rounds 20 --budget 2000 --checkpoint-every 5)
  rm -rf "${work:?}/$side/resume"
  # (killed on purpose: sh -c keeps the shell's "Killed" notice out of the output)
  sh -c '"$0" "$@"; exit 0' "$bin" "${base[@]}" --out "$work/$side/resume" --inject-fault kill:rank=0,round=11 -q \
    > /dev/null 2>&1
  "$bin" train --resume --out "$work/$side/resume" -q > "$work/$side/resume.log" 2>&1 ||
    { cat "$work/$side/resume.log" >&2; echo "$0: $side: the resume failed" >&2; exit 1; }
done

/usr/bin/python3 "$here/same_numbers.py" "$work/old" "$work/new"
