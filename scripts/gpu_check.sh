#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU, Python with PyTorch (CUDA), and no network, in
# phases short enough for one call each on a short device lease:
#   build-test  configure and build against PyTorch's LibTorch; the link order (tests/link_order),
#               the CUDA and step tests
#   bench       the training step (C++ eager, graph fp32, graph bf16 + channels_last) beside the
#               Python references (bench/gpu_reference.py), one table row per entry of bench_rows
#   train       a 50-epoch `dcgan train` on a 73,257-image file made on the spot, load included
#   all         the three in turn (the default; starts from an empty record)
# Each check (the build, the tests, each table cell, the training run) is recorded as passed or
# failed, and the script goes on. After every check, OUT_DIR/summary.md is rewritten: the phases
# run so far on this machine, then the tables, failed cells marked failed with their reason. The
# bulky data (.mat files, the run folder, full logs) stays in the state folder under /tmp, which is
# what carries the record from one phase's call to the next; OUT_DIR gets at most 5 small files:
# summary.md, results.jsonl (every measurement), gpu_check.log (what ran, the tail of each failure),
# tests.json (gtest's report) and build_tail.log (when the build failed).
#
# Exit code: 1 when the build or a test failed (in this phase or an earlier one on record), 2 on bad
# usage, else 0. Benchmark and training failures never change it: they are in the tables.
#
# Usage: scripts/gpu_check.sh [--phase P] [--fresh] PREFIX OUT_DIR
#        scripts/gpu_check.sh [--phase P] [--fresh] [--no-build] --cpu-dry-run OUT_DIR
#   PREFIX: the Debian dependencies, unpacked beforehand where apt works by
#           scripts/offline_prefix.sh PREFIX (then copied to the GPU machine)
#   --cpu-dry-run: the same phases, checks, tables and files on the CPU with the local (Debian)
#     LibTorch and the build in BUILD_DIR (default build/, configured if missing): CPU devices, the
#     static step where the GPU runs the graph, tiny models and step counts, seconds in all. CI runs
#     it (tests/gpu_check_dry_run.sh), so a broken script is caught before a GPU sees it.
#   --no-build: use BUILD_DIR as it is (CTest, which has just built it)
#   --fresh: forget what earlier calls recorded (--phase all always starts fresh)
# Settings (environment): PYTHON=python3 (dry run: /usr/bin/python3, Debian's, which has torch)
#   STEPS=100 (timed steps per cell; dry run: 2)  WARMUP=5 (untimed steps before; dry run: 1)
#   BENCH_ROWS=ID[,ID...]: measure only these rows of the benchmark table (default: all)
#   JOBS=(the cores)  BUILD_DIR=build-gpu (dry run: build)
#   DCGAN_GPU_CHECK_STATE=/tmp/dcgan_gpu_check (dry run: /tmp/dcgan_gpu_check_dry)
#   DCGAN_GPU_CHECK_FAIL=ID[,ID...]: plants a failure in the checks named (their ids are in
#     summary.md, e.g. tests, train, c32-b128/cpp-graph-bf16), to test this script itself.
set -uo pipefail  # no -e: a failing check is recorded, and the next one runs

usage() {
  echo "usage: scripts/gpu_check.sh [--phase build-test|bench|train|all] [--fresh] PREFIX OUT_DIR" >&2
  echo "       scripts/gpu_check.sh [--phase ...] [--fresh] [--no-build] --cpu-dry-run OUT_DIR" >&2
  exit 2
}

# --- Arguments, resolved against the caller's directory before changing it ---------------------
phase=all dry_run=0 fresh=0 build=1 positional=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --phase) [[ $# -ge 2 ]] || usage; phase=$2; shift 2 ;;
    --phase=*) phase=${1#*=}; shift ;;
    --cpu-dry-run) dry_run=1; shift ;;
    --fresh) fresh=1; shift ;;
    --no-build) build=0; shift ;;
    -h | --help) usage ;;
    -*) echo "gpu_check: unknown option $1" >&2; usage ;;
    *) positional+=("$1"); shift ;;
  esac
done
case $phase in build-test | bench | train | all) ;; *) echo "gpu_check: --phase must be build-test, bench, train or all, got '$phase'" >&2; usage ;; esac
if [[ $dry_run == 1 ]]; then
  [[ ${#positional[@]} -eq 1 ]] || usage
  prefix=
  out=$(realpath -m "${positional[0]}")
  build_dir=$(realpath -m "${BUILD_DIR:-$(dirname "$0")/../build}")
  state=$(realpath -m "${DCGAN_GPU_CHECK_STATE:-/tmp/dcgan_gpu_check_dry}")
  if [[ -z ${PYTHON:-} ]]; then PYTHON=python3; [[ -x /usr/bin/python3 ]] && PYTHON=/usr/bin/python3; fi
  STEPS=${STEPS:-2} WARMUP=${WARMUP:-1}
else
  [[ ${#positional[@]} -eq 2 ]] || usage
  prefix=$(realpath -m "${positional[0]}")
  out=$(realpath -m "${positional[1]}")
  build_dir=$(realpath -m "${BUILD_DIR:-$(dirname "$0")/../build-gpu}")
  state=$(realpath -m "${DCGAN_GPU_CHECK_STATE:-/tmp/dcgan_gpu_check}")
  PYTHON=${PYTHON:-python3}
  STEPS=${STEPS:-100} WARMUP=${WARMUP:-5}
  [[ -d $prefix/usr ]] || { echo "gpu_check: $prefix: no usr/ folder (make it with scripts/offline_prefix.sh)" >&2; exit 2; }
fi
# Not through symlinks: a virtual environment's python is one, and its packages go with its path.
[[ $PYTHON == */* ]] && PYTHON=$(realpath -ms "$PYTHON")
JOBS=${JOBS:-$(getconf _NPROCESSORS_ONLN)}
if [[ $dry_run == 0 ]]; then
  # The Debian dependencies from PREFIX, for the build and for running what it built.
  lib=$prefix/usr/lib/x86_64-linux-gnu
  export PATH=$prefix/usr/bin:$PATH
  export PKG_CONFIG_PATH=$lib/pkgconfig:$prefix/usr/share/pkgconfig PKG_CONFIG_SYSROOT_DIR=$prefix
  export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
cd "$(dirname "$0")/.." || exit 2
export PYTHONDONTWRITEBYTECODE=1  # nothing written into the tree (CI mounts it read-only)

# --- What is measured ----------------------------------------------------------------------------
# The benchmark table: a row per entry, "id|label|dcgan_bench arguments|gpu_reference.py arguments",
# and a column per entry of bench_columns, "id|label|cpp or py|arguments". A cell's check id is
# ROW/COLUMN. To measure another configuration, add a row. A row whose Python arguments are "-" has
# no Python reference (bench/gpu_reference.py is the notebook's 32x32 model): its Python cells read
# "n/a".
if [[ $dry_run == 0 ]]; then
  bench_rows=(
    "c32-b128|conv_dim 32, batch 128|--conv-dims 32 --batch-sizes 128|--conv-dim 32 --batch-size 128"
    "c32-b1024|conv_dim 32, batch 1024|--conv-dims 32 --batch-sizes 1024|--conv-dim 32 --batch-size 1024"
    "c128-b128|conv_dim 128, batch 128|--conv-dims 128 --batch-sizes 128|--conv-dim 128 --batch-size 128"
    "c128-b1024|conv_dim 128, batch 1024|--conv-dims 128 --batch-sizes 1024|--conv-dim 128 --batch-size 1024"
    "e64-c64-b128|64x64 pytorch-examples, conv_dim 64, batch 128|--arch pytorch-examples --image-size 64 --conv-dims 64 --batch-sizes 128|-"
  )
  bench_images=16384
  device=cuda graph_step=graph
  # 50 epochs of SVHN's training set size, the configuration of the speed target.
  train_images=73257
  train_label="50 epochs x 73,257 images, conv_dim 32, batch 128, graph bf16 + channels_last"
  train_args=(--conv-dim 32 --epochs 50 --precision bf16 --channels-last --print-every 1000)
  tests_filter='*_CUDA:CapturableAdam.*:StaticStep.*:StepResumeTest.*'
else
  bench_rows=(
    "c8-b16|conv_dim 8, batch 16|--conv-dims 8 --batch-sizes 16|--conv-dim 8 --batch-size 16"
    "c16-b32|conv_dim 16, batch 32|--conv-dims 16 --batch-sizes 32|--conv-dim 16 --batch-size 32"
    "e64-c4-b8|64x64 pytorch-examples, conv_dim 4, batch 8|--arch pytorch-examples --image-size 64 --conv-dims 4 --batch-sizes 8|-"
  )
  bench_images=64
  device=cpu graph_step=static  # the graph's step, uncaptured
  train_images=256
  train_label="2 epochs x 256 images, conv_dim 8, batch 64, static step (CPU dry run)"
  train_args=(--conv-dim 8 --epochs 2 --batch-size 64 --step static --threads 1 --print-every 2)
  tests_filter='*_CUDA:StaticStep.*'
fi
if [[ -n ${BENCH_ROWS:-} ]]; then
  kept=()
  for row in "${bench_rows[@]}"; do [[ ,$BENCH_ROWS, == *,${row%%|*},* ]] && kept+=("$row"); done
  [[ ${#kept[@]} -gt 0 ]] || { echo "gpu_check: BENCH_ROWS=$BENCH_ROWS names no row of the table" >&2; exit 2; }
  bench_rows=("${kept[@]}")
fi
bench_columns=(
  "cpp-eager|C++ eager|cpp|--step eager"
  "cpp-graph|C++ graph fp32|cpp|--step $graph_step"
  "cpp-graph-bf16|C++ graph bf16+CL|cpp|--step $graph_step --precision bf16 --channels-last"
  "py-notebook|Python notebook|py|--impl notebook"
  "py-graph|Python graph fp32|py|--impl graph"
  "py-graph-bf16|Python graph bf16+CL|py|--impl graph --bf16 --channels-last"
)
# Seconds a check may run before it is stopped and recorded as failed.
BUILD_TIMEOUT=${BUILD_TIMEOUT:-420} TESTS_TIMEOUT=${TESTS_TIMEOUT:-300}
CELL_TIMEOUT=${CELL_TIMEOUT:-90} TRAIN_TIMEOUT=${TRAIN_TIMEOUT:-300}

# --- The record ----------------------------------------------------------------------------------
# $state/record.txt: one line per check run, "id<US>status<US>value<US>detail" (US: the unit
# separator, which unlike a tab keeps an empty field when read); the newest line of an id wins.
# $state/sections.md: what each phase did, in order. $state/logs/: full outputs. Kept in pure bash
# (no process per cell): the summary is rewritten after every check.
if [[ $fresh == 1 || $phase == all ]]; then
  # What this script writes there, by name: the folder may be one the caller named.
  (cd "$state" 2> /dev/null && rm -rf --one-file-system record.txt sections.md results.jsonl \
    gpu_check.log device.md tests.json build_tail.log logs data run_train)
fi
mkdir -p "$state/logs" "$state/data" "$out" || exit 2
touch "$state/record.txt" "$state/sections.md" "$state/results.jsonl" "$state/gpu_check.log"
US=$'\037'
declare -A records=()
while IFS=$US read -r id rest; do records[$id]=$rest; done < "$state/record.txt"
start=$SECONDS
tests_failed=0

log() {
  echo "[gpu_check $((SECONDS - start))s] $*"
  echo "[gpu_check $((SECONDS - start))s] $*" >> "$state/gpu_check.log"
}
section() { printf '%s\n' "$@" >> "$state/sections.md"; }
# REPLY: $1 on one line, without table bars, at most 200 characters: fit for a table cell.
one_line() {
  local text=${1//[$'\t\n\r']/ }
  text=${text//|/\\|}
  while [[ $text == *"  "* ]]; do text=${text//  / }; done
  text=${text# }
  REPLY=${text% }
  REPLY=${REPLY:0:200}
}
planted() { [[ ,${DCGAN_GPU_CHECK_FAIL:-}, == *,$1,* ]]; }

# record ID STATUS VALUE DETAIL
record() {
  one_line "$4"
  local detail=$REPLY
  records[$1]=$2$US$3$US$detail
  printf '%s\n' "$1$US${records[$1]}" >> "$state/record.txt"
  if [[ $2 == passed ]]; then
    section "- \`$1\`: passed${3:+, $3}${detail:+ ($detail)}"
  else
    section "- \`$1\`: **$2**: $detail"
  fi
  render
}

# The status of check ID: passed, failed, or empty when it has not run.
status_of() { REPLY=${records[$1]:-}; REPLY=${REPLY%%"$US"*}; }

# REPLY: the table cell of check ID.
cell() {
  local status value detail
  if [[ -z ${records[$1]:-} ]]; then REPLY="not run"; return; fi
  IFS=$US read -r status value detail <<< "${records[$1]}"
  case $status in
    passed) REPLY=${value:-passed} ;;
    failed) REPLY="failed: ${detail:-no reason given}" ;;
    *) REPLY="$status${detail:+: $detail}" ;;
  esac
}

# summary.md (the phases so far, then the tables) and the small files, into OUT_DIR. Run after
# every check, so that a call stopped at its time limit still returns an up-to-date summary.
render() {
  {
    echo "# dcgan GPU check"
    echo
    cat "$state/device.md" 2>/dev/null
    echo
    cat "$state/sections.md"
    echo
    echo "## Results"
    echo
    echo "| check | result |"
    echo "|---|---|"
    cell build
    echo "| build | $REPLY |"
    cell link_order
    echo "| libstdc++ before LibTorch (\`tests/link_order\`) | $REPLY |"
    cell tests
    echo "| tests (\`$tests_filter\`) | $REPLY |"
    cell train
    echo "| $train_label | $REPLY |"
    echo
    local header="| images/s | " rule="|---|" column row id label
    for column in "${bench_columns[@]}"; do
      IFS='|' read -r _ label _ _ <<< "$column"
      header+="$label | "
      rule+="---:|"
    done
    echo "${header% }"
    echo "$rule"
    for row in "${bench_rows[@]}"; do
      IFS='|' read -r id label _ _ <<< "$row"
      local line="| $label | "
      for column in "${bench_columns[@]}"; do
        cell "$id/${column%%|*}"
        line+="$REPLY | "
      done
      echo "${line% }"
    done
  } > "$out/summary.md.tmp" && mv "$out/summary.md.tmp" "$out/summary.md"
  cp "$state/results.jsonl" "$out/results.jsonl"
  tail -n 3000 "$state/gpu_check.log" > "$out/gpu_check.log"
  [[ -f $state/tests.json ]] && cp "$state/tests.json" "$out/tests.json"
  [[ -f $state/build_tail.log ]] && cp "$state/build_tail.log" "$out/build_tail.log"
  return 0
}

# run ID LIMIT_S COMMAND...: COMMAND's stdout into $state/logs/ID.out, its stderr into .err. Sets
# rc (124: stopped at LIMIT_S seconds) and reason (the exit status and the output's last line).
run() {
  local id=$1 limit=$2 name
  shift 2
  name=$state/logs/${id//\//_}
  if planted "$id"; then
    set -- bash -c 'echo "gpu_check: planted failure (DCGAN_GPU_CHECK_FAIL)" >&2; exit 3'
  fi
  log "$id: $*"
  rc=0
  timeout --kill-after=10 "$limit" "$@" > "$name.out" 2> "$name.err" < /dev/null || rc=$?
  reason=
  if [[ $rc -ne 0 ]]; then
    if [[ $rc -eq 124 || $rc -eq 137 ]]; then
      reason="timed out after $limit s"
    else
      # The error message: stderr's last line, else stdout's (a Python traceback ends with it).
      local last
      last=$(grep -v '^\s*$' "$name.err" | tail -n 1)
      [[ -n $last ]] || last=$(grep -v '^\s*$' "$name.out" | tail -n 1)
      one_line "$last"
      reason="exit $rc: $REPLY"
    fi
    {
      echo "--- $id failed ($reason); last lines of its output:"
      tail -n 20 "$name.out"
      tail -n 30 "$name.err"
    } >> "$state/gpu_check.log"
  fi
}

# --- Phases --------------------------------------------------------------------------------------
describe_device() {
  [[ -f $state/device.md ]] && return
  if [[ $dry_run == 1 ]]; then
    echo "**CPU dry run** ($(getconf _NPROCESSORS_ONLN) cores): the plumbing only, on tiny models; no number here means anything." \
      > "$state/device.md"
  else
    local gpu smi
    gpu=$("$PYTHON" -c 'import torch; assert torch.cuda.is_available(), "no CUDA device"
print(f"PyTorch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name()}")' 2>&1 | tail -n 1)
    smi=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -n 1)
    echo "GPU: $gpu${smi:+; $smi}" > "$state/device.md"
  fi
}

built=0
ensure_build() {
  [[ $built == 0 ]] || return 0
  built=1
  local started=$SECONDS
  if [[ $build == 0 ]]; then
    local missing=()
    for f in dcgan dcgan_bench tests/dcgan_tests tests/dcgan_io_tests \
      tests/dcgan_link_order_probe; do [[ -x $build_dir/$f ]] || missing+=("$f"); done
    if [[ ${#missing[@]} -gt 0 ]]; then
      record build failed "" "--no-build: $build_dir lacks ${missing[*]}"
      tests_failed=1
    else
      record build passed "as built in $build_dir" ""
    fi
    return
  fi
  local generator=() cmake_args=(-DCMAKE_BUILD_TYPE=Release)
  command -v ninja > /dev/null && generator=(-G Ninja)
  if [[ $dry_run == 0 ]]; then
    local torch_cmake
    torch_cmake=$("$PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null)
    # The Python of PyTorch for the reference tests too (Debian's /usr/bin/python3 comes first else).
    cmake_args+=("-DCMAKE_PREFIX_PATH=$prefix/usr;$torch_cmake" "-DDCGAN_TEST_PYTHON=$PYTHON")
  fi
  [[ -f $build_dir/CMakeCache.txt ]] && generator=()  # keep the generator the folder was made with
  log "build in $build_dir"
  local logs=$state/logs
  rm -f "$logs/configure.out" "$logs/build.out"
  timeout "$BUILD_TIMEOUT" cmake -S . -B "$build_dir" "${generator[@]}" "${cmake_args[@]}" \
    > "$logs/configure.out" 2>&1
  rc=$?
  if [[ $rc -eq 0 && $dry_run == 0 ]] && ! grep -q "CUDA-graph training step enabled" "$logs/configure.out"; then
    echo "error: LibTorch without CUDA, or 1.x: the CUDA-graph step would not be built" >> "$logs/configure.out"
    rc=1
  fi
  if [[ $rc -eq 0 ]]; then
    timeout "$BUILD_TIMEOUT" cmake --build "$build_dir" -j "$JOBS" --target dcgan dcgan_tests dcgan_bench \
      dcgan_io_tests dcgan_link_order_probe \
      > "$logs/build.out" 2>&1
    rc=$?
  fi
  if [[ $rc -eq 0 ]]; then
    record build passed "$((SECONDS - started)) s" ""
  else
    # The first compiler or CMake error is the reason; the log's end goes to build_tail.log.
    local first
    first=$(cat "$logs/configure.out" "$logs/build.out" 2>/dev/null | grep -m 1 -iE 'error')
    [[ $rc -eq 124 ]] && first="timed out after $BUILD_TIMEOUT s"
    cat "$logs/configure.out" "$logs/build.out" 2>/dev/null | tail -n 60 > "$state/build_tail.log"
    record build failed "" "exit $rc: ${first:-see build_tail.log}"
    tests_failed=1
  fi
}

phase_build_test() {
  section "" "## Phase build-test ($(date -u +%H:%M:%S) UTC)" ""
  ensure_build
  status_of build
  if [[ $REPLY != passed ]]; then
    record tests failed "" "not run: the build failed"
    tests_failed=1
    return
  fi
  # libstdc++ before LibTorch in every program (a wheel's LibTorch exports std::filesystem copies
  # that crash when called; see docs/GPU.md): the probe and the programs' libraries.
  run link_order 60 bash tests/link_order/link_order_test.sh "$build_dir/tests/dcgan_link_order_probe" \
    "$state/link_order" "$build_dir/dcgan" "$build_dir/tests/dcgan_tests" "$build_dir/tests/dcgan_io_tests"
  if [[ $rc -eq 0 ]]; then
    record link_order passed "" ""
  else
    record link_order failed "" "$reason"
    tests_failed=1
  fi
  local started=$SECONDS
  rm -f "$state/tests.json"
  # One OpenMP thread, as CTest runs them (CPU results round differently with more).
  run tests "$TESTS_TIMEOUT" env OMP_NUM_THREADS=1 "$build_dir/tests/dcgan_tests" "--gtest_filter=$tests_filter" \
    "--gtest_output=json:$state/tests.json"
  local summary failed
  summary="$(grep -oE '^\[  PASSED  \] [0-9]+' "$state/logs/tests.out" | grep -oE '[0-9]+$' || echo 0) passed"
  local skipped
  skipped=$(grep -oE '^\[  SKIPPED \] [0-9]+ test' "$state/logs/tests.out" | grep -oE '[0-9]+' | head -n 1)
  [[ -n $skipped ]] && summary+=", $skipped skipped"
  if [[ $rc -eq 0 ]]; then
    record tests passed "$summary" "$((SECONDS - started)) s"
  else
    failed=$(sed -n 's/^\[  FAILED  \] \([A-Za-z0-9_/.]*\)\( (.*\)\{0,1\}$/\1/p' "$state/logs/tests.out" |
      sort -u | paste -sd ' ')
    record tests failed "" "${failed:+$failed; }$reason"
    tests_failed=1
  fi
}

phase_bench() {
  section "" "## Phase bench ($(date -u +%H:%M:%S) UTC)" ""
  ensure_build
  local data=$state/data/bench_$bench_images.mat row column rid cid tool args cpp_args py_args id value
  if [[ ! -s $data ]]; then
    "$PYTHON" bench/make_svhn_mat.py "$data.tmp" "$bench_images" > "$state/logs/bench_data.err" 2>&1 &&
      mv "$data.tmp" "$data"
  fi
  [[ -s $data ]] || log "no benchmark data: $(tail -n 1 "$state/logs/bench_data.err")"
  for row in "${bench_rows[@]}"; do
    IFS='|' read -r rid _ cpp_args py_args <<< "$row"
    for column in "${bench_columns[@]}"; do
      IFS='|' read -r cid _ tool args <<< "$column"
      id=$rid/$cid
      local command=()
      status_of build
      if [[ $tool == py && $py_args == - ]]; then
        record "$id" n/a "" "no Python reference at this size"
        continue
      elif [[ $tool == cpp && $REPLY != passed ]]; then
        record "$id" failed "" "not run: the build failed"
        continue
      elif [[ $tool == cpp ]]; then
        # shellcheck disable=SC2206 # the row's arguments are words on purpose
        command=("$build_dir/dcgan_bench" --data "$data" --device "$device" $cpp_args $args
          --steps "$STEPS" --warmup "$WARMUP")
        [[ $dry_run == 1 ]] && command+=(--threads 1)
      else
        # shellcheck disable=SC2206
        command=("$PYTHON" bench/gpu_reference.py --device "$device" $py_args $args
          --images "$bench_images" --steps "$STEPS" --warmup "$WARMUP")
      fi
      run "$id" "$CELL_TIMEOUT" "${command[@]}"
      value=$(sed -n 's/.*"images_per_sec": *\([0-9.eE+-]*\).*/\1/p' "$state/logs/${id//\//_}.out" | tail -n 1)
      if [[ $rc -eq 0 && -n $value ]]; then
        grep '^{' "$state/logs/${id//\//_}.out" | sed "s|^{|{\"check\": \"$id\", |" >> "$state/results.jsonl"
        record "$id" passed "$(printf '%.0f' "$value" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta')" ""
      elif [[ $rc -eq 0 ]]; then
        record "$id" failed "" "no images_per_sec in its output"
      else
        record "$id" failed "" "$reason"
      fi
    done
  done
}

phase_train() {
  section "" "## Phase train ($(date -u +%H:%M:%S) UTC)" ""
  ensure_build
  local data=$state/data/svhn_$train_images.mat run_dir=$state/run_train
  if [[ ! -s $data ]]; then
    "$PYTHON" bench/make_svhn_mat.py "$data.tmp" "$train_images" > "$state/logs/train_data.err" 2>&1 &&
      mv "$data.tmp" "$data"
  fi
  rm -rf --one-file-system "$run_dir"
  # The wall time of the whole command: LibTorch start-up, loading the file, and every epoch's
  # samples and checkpoint are included, as a user would see them.
  local t0=$EPOCHREALTIME
  run train "$TRAIN_TIMEOUT" "$build_dir/dcgan" train --data "$data" --device "$device" --seed 1 \
    --no-plot --progress log --out "$run_dir" "${train_args[@]}"
  local seconds
  seconds=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  if [[ $rc -eq 0 ]]; then
    local speed
    speed=$(sed -n 's/.*"images_per_second": *\([0-9.eE+-]*\).*/\1/p' "$run_dir/summary.json" 2>/dev/null | head -n 1)
    echo "{\"check\": \"train\", \"impl\": \"dcgan-train\", \"images\": $train_images, \"wall_seconds\": $seconds}" \
      >> "$state/results.jsonl"
    record train passed "$seconds s wall" "${speed:+$(printf '%.0f' "$speed") img/s while training}"
  else
    record train failed "" "$reason"
  fi
}

trap render EXIT
describe_device
log "phase $phase ($([[ $dry_run == 1 ]] && echo "CPU dry run" || echo GPU)); state in $state, outputs in $out"
case $phase in
  build-test) phase_build_test ;;
  bench) phase_bench ;;
  train) phase_train ;;
  all) phase_build_test; phase_bench; phase_train ;;
esac
# Earlier phases' test results count too: the exit code reports every test on record.
status_of build
[[ $REPLY == failed ]] && tests_failed=1
status_of tests
[[ $REPLY == failed ]] && tests_failed=1
status_of link_order
[[ $REPLY == failed ]] && tests_failed=1
log "done: tests $([[ $tests_failed == 0 ]] && echo passed or not run || echo FAILED); summary in $out/summary.md"
render
exit $((tests_failed == 0 ? 0 : 1))
