#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs the whole suite with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
# The mutation script on one mutation the suite is known to kill, so the script itself cannot rot
# (the full run is too slow for CI: see docs/TESTING.md).
scripts/mutation_test.sh --in-place --only loss_fake_target --tests 'TrainStep\.'
# The file-parsing code again under ASan + UBSan (scripts/sanitize.sh runs the whole suite so).
[[ ${DCGAN_SKIP_SANITIZE:-0} == 1 ]] || scripts/sanitize.sh --quick
