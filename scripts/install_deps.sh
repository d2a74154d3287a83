#!/usr/bin/env bash
# Installs the Debian packages dcgan needs to build, test and plot, skipping those already present.
set -euo pipefail
packages=(build-essential cmake ninja-build pkg-config libtorch-dev libcxxopts-dev libspdlog-dev
          libstb-dev libmatio-dev zlib1g-dev libgtest-dev libgmock-dev nlohmann-json3-dev gnuplot-nox
          python3-torch)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
echo "Installing: ${missing[*]}"
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
