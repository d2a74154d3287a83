#!/usr/bin/env bash
# Fuzzes the SVHN MAT loader with libFuzzer for a bounded time: scripts/fuzz.sh [SECONDS] (default 600).
# Builds tests/fuzz/fuzz_mat_loader.cpp with clang into build-fuzz/ (dcgan_core instrumented with
# fuzzer-no-link,address,undefined), fuzzes a copy of the seed corpus tests/fuzz/corpus in
# build-fuzz/corpus, and writes crashing/hanging/leaking inputs into build-fuzz/crashes.
# Exit status: 0 when nothing was found, 1 when libFuzzer reported a finding.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"

# clang-14 with compiler-rt (libclang_rt.fuzzer*) on Debian 12.
if ! command -v clang++ >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq clang libclang-rt-dev >/dev/null
fi

CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DDCGAN_BUILD_FUZZ=ON -DDCGAN_BUILD_TESTS=OFF -DDCGAN_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz --target fuzz_mat_loader -j "$(nproc)"

mkdir -p build-fuzz/corpus build-fuzz/crashes
cp -n tests/fuzz/corpus/* build-fuzz/corpus/
marker=$(mktemp build-fuzz/.fuzz-start.XXXXXX)  # findings = artifacts newer than this
trap 'rm -f "$marker"' EXIT
log="build-fuzz/fuzz-$(date +%Y%m%d-%H%M%S).log"
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
  build-fuzz/fuzz_mat_loader build-fuzz/corpus tests/fuzz/corpus \
    -fork=1 -ignore_ooms=1 -ignore_timeouts=1 -ignore_crashes="${FUZZ_KEEP_GOING:-0}" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix=build-fuzz/crashes/ \
    >"$log" 2>&1 || status=$?

# Fork mode prints "#<execs>: cov: .. ft: .. corp: .. exec/s: .. oom/timeout/crash: a/b/c time: ..".
last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1 || true)
execs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
secs=$(grep -Eo 'time: [0-9]+s' <<<"$last" | grep -Eo '[0-9]+' || true)
speed=$([ -n "$execs" ] && [ "${secs:-0}" -gt 0 ] && echo $((execs / secs)) || true)
cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' <<<"$last" || true)
counts=$(grep -Eo 'oom/timeout/crash: [0-9]+/[0-9]+/[0-9]+' <<<"$last" || true)
echo "== fuzz_mat_loader summary =="
echo "duration:      ${secs:-?}s fuzzing of ${seconds}s requested"
echo "executions:    ${execs:-unknown} (${speed:-?}/s)"
echo "coverage:      ${cov:-unknown}"
echo "corpus:        $(find build-fuzz/corpus -type f | wc -l) inputs in build-fuzz/corpus"
echo "libFuzzer:     ${counts:-oom/timeout/crash: unknown}"
for kind in crash leak oom timeout slow-unit; do
  n=$(find build-fuzz/crashes -type f -name "$kind-*" -newer "$marker" | wc -l)
  [ "$n" -eq 0 ] || echo "findings:      $n new $kind-* file(s) in build-fuzz/crashes"
done
grep -E '^==[0-9]+==ERROR|^==[0-9]+== ERROR|SUMMARY:|FINDING|unexpected|deadly signal|timeout after|runtime error' "$log" \
  | sed -E 's/==[0-9]+==/==PID==/' | sort | uniq -c | head -20 || true
findings=$(find build-fuzz/crashes -type f -newer "$marker" | wc -l)
if [ "$status" -ne 0 ] || [ "$findings" -ne 0 ]; then
  echo "libFuzzer exited with status $status; see $log"
  exit 1
fi
