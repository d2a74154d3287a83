#!/usr/bin/env bash
# Data-parallel throughput on this machine (BENCHMARKS.md, "Data-parallel training"): `dcgan train`
# as 1 process x 1 thread, 1 process x 2 threads, 2 ranks x 1 thread (--nproc-per-node 2, Gloo on
# 127.0.0.1) and 2 independent 1-thread processes at once (no communication: the ceiling for the
# ranks), side by side and interleaved (A B C D A B C D ...), so that a noisy, shared machine hits
# them all alike. Prints training img/s (summary.json: images of all ranks over
# training time, sample grids and checkpoints excluded) per run and the medians; and, for a machine
# whose cores are busy with other work, images per CPU-second (user + system time of the whole
# command, all ranks and start-up included), which does not depend on the share of the cores a run
# got.
#
# Settings (environment):
#   DCGAN=build/dcgan   DATA=data/synthetic_train_32x32.mat (32x32; made by
#                       scripts/make_synthetic_svhn.py on first use)
#   IMAGE_SIZE=32 ARCH=notebook CONV_DIM=32   the model (64x64: IMAGE_SIZE=64 ARCH=pytorch-examples
#                                             CONV_DIM=64 DATA=<a 64x64 set>)
#   BATCH=128        1 process trains on batches of BATCH
#   SCALING=global   global: each of 2 ranks trains on BATCH/2 (the same global batch as 1 process);
#                    per-rank: each rank trains on BATCH, as DDP users scale out (a global batch
#                    of 2 x BATCH; every rank's step the same size as the 1-process step)
#   LIMIT=5120       images per run (one epoch; 40 steps at batch 128)
#   REPEATS=3        rounds
#   WAIT_POLICY=     OMP_WAIT_POLICY for every run (empty: dcgan's default)
set -euo pipefail
cd "$(dirname "$0")/.."
DCGAN=${DCGAN:-build/dcgan}
DATA=${DATA:-data/synthetic_train_32x32.mat}
if [[ $DATA == data/synthetic_train_32x32.mat && ! -f $DATA ]]; then
  /usr/bin/python3 scripts/make_synthetic_svhn.py "$DATA.partial" 10000 1 && mv "$DATA.partial" "$DATA"
fi
IMAGE_SIZE=${IMAGE_SIZE:-32}
ARCH=${ARCH:-notebook}
CONV_DIM=${CONV_DIM:-32}
BATCH=${BATCH:-128}
LIMIT=${LIMIT:-5120}
REPEATS=${REPEATS:-3}
SCALING=${SCALING:-global}
case $SCALING in
  global) RANK_BATCH=$((BATCH / 2)) ;;
  per-rank) RANK_BATCH=$BATCH ;;
  *) echo "bench_dist.sh: SCALING must be global or per-rank, not '$SCALING'" >&2; exit 2 ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[[ -n ${WAIT_POLICY:-} ]] && export OMP_WAIT_POLICY=$WAIT_POLICY

run() {  # name, extra args...: prints "img/s/img per CPU-s"
  local out=$work/$1.$RANDOM
  shift
  python3 - "$out" "$DCGAN" train --data "$DATA" --limit "$LIMIT" --image-size "$IMAGE_SIZE" \
    --arch "$ARCH" --conv-dim "$CONV_DIM" --epochs 1 --seed 1 --progress log --no-plot \
    --print-every 1000 --sample-size 4 --out "$out" "$@" <<'PY'
import json, resource, subprocess, sys
out, command = sys.argv[1], sys.argv[2:]
with open(out + ".log", "w") as log:
    if subprocess.run(command, stdout=log, stderr=subprocess.STDOUT).returncode != 0:
        sys.exit(open(out + ".log").read())
usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # every rank: the launcher waited for them
summary = json.load(open(out + "/summary.json"))
cpu = usage.ru_utime + usage.ru_stime
print(f"{summary['images_per_second']:.1f}/{summary['images_seen'] / cpu:.1f}")
PY
}

# Two independent 1-thread processes at once, LIMIT/2 images each at the ranks' batch, with no
# communication: what the two cores give two processes, the ceiling for 2 ranks on this machine.
pair() {
  OMP_NUM_THREADS=1 run solo_a --threads 1 --batch-size "$RANK_BATCH" --limit $((LIMIT / 2)) \
    > "$work/pair_a" &
  OMP_NUM_THREADS=1 run solo_b --threads 1 --batch-size "$RANK_BATCH" --limit $((LIMIT / 2)) \
    > "$work/pair_b"
  wait
  python3 -c "import sys
(a, ac), (b, bc) = (map(float, open(f).read().split('/')) for f in sys.argv[1:])
print(f'{a + b:.1f}/{2 / (1 / ac + 1 / bc):.1f}')" "$work/pair_a" "$work/pair_b"
}

declare -A results
echo "dcgan data-parallel benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "model ${ARCH} ${IMAGE_SIZE}x${IMAGE_SIZE} conv_dim ${CONV_DIM}, batch ${BATCH} (2 ranks: ${RANK_BATCH} each), ${LIMIT} images per run"
for ((i = 1; i <= REPEATS; i++)); do
  a=$(OMP_NUM_THREADS=1 run p1t1 --threads 1 --batch-size "$BATCH")
  b=$(OMP_NUM_THREADS=2 run p1t2 --threads 2 --batch-size "$BATCH")
  c=$(OMP_NUM_THREADS=1 run p2t1 --threads 1 --batch-size "$RANK_BATCH" --nproc-per-node 2)
  d=$(pair)
  echo "round $i (img/s / img per CPU-s): 1x1 $a  1x2 $b  2x1 $c  2 independent $d  (load $(cut -d' ' -f1 /proc/loadavg))"
  results[p1t1]+="$a "
  results[p1t2]+="$b "
  results[p2t1]+="$c "
  results[pair]+="$d "
done
median() {  # field 1 (img/s) or 2 (img per CPU-s) of "a/b a/b ..."
  tr ' ' '\n' <<<"$1" | grep . | cut -d/ -f"$2" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}
for f in 1 2; do
  what=$([[ $f == 1 ]] && echo "img/s" || echo "img per CPU-s")
  m1=$(median "${results[p1t1]}" $f) m2=$(median "${results[p1t2]}" $f) m3=$(median "${results[p2t1]}" $f)
  m4=$(median "${results[pair]}" $f)
  echo "median $what: 1 process x 1 thread $m1 | 1 process x 2 threads $m2 | 2 ranks x 1 thread $m3 | 2 independent processes $m4"
  python3 -c "import sys; a,b,c,d=map(float,sys.argv[1:]); print(f'  2 ranks / 1x1: {c/a:.2f}x   2 ranks / 1x2: {c/b:.2f}x   2 independent / 1x1: {d/a:.2f}x   2 ranks / 2 independent: {c/d:.2f}x')" "$m1" "$m2" "$m3" "$m4"
done
