#!/usr/bin/env bash
# Fuzzes a reader of untrusted files with libFuzzer for a bounded time:
#   scripts/fuzz.sh [SECONDS] [TARGET]   (default 600 s of mat_loader)
# TARGET: mat_loader (the SVHN MAT loader, seeds tests/fuzz/corpus), folder_cache (the image-folder
# cache reader) or torch_file (the torch.save reader of `dcgan import`); the last two write their
# own seeds. Builds tests/fuzz/fuzz_TARGET.cpp with clang into build-fuzz/ (dcgan_io instrumented
# with fuzzer-no-link,address,undefined), fuzzes build-fuzz/corpus[_TARGET], and writes
# crashing/hanging/leaking inputs into build-fuzz/crashes[_TARGET].
# Exit status: 0 when nothing was found, 1 when libFuzzer reported a finding.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
target="${2:-mat_loader}"
case "$target" in
  mat_loader|folder_cache|torch_file) ;;
  *) echo "fuzz.sh: unknown target '$target' (mat_loader, folder_cache or torch_file)" >&2; exit 2 ;;
esac
fuzzer=fuzz_$target
suffix=$([ "$target" = mat_loader ] || echo "_$target")
corpus=build-fuzz/corpus$suffix
crashes=build-fuzz/crashes$suffix

# clang-14 with compiler-rt (libclang_rt.fuzzer*) on Debian 12.
if ! command -v clang++ >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq clang libclang-rt-dev >/dev/null
fi

CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DDCGAN_BUILD_FUZZ=ON -DDCGAN_BUILD_TESTS=OFF -DDCGAN_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz --target "$fuzzer" -j "$(nproc)"

mkdir -p "$corpus" "$crashes"
seeds=tests/fuzz/corpus
if [ "$target" = mat_loader ]; then
  cp -n tests/fuzz/corpus/* "$corpus/"
else
  seeds=build-fuzz/seeds$suffix
  mkdir -p "$seeds"
  env "FUZZ_$(tr a-z A-Z <<<"$target")_SEEDS=$PWD/$seeds" "build-fuzz/$fuzzer"
fi
marker=$(mktemp build-fuzz/.fuzz-start.XXXXXX)  # findings = artifacts newer than this
trap 'rm -f "$marker"' EXIT
log="build-fuzz/fuzz-$target-$(date +%Y%m%d-%H%M%S).log"
echo "fuzzing for ${seconds}s; log: $log"

# -timeout: an input taking over 10 s is a hang. -rss_limit_mb/-malloc_limit_mb: a loader that
# allocates what a small file cannot justify is a finding. Leak detection stays on (per input).
# -fork=1 -ignore_ooms/-ignore_timeouts: HDF5 itself can be made to malloc 4 GB (see
# docs/RELIABILITY.md), so record OOMs and hangs as artifacts and keep fuzzing instead of stopping
# at the first; crashes, leaks and sanitizer reports stop the run unless FUZZ_KEEP_GOING=1 (then
# every finding is recorded in build-fuzz/crashes and fuzzing continues to the time limit).
# Known leaks inside system libraries are suppressed in scripts/lsan.supp (each one explained there).
# HDF5 (MAT v7.3) prints its error stack for every bad input; that noise only goes to the log.
status=0
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" \
LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/scripts/lsan.supp:print_suppressions=0}" \
UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
  "build-fuzz/$fuzzer" "$corpus" "$seeds" \
    -fork=1 -ignore_ooms=1 -ignore_timeouts=1 -ignore_crashes="${FUZZ_KEEP_GOING:-0}" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$crashes/" \
    >"$log" 2>&1 || status=$?

# Fork mode prints "#<execs>: cov: .. ft: .. corp: .. exec/s: .. oom/timeout/crash: a/b/c time: ..".
last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1 || true)
execs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
secs=$(grep -Eo 'time: [0-9]+s' <<<"$last" | grep -Eo '[0-9]+' || true)
speed=$([ -n "$execs" ] && [ "${secs:-0}" -gt 0 ] && echo $((execs / secs)) || true)
cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' <<<"$last" || true)
counts=$(grep -Eo 'oom/timeout/crash: [0-9]+/[0-9]+/[0-9]+' <<<"$last" || true)
echo "== $fuzzer summary =="
echo "duration:      ${secs:-?}s fuzzing of ${seconds}s requested"
echo "executions:    ${execs:-unknown} (${speed:-?}/s)"
echo "coverage:      ${cov:-unknown}"
echo "corpus:        $(find "$corpus" -type f | wc -l) inputs in $corpus"
echo "libFuzzer:     ${counts:-oom/timeout/crash: unknown}"
for kind in crash leak oom timeout slow-unit; do
  n=$(find "$crashes" -type f -name "$kind-*" -newer "$marker" | wc -l)
  [ "$n" -eq 0 ] || echo "findings:      $n new $kind-* file(s) in $crashes"
done
grep -E '^==[0-9]+==ERROR|^==[0-9]+== ERROR|SUMMARY:|FINDING|unexpected|deadly signal|timeout after|runtime error' "$log" \
  | sed -E 's/==[0-9]+==/==PID==/' | sort | uniq -c | head -20 || true
findings=$(find "$crashes" -type f -newer "$marker" | wc -l)
if [ "$status" -ne 0 ] || [ "$findings" -ne 0 ]; then
  echo "libFuzzer exited with status $status; see $log"
  exit 1
fi
