#!/usr/bin/env bash
# scripts/run.sh builds only the dcgan binary, not the test suite (scripts/test.sh's), so that a
# newcomer's first sample grid does not wait for the tests to compile. Runs a copy of run.sh and
# build.sh with stand-ins for cmake, the installer, the download and the binary, and checks what
# they were asked to do.
#   tests/run_sh_test.sh REPO
set -euo pipefail
repo=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/repo/scripts" "$work/repo/data" "$work/bin"
cp "$repo/scripts/run.sh" "$repo/scripts/build.sh" "$work/repo/scripts/"
printf '#!/bin/sh\nexit 0\n' >"$work/repo/scripts/install_deps.sh"
printf '#!/bin/sh\nexit 1\n' >"$work/repo/scripts/download_svhn.sh"  # offline
# cmake records its arguments; its --build makes a dcgan that records its own.
cat >"$work/bin/cmake" <<'STUB'
#!/bin/sh
echo "cmake $*" >>"$LOG"
if [ "$1" = --build ]; then
  mkdir -p build
  printf '#!/bin/sh\necho "dcgan $*" >>"$LOG"\n' >build/dcgan
  chmod +x build/dcgan
fi
STUB
chmod +x "$work/bin/cmake" "$work/repo/scripts/"*.sh
export LOG=$work/log
PATH="$work/bin:$PATH" bash "$work/repo/scripts/run.sh" --epochs 1 >"$work/out" 2>&1 ||
  { cat "$work/out"; echo "FAIL: run.sh exited non-zero"; exit 1; }
cat "$LOG"
build=$(grep '^cmake --build' "$LOG") || { echo "FAIL: run.sh did not build"; exit 1; }
[[ $build == *"--target dcgan"* ]] || { echo "FAIL: run.sh builds more than dcgan: $build"; exit 1; }
grep -q '^dcgan train --data data/svhn_sample_32x32.mat .*--epochs 1$' "$LOG" ||
  { echo "FAIL: run.sh did not start training on the bundled sample"; exit 1; }
echo "ok: run.sh builds only dcgan, then trains"
