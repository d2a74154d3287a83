#!/usr/bin/env bash
# The GPU check, in one command, for a machine with an NVIDIA GPU, Python with PyTorch (CUDA), and
# no network. Builds dcgan against PyTorch's own LibTorch, runs the CUDA tests, measures the
# training step (eager, graph fp32, graph bf16 + channels_last; conv_dim 32 and 128; batch 128 and
# 1024) beside the Python references in bench/gpu_reference.py, times a 50-epoch `dcgan train` on a
# 73,257-image file made on the spot, and prints one markdown table. Everything measured goes to
# OUT_DIR. Meant to finish within 8 minutes.
#
# Usage: scripts/gpu_check.sh PREFIX OUT_DIR
#   PREFIX: the Debian dependencies unpacked beforehand by shared/tools/offline-prefix.sh PREFIX
# Settings (environment): PYTHON=python3  STEPS=100 (timed steps per configuration)  JOBS=$(nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=$(realpath "${1:?usage: scripts/gpu_check.sh PREFIX OUT_DIR}")
out=$(realpath -m "${2:?usage: scripts/gpu_check.sh PREFIX OUT_DIR}")
PYTHON=${PYTHON:-python3}
STEPS=${STEPS:-100}
JOBS=${JOBS:-$(nproc)}
mkdir -p "$out"
start=$SECONDS
log() { echo "[gpu_check $((SECONDS - start))s] $*" | tee -a "$out/gpu_check.log"; }

lib=$prefix/usr/lib/x86_64-linux-gnu
export PATH=$prefix/usr/bin:$PATH
export PKG_CONFIG_PATH=$lib/pkgconfig:$prefix/usr/share/pkgconfig PKG_CONFIG_SYSROOT_DIR=$prefix
export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
torch_cmake=$($PYTHON -c 'import torch; print(torch.utils.cmake_prefix_path)')
$PYTHON -c 'import torch; assert torch.cuda.is_available(), "no CUDA device"; print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name())' | tee "$out/device.txt"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >> "$out/device.txt" 2>/dev/null || true

log "build (LibTorch from $torch_cmake)"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B build-gpu "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix/usr;$torch_cmake" > "$out/cmake.log" 2>&1 || { tail -30 "$out/cmake.log"; exit 1; }
grep -q "CUDA-graph training step enabled" "$out/cmake.log" || { echo "gpu_check: LibTorch has no CUDA (see $out/cmake.log)"; exit 1; }
cmake --build build-gpu -j "$JOBS" --target dcgan dcgan_tests dcgan_bench > "$out/build.log" 2>&1 || { tail -30 "$out/build.log"; exit 1; }

log "tests: the CUDA ones and the step tests"
build-gpu/dcgan_tests --gtest_filter='*_CUDA:CapturableAdam.*:StaticStep.*:StepResumeTest.*' \
  --gtest_output="json:$out/tests.json" 2>&1 | tail -40 | tee "$out/tests.txt"
tests_ok=${PIPESTATUS[0]}

log "benchmarks"
images=16384
$PYTHON bench/make_svhn_mat.py "$out/bench_16384.mat" $images
results=$out/bench.jsonl
: > "$results"
for conv_dim in 32 128; do
  for batch in 128 1024; do
    common=(--data "$out/bench_16384.mat" --device cuda --conv-dims $conv_dim --batch-sizes $batch --steps "$STEPS" --warmup 5)
    build-gpu/dcgan_bench "${common[@]}" --step eager >> "$results"
    build-gpu/dcgan_bench "${common[@]}" --step graph >> "$results"
    build-gpu/dcgan_bench "${common[@]}" --step graph --precision bf16 --channels-last >> "$results"
    ref=(--conv-dim $conv_dim --batch-size $batch --images $images --steps "$STEPS")
    (cd bench && $PYTHON gpu_reference.py --impl notebook "${ref[@]}") >> "$results"
    (cd bench && $PYTHON gpu_reference.py --impl graph "${ref[@]}") >> "$results"
    (cd bench && $PYTHON gpu_reference.py --impl graph --bf16 --channels-last "${ref[@]}") >> "$results"
  done
done

log "50 epochs of 73,257 images (file made now, load included)"
$PYTHON bench/make_svhn_mat.py "$out/svhn_73257.mat" 73257
train_start=$EPOCHREALTIME
build-gpu/dcgan train --data "$out/svhn_73257.mat" --conv-dim 32 --epochs 50 --seed 1 \
  --precision bf16 --channels-last --no-plot --progress log --print-every 1000 \
  --out "$out/run50" > "$out/train50.log" 2>&1 || { tail -20 "$out/train50.log"; exit 1; }
train_seconds=$($PYTHON -c "print(round($EPOCHREALTIME - $train_start, 2))")
echo "{\"impl\": \"dcgan-train-50-epochs\", \"wall_seconds\": $train_seconds}" >> "$results"

log "done"
$PYTHON - "$results" "$out/device.txt" <<'PY' | tee "$out/table.md"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith('{')]
print('GPU: ' + open(sys.argv[2]).read().strip().replace('\n', ' | ') + '\n')
print('| conv_dim | batch | C++ eager | C++ graph fp32 | C++ graph bf16+CL | Python notebook | Python graph fp32 | Python graph bf16+CL |')
print('|---:|---:|---:|---:|---:|---:|---:|---:|')
def find(impl, cd, bs, bf16):
    for r in rows:
        if r.get('impl') == impl and r.get('conv_dim') == cd and r.get('batch_size') == bs and \
           (r.get('precision') == 'bf16' or r.get('bf16') is True) == bf16:
            return f"{r['images_per_sec']:,.0f}"
    return 'n/a'
for cd in (32, 128):
    for bs in (128, 1024):
        print(f"| {cd} | {bs} | {find('cpp-eager', cd, bs, False)} | {find('cpp-graph', cd, bs, False)} | "
              f"{find('cpp-graph', cd, bs, True)} | {find('python-notebook', cd, bs, False)} | "
              f"{find('python-graph', cd, bs, False)} | {find('python-graph', cd, bs, True)} |")
for r in rows:
    if r.get('impl') == 'dcgan-train-50-epochs':
        print(f"\n50 epochs x 73,257 images, conv_dim 32, batch 128, graph bf16+channels_last: "
              f"{r['wall_seconds']:.1f} s wall, loading and per-epoch outputs included")
PY
log "tests exit code $tests_ok; outputs in $out"
exit "$tests_ok"
