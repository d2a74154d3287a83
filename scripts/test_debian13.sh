#!/usr/bin/env bash
# Builds this tree on Debian 13 (LibTorch 2.6, matio 1.5.28, HDF5 1.14, gcc 14) and runs the whole
# CTest suite there, in a cached debootstrap root (see scripts/debian13_root.sh). Warnings are
# errors. Needs root (re-runs itself with sudo). Environment: DCGAN_DEBIAN13_ROOT (the cached root),
# DCGAN_DEBIAN_MIRROR (instead of the one in this machine's apt sources).
set -euo pipefail
# shellcheck source=scripts/debian13_root.sh
source "$(dirname "$0")/debian13_root.sh"
debian13_enter "$@"
debian13_prepare

debian13_install_deps
# ccache: the build folder is made fresh each run (a tree with older timestamps would not rebuild
# in a kept one); the compiler cache, kept in the root, makes the rebuild cheap.
debian13_run sh -c 'command -v ccache >/dev/null || apt-get install -y -qq ccache >/dev/null'

# The tree, read-only: a test that writes into the source tree fails here.
debian13_mount --bind "$debian13_repo" /src
mount -o remount,bind,ro "$debian13_root/src"
rm -rf --one-file-system "$debian13_root/build"

jobs=$(nproc)
# shellcheck disable=SC2016 # ${Version} is dpkg-query's, not the shell's
echo "Debian 13: $(debian13_run dpkg-query -W -f='libtorch-dev ${Version}, ' libtorch-dev)$(
  debian13_run dpkg-query -W -f='libmatio-dev ${Version}, ' libmatio-dev)$(
  debian13_run sh -c 'g++ --version | head -n 1')"
debian13_run cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_COMPILE_WARNING_AS_ERROR=ON -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
debian13_run cmake --build /build -j "$jobs"
debian13_run ctest --test-dir /build --output-on-failure -j "$jobs"
