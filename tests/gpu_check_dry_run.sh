#!/usr/bin/env bash
# scripts/gpu_check.sh --cpu-dry-run on an existing build, with planted failures (CTest runs it; see
# tests/CMakeLists.txt):
#  1. every phase, one benchmark cell made to fail: exit 0 (a benchmark is not a test), every other
#     cell holds a number, the planted one its reason, summary.md ends with the tables, OUT_DIR holds
#     at most 6 small files and no .mat, and a relative OUT_DIR is the caller's, not the repo's;
#  2. the build-test phase with the tests and the link-order check made to fail: exit 1, the
#     reasons in the summary, the benchmark cells "not run";
#  3. the train phase as a second call on that record, into a fresh OUT_DIR (as a device returns
#     each call's files): both phases in its summary, and still exit 1 for the tests on record.
# Usage: tests/gpu_check_dry_run.sh BUILD_DIR [PYTHON]
set -uo pipefail
build=$(realpath "${1:?usage: tests/gpu_check_dry_run.sh BUILD_DIR [PYTHON]}")
repo=$(realpath "$(dirname "$0")/..")
export BUILD_DIR=$build PYTHON=${2:-/usr/bin/python3}
work=$(mktemp -d)
trap 'rm -rf --one-file-system "$work"' EXIT
cd "$work" || exit 1
failures=0

expect() {  # expect DESCRIPTION COMMAND...: counts a failure when COMMAND fails
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; failures=$((failures + 1)); fi
}
# The cells of the table line that starts with "| LABEL |", one per line.
cells() { grep -F "| $2 |" "$1" | tail -n 1 | sed 's/^| //; s/ |$//' | awk -F' [|] ' '{ for (i = 2; i <= NF; i++) print $i }'; }
numeric() { [[ $1 =~ ^[0-9][0-9,]*$ ]]; }
ends_with_table() { [[ $(grep -v '^\s*$' "$1" | tail -n 1) == \|* ]]; }
# "## Results" comes after every phase section.
results_last() { [[ $(grep -n '^## ' "$1" | tail -n 1) == *"## Results" ]]; }
run_dry() {  # run_dry STATE OUT [ARGS...]: the dry run; sets rc
  local state=$1 out=$2 started=$SECONDS
  shift 2
  DCGAN_GPU_CHECK_STATE=$work/$state bash "$repo/scripts/gpu_check.sh" --cpu-dry-run --no-build \
    "$@" "$out" > "$out.log" 2>&1
  rc=$?
  echo "gpu_check.sh --cpu-dry-run $* $out: exit $rc in $((SECONDS - started)) s"
}

# --- 1: every phase, one benchmark cell planted to fail ----------------------------------------
planted=c16-b32/cpp-graph-bf16
DCGAN_GPU_CHECK_FAIL=$planted run_dry state1 out1
summary=out1/summary.md
expect "exit 0 when only a benchmark cell failed" test "$rc" -eq 0
expect "summary.md in the caller's relative OUT_DIR" test -f "$work/$summary"
expect "nothing written into the repository's own out1" test ! -e "$repo/out1"
expect "summary.md ends with the tables" ends_with_table "$summary"
expect "the results come after every phase" results_last "$summary"
for phase in build-test bench train; do
  expect "summary.md has phase $phase" grep -q "^## Phase $phase" "$summary"
done
expect "at most 6 entries in OUT_DIR" test "$(find out1 -mindepth 1 | wc -l)" -le 6
expect "only plain files in OUT_DIR" test -z "$(find out1 -mindepth 1 ! -type f)"
expect "no file of 1 MiB or more in OUT_DIR" test -z "$(find out1 -type f -size +1023k)"
expect "the .mat files stay in the state folder" test -n "$(find state1 -name '*.mat')"
expect "no .mat file in OUT_DIR" test -z "$(find out1 -name '*.mat')"
mapfile -t row1 < <(cells "$summary" "conv_dim 8, batch 16")
mapfile -t row2 < <(cells "$summary" "conv_dim 16, batch 32")
mapfile -t row3 < <(cells "$summary" "64x64 pytorch-examples, conv_dim 4, batch 8")
expect "6 cells in the first row" test "${#row1[@]}" -eq 6
expect "6 cells in the second row" test "${#row2[@]}" -eq 6
for i in "${!row1[@]}"; do expect "row 1 cell $((i + 1)) is a number: ${row1[i]}" numeric "${row1[i]}"; done
for i in 0 1 3 4 5; do expect "row 2 cell $((i + 1)) is a number: ${row2[i]:-}" numeric "${row2[i]:-}"; done
expect "6 cells in the 64x64 row" test "${#row3[@]}" -eq 6
for i in 0 1 2; do expect "64x64 row C++ cell $((i + 1)) is a number: ${row3[i]:-}" numeric "${row3[i]:-}"; done
for i in 3 4 5; do
  expect "64x64 row Python cell $((i + 1)) is n/a: ${row3[i]:-}" \
    test "${row3[i]:-}" = "n/a: no Python reference at this size"
done
expect "the planted cell failed with its reason: ${row2[2]:-}" \
  test "${row2[2]:-}" = "failed: exit 3: gpu_check: planted failure (DCGAN_GPU_CHECK_FAIL)"
expect "the build is recorded" grep -qE '^\| build \| as built in ' "$summary"
expect "the tests passed" grep -qE '^\| tests .*\| [0-9]+ passed' "$summary"
expect "the link order passed" grep -qE '^\| libstdc\+\+ before LibTorch .*\| passed \|$' "$summary"
expect "the training run is timed" grep -qE '^\| 2 epochs .*\| [0-9.]+ s wall \|$' "$summary"
expect "results.jsonl: 14 cells and the training run, each a JSON object" \
  "$PYTHON" -c 'import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
assert len(rows) == 15 and sum(r["check"] == "train" for r in rows) == 1, rows' out1/results.jsonl

# --- 2: the build-test phase, the tests and the link order planted to fail ----------------------
DCGAN_GPU_CHECK_FAIL=tests,link_order run_dry state2 out2 --phase build-test
summary=out2/summary.md
expect "exit 1 when the tests failed" test "$rc" -eq 1
expect "summary.md ends with the tables" ends_with_table "$summary"
expect "the tests failed with the planted reason" \
  grep -qE '^\| tests .*\| failed: .*planted failure' "$summary"
expect "the link order failed with the planted reason" \
  grep -qE '^\| libstdc\+\+ before LibTorch .*\| failed: .*planted failure' "$summary"
expect "the 18 benchmark cells and the training run: not run" test "$(grep -o '| not run' "$summary" | wc -l)" -eq 19

# --- 3: the train phase on that record, into a new OUT_DIR ---------------------------------------
run_dry state2 out3 --phase train
summary=out3/summary.md
expect "exit 1: the failed tests are on record" test "$rc" -eq 1
expect "both phases in the summary" \
  test "$(grep -cE '^## Phase (build-test|train)' "$summary")" -eq 2
expect "the training run is timed" grep -qE '^\| 2 epochs .*\| [0-9.]+ s wall \|$' "$summary"
expect "summary.md ends with the tables" ends_with_table "$summary"

if [[ $failures -gt 0 ]]; then
  for f in out1 out2 out3; do
    echo "=== $f/summary.md"
    cat "$f/summary.md" 2> /dev/null
    echo "=== $f.log (the script's output)"
    tail -n 40 "$f.log"
  done
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
