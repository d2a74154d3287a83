#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs the whole suite with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
