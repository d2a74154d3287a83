#!/usr/bin/env bash
# Installs the Debian packages dcgan needs to build, test and plot, skipping those already present.
# The one package list for Debian 12 and 13 (scripts/test_debian13.sh runs it in its Debian 13 root).
set -euo pipefail
packages=(build-essential cmake ninja-build pkg-config libtorch-dev libcxxopts-dev libspdlog-dev
          libstb-dev libmatio-dev zlib1g-dev libgtest-dev libgmock-dev nlohmann-json3-dev gnuplot-nox
          python3-torch libdeflate-dev libhdf5-dev libgloo-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
echo "Installing: ${missing[*]}"
# As root (also inside scripts/test_debian13.sh's Debian 13 root) or through sudo; waits for another
# apt run to finish instead of failing on its lock.
sudo=()
[[ $(id -u) -ne 0 ]] && sudo=(sudo)
apt_get=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600)
"${apt_get[@]}" update -qq
"${apt_get[@]}" install -y -qq --no-install-recommends "${missing[@]}"
