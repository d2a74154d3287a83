#!/usr/bin/env bash
# Benchmarks dcgan against the notebook: builds dcgan_bench, runs it and bench/notebook_reference.py
# (the notebook's loop in PyTorch) on the same data, configurations and thread count, and prints a
# table of images/s with the C++/Python ratio (medians of REPEATS runs). Then times loading a
# full-size (73,257-image) SVHN-format MAT v5 compressed file, generated once and cached under
# build/bench-data/.
#
# Settings (environment):
#   THREADS=1            intra-op threads for both (1 is Debian LibTorch's OpenMP default)
#   BATCH_SIZES=128,1024 CONV_DIMS=32,128   configurations (every combination)
#   STEPS=10 WARMUP=2    timed / untimed training steps per run
#   REPEATS=3            runs per configuration and implementation; the median is reported
#   DATA=data/svhn_sample_32x32.mat   training data for both
#   PYTHON_MAX_WORK=...  skip the Python run where conv_dim^2 * batch_size exceeds this
#                        (default 32*32*1024: the notebook's model at batch 1024; at conv_dim 128
#                        the notebook's loop takes minutes per step on this CPU). 0: no limit.
#   SKIP_PYTHON=1        C++ only;  SKIP_LOAD=1   no load timing;  SKIP_BUILD=1   no build
#   SKIP_DATA=1          no data-loading comparison (bench/bench_data.py: MAT v5 vs scipy, v7.3 vs
#                        h5py, a 20,000-image folder vs torchvision; its data is made on the spot)
#   ONLY_DATA=1          the data-loading comparison alone
#   SKIP_64=1            no 64x64 comparison: dcgan_bench --arch pytorch-examples --image-size 64
#                        beside bench/pytorch_examples_reference.py (pytorch/examples' main.py step)
#   CONV_DIM_64=64 BATCH_64=128 STEPS_64=3   its configuration (their default ngf/ndf and batch)
#   DEVICE=cpu           passed to dcgan_bench (cuda runs the eager step on a GPU if LibTorch has one)
# Example: THREADS=1 CONV_DIMS=32 BATCH_SIZES=128 scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS=${THREADS:-1}
BATCH_SIZES=${BATCH_SIZES:-128,1024}
CONV_DIMS=${CONV_DIMS:-32,128}
STEPS=${STEPS:-10}
WARMUP=${WARMUP:-2}
REPEATS=${REPEATS:-3}
DATA=${DATA:-data/svhn_sample_32x32.mat}
PYTHON_MAX_WORK=${PYTHON_MAX_WORK:-$((32 * 32 * 1024))}
DEVICE=${DEVICE:-cpu}
# Debian's python3 (with python3-torch and python3-scipy), not a pyenv/venv python3 on PATH.
PY=${PY:-/usr/bin/python3}
SYNTH_TOOL=scripts/make_synthetic_svhn.py
LARGE=build/bench-data/svhn_synth_73257_32x32.mat
BENCH=build/dcgan_bench
results=$(mktemp)
trap 'rm -f "$results"' EXIT

# Debian packages the Python reference and the data generator need, installed only if missing.
missing=()
for p in python3-torch python3-scipy python3-numpy python3-pil python3-h5py python3-torchvision; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "Installing: ${missing[*]}"
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [[ -z ${SKIP_BUILD:-} ]]; then
  if [[ ! -f build/CMakeCache.txt ]]; then
    scripts/install_deps.sh
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build build --target dcgan_bench
fi

echo "# $(date -u +%FT%TZ)  $(nproc) CPUs  load average: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ -n ${ONLY_DATA:-} ]]; then
  "$PY" bench/bench_data.py "$BENCH" --repeats "$REPEATS"
  exit 0
fi
echo "# THREADS=$THREADS STEPS=$STEPS WARMUP=$WARMUP REPEATS=$REPEATS DATA=$DATA DEVICE=$DEVICE"
IFS=, read -r -a batch_sizes <<<"$BATCH_SIZES"
IFS=, read -r -a conv_dims <<<"$CONV_DIMS"
for conv_dim in "${conv_dims[@]}"; do
  for batch in "${batch_sizes[@]}"; do
    for ((r = 1; r <= REPEATS; r++)); do
      # Interleave the two, so a change in machine load hits both alike.
      "$BENCH" --data "$DATA" --device "$DEVICE" --threads "$THREADS" --conv-dims "$conv_dim" \
        --batch-sizes "$batch" --steps "$STEPS" --warmup "$WARMUP" | tee -a "$results"
      if [[ -z ${SKIP_PYTHON:-} ]] &&
        { [[ $PYTHON_MAX_WORK -eq 0 ]] || [[ $((conv_dim * conv_dim * batch)) -le $PYTHON_MAX_WORK ]]; }; then
        "$PY" bench/notebook_reference.py --data "$DATA" --threads "$THREADS" --conv-dim "$conv_dim" \
          --batch-size "$batch" --steps "$STEPS" --warmup "$WARMUP" | tee -a "$results"
      fi
    done
  done
done

if [[ -z ${SKIP_64:-} ]]; then
  conv_dim=${CONV_DIM_64:-64}
  batch=${BATCH_64:-128}
  steps=${STEPS_64:-3}
  echo "# 64x64: pytorch-examples arch, conv_dim $conv_dim, batch $batch, $steps steps"
  for ((r = 1; r <= REPEATS; r++)); do
    "$BENCH" --data "$DATA" --device "$DEVICE" --threads "$THREADS" --arch pytorch-examples \
      --image-size 64 --conv-dims "$conv_dim" --batch-sizes "$batch" --steps "$steps" --warmup 1 |
      tee -a "$results"
    if [[ -z ${SKIP_PYTHON:-} ]]; then
      "$PY" bench/pytorch_examples_reference.py --threads "$THREADS" --conv-dim "$conv_dim" \
        --batch-size "$batch" --steps "$steps" --warmup 1 | tee -a "$results"
    fi
  done
fi

if [[ -z ${SKIP_LOAD:-} ]]; then
  if [[ ! -f $LARGE ]]; then
    # Full SVHN train size, rendered by the project's generator (a few minutes on 2 cores).
    mkdir -p "$(dirname "$LARGE")"
    echo "Generating $LARGE (73,257 images) ..."
    start=$(date +%s)
    "$PY" "$SYNTH_TOOL" "${LARGE%.mat}.partial.mat" 73257 7
    mv "${LARGE%.mat}.partial.mat" "$LARGE"
    echo "  took $(($(date +%s) - start)) s"
  fi
  for ((r = 1; r <= REPEATS; r++)); do
    # A fresh process each time, so peak RSS is the loader's plus LibTorch's start-up only.
    "$BENCH" --load "$LARGE" | tee -a "$results"
  done
fi

"$PY" - "$results" <<'EOF'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith('{')]
med = lambda runs, key: statistics.median(x[key] for x in runs) if runs else None
fmt = lambda v: f'{v:.1f}' if v is not None else 'not run'
ratio = lambda a, b: f'{a / b:.2f}x' if a and b else 'n/a'

def speed_table(title, image_size, python_impl):
    """C++ eager against one Python reference, medians per (conv_dim, batch), at one image size."""
    runs = {}
    for r in rows:
        if r['impl'] in ('cpp-eager', python_impl) and r.get('image_size', 32) == image_size:
            runs.setdefault((r['conv_dim'], r['batch_size']), {}).setdefault(r['impl'], []).append(r)
    if not runs:
        return
    print()
    print(title)
    print()
    print('| conv_dim | batch | C++ img/s | Python img/s | C++/Python | C++ img/CPU-s | Python img/CPU-s | C++/Python (CPU) | runs C++/Py |')
    print('|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    for (conv_dim, batch), impls in sorted(runs.items()):
        c, p = impls.get('cpp-eager', []), impls.get(python_impl, [])
        cw, pw = med(c, 'images_per_sec'), med(p, 'images_per_sec')
        cc, pc = med(c, 'images_per_cpu_sec'), med(p, 'images_per_cpu_sec')
        print(f'| {conv_dim} | {batch} | {fmt(cw)} | {fmt(pw)} | {ratio(cw, pw)} | {fmt(cc)} | {fmt(pc)} | '
              f'{ratio(cc, pc)} | {len(c)}/{len(p)} |')

print()
print('images/s = wall clock; images/CPU-s = per second of process CPU time (steadier on a shared machine)')
speed_table("32x32, the notebook's model (dcgan vs the notebook's loop)", 32, 'python-notebook')
speed_table("64x64, pytorch/examples' DCGAN (dcgan --arch pytorch-examples --image-size 64 vs main.py's step)",
            64, 'python-pytorch-examples')
loads = [r for r in rows if r['impl'] == 'cpp-load']
if loads:
    secs = statistics.median(r['seconds'] for r in loads)
    cpu = statistics.median(r['cpu_seconds'] for r in loads)
    peak = max(r['peak_rss_mib_after'] for r in loads)
    base = statistics.median(r['peak_rss_mib_before'] for r in loads)
    ok = 'PASS' if secs < 1.5 and peak * 1.048576 < 350 else 'FAIL'
    print()
    print(f"load_svhn_mat {loads[0]['file']} ({loads[0]['images']} images, {loads[0]['format']}): "
          f'median {secs:.3f} s wall of {[round(r["seconds"], 3) for r in loads]}, {cpu:.3f} s CPU; '
          f'peak RSS {peak:.1f} MiB ({peak * 1.048576:.1f} MB), of which {base:.1f} MiB before loading; '
          f'target < 1.5 s and < 350 MB: {ok}')
EOF

if [[ -z ${SKIP_DATA:-} ]]; then
  echo
  "$PY" bench/bench_data.py "$BENCH" --repeats "$REPEATS"
fi
