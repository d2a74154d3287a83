#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs the whole suite with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
# The file-parsing code again under ASan + UBSan (scripts/sanitize.sh runs the whole suite so).
[[ ${DCGAN_SKIP_SANITIZE:-0} == 1 ]] || scripts/sanitize.sh --quick
