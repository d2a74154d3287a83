#!/usr/bin/env bash
# Unpacks dcgan's Debian build dependencies, all but LibTorch and the compiler, into one folder:
# for a GPU machine that has PyTorch (pip install torch, whose LibTorch dcgan builds against) but no
# package access. Run it where apt works (Debian 12, as root or not), copy the folder over, and give
# it to scripts/gpu_check.sh (which sets the paths below itself).
#   scripts/offline_prefix.sh PREFIX
# To build by hand with it:
#   export PATH=PREFIX/usr/bin:$PATH PKG_CONFIG_SYSROOT_DIR=PREFIX
#   export PKG_CONFIG_PATH=PREFIX/usr/lib/x86_64-linux-gnu/pkgconfig:PREFIX/usr/share/pkgconfig
#   export LD_LIBRARY_PATH=PREFIX/usr/lib/x86_64-linux-gnu
#   cmake -S . -B build -DCMAKE_PREFIX_PATH="PREFIX/usr;$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')"
set -euo pipefail
prefix=$(realpath -m "${1:?usage: scripts/offline_prefix.sh PREFIX}")
# The -dev packages of scripts/install_deps.sh that LibTorch does not bring, the shared libraries
# they link, and pkg-config (a GPU image may have none).
packages=(
  libcxxopts-dev libspdlog-dev libspdlog1.10 libfmt-dev libfmt9 libstb-dev libstb0
  libmatio-dev libmatio11 libhdf5-dev libhdf5-103-1 libhdf5-hl-100 libsz2 libaec0 libaec-dev
  libdeflate-dev libdeflate0 zlib1g zlib1g-dev nlohmann-json3-dev libgtest-dev libgmock-dev
  libgloo-dev pkgconf pkgconf-bin pkg-config libpkgconf3 ninja-build
)
download=$(mktemp -d)
trap 'rm -rf "$download"' EXIT
apt-cache show libmatio-dev >/dev/null 2>&1 || apt-get update -qq
(cd "$download" && apt-get download "${packages[@]}" >/dev/null)
mkdir -p "$prefix"
for deb in "$download"/*.deb; do dpkg -x "$deb" "$prefix"; done
rm -rf "$prefix/usr/share/doc" "$prefix/usr/share/man"

lib=$prefix/usr/lib/x86_64-linux-gnu
# zlib's runtime library lives in /lib on Debian 12; the build looks in usr/lib.
if [[ -d $prefix/lib/x86_64-linux-gnu ]]; then cp -a "$prefix/lib/x86_64-linux-gnu/." "$lib/"; fi
echo "offline_prefix: $prefix holds ${#packages[@]} packages; check it with:"
echo "  PKG_CONFIG_SYSROOT_DIR=$prefix PKG_CONFIG_PATH=$lib/pkgconfig:$prefix/usr/share/pkgconfig" \
  "$prefix/usr/bin/pkg-config --modversion matio libdeflate hdf5-serial"
