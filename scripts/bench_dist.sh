#!/usr/bin/env bash
# Data-parallel throughput on this machine (BENCHMARKS.md, "Data-parallel training"): `dcgan train`
# as 1 process x 1 thread, 1 process x 2 threads and 2 ranks x 1 thread (--nproc-per-node 2,
# Gloo on 127.0.0.1), side by side and interleaved (A B C A B C ...), so that a noisy, shared
# machine hits all three alike. Prints training img/s (summary.json: images of all ranks over
# training time, sample grids and checkpoints excluded) per run and the medians.
#
# Settings (environment):
#   DCGAN=build/dcgan   DATA=/work/shared/data/svhn_synth_train_32x32.mat (32x32)
#   IMAGE_SIZE=32 ARCH=notebook CONV_DIM=32   the model (64x64: IMAGE_SIZE=64 ARCH=pytorch-examples
#                                             CONV_DIM=64 DATA=<a 64x64 set>)
#   BATCH=128        the global batch: 1 process trains on BATCH, each of 2 ranks on BATCH/2
#   LIMIT=2560       images per run (one epoch; 20 steps at batch 128)
#   REPEATS=3        rounds
#   WAIT_POLICY=     OMP_WAIT_POLICY for every run (empty: dcgan's default)
set -euo pipefail
cd "$(dirname "$0")/.."
DCGAN=${DCGAN:-build/dcgan}
DATA=${DATA:-/work/shared/data/svhn_synth_train_32x32.mat}
IMAGE_SIZE=${IMAGE_SIZE:-32}
ARCH=${ARCH:-notebook}
CONV_DIM=${CONV_DIM:-32}
BATCH=${BATCH:-128}
LIMIT=${LIMIT:-2560}
REPEATS=${REPEATS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[[ -n ${WAIT_POLICY:-} ]] && export OMP_WAIT_POLICY=$WAIT_POLICY

run() {  # name, extra args...
  local name=$1
  shift
  local out=$work/$name.$RANDOM
  "$DCGAN" train --data "$DATA" --limit "$LIMIT" --image-size "$IMAGE_SIZE" --arch "$ARCH" \
    --conv-dim "$CONV_DIM" --epochs 1 --seed 1 --progress log --no-plot --print-every 1000 \
    --sample-size 4 --out "$out" "$@" >"$out.log" 2>&1 || { cat "$out.log" >&2; exit 1; }
  python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))['images_per_second'], 1))" \
    "$out/summary.json"
}

declare -A results
echo "dcgan data-parallel benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "model ${ARCH} ${IMAGE_SIZE}x${IMAGE_SIZE} conv_dim ${CONV_DIM}, global batch ${BATCH}, ${LIMIT} images per run"
for ((i = 1; i <= REPEATS; i++)); do
  a=$(OMP_NUM_THREADS=1 run p1t1 --threads 1 --batch-size "$BATCH")
  b=$(OMP_NUM_THREADS=2 run p1t2 --threads 2 --batch-size "$BATCH")
  c=$(OMP_NUM_THREADS=1 run p2t1 --threads 1 --batch-size $((BATCH / 2)) --nproc-per-node 2)
  echo "round $i: 1x1 $a  1x2 $b  2x1 $c img/s  (load $(cut -d' ' -f1 /proc/loadavg))"
  results[p1t1]+="$a "
  results[p1t2]+="$b "
  results[p2t1]+="$c "
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
m1=$(median "${results[p1t1]}") m2=$(median "${results[p1t2]}") m3=$(median "${results[p2t1]}")
echo "median img/s: 1 process x 1 thread $m1 | 1 process x 2 threads $m2 | 2 ranks x 1 thread $m3"
python3 -c "import sys; a,b,c=map(float,sys.argv[1:]); print(f'2 ranks / 1x1: {c/a:.2f}x   2 ranks / 1x2: {c/b:.2f}x')" "$m1" "$m2" "$m3"
