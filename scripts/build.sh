#!/usr/bin/env bash
# Installs dependencies and builds dcgan (Release) into build/.
#   scripts/build.sh [--target NAME]... [CMAKE_ARGS...]
# --target builds only NAME (and what it needs), e.g. `--target dcgan` for the binary without the
# test suite; by default everything is built. Other arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=()
while [[ $# -gt 0 && $1 == --target ]]; do
  targets+=(--target "$2")
  shift 2
done
scripts/install_deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j "$(nproc)" "${targets[@]}"
