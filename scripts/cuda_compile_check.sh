#!/usr/bin/env bash
# Compile check of the CUDA-only code, on machines without a GPU or a CUDA LibTorch: every file under
# src/ include/ tests/ bench/ that includes ATen/cuda or c10/cuda, or has code under
# #if(def) DCGAN_WITH_CUDA_GRAPHS or DCGAN_WITH_NCCL, is compiled with -fsyntax-only
# against Debian 13's libtorch-cuda-dev 2.6 headers and the CUDA runtime headers. Linking is not
# checked (Debian ships no cuDNN). The headers are fetched with `apt-get download` + `dpkg -x` in the
# Debian 13 root of scripts/debian13_root.sh (not installed: libtorch-cuda-dev pulls in nvidia-cudnn,
# whose installer downloads from outside Debian) and cached in DCGAN_CUDA_HEADERS
# (default ~/.cache/dcgan/cuda-headers-2.6). CUDA runtime headers: DCGAN_CUDA_INCLUDE, else
# /usr/local/cuda/include when present, else Debian 13's nvidia-cuda-dev (non-free), extracted too.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
cache=${DCGAN_CUDA_HEADERS:-$HOME/.cache/dcgan/cuda-headers-2.6}
cuda_include=${DCGAN_CUDA_INCLUDE:-}
if [[ -z $cuda_include && -f /usr/local/cuda/include/cuda_runtime_api.h ]]; then
  cuda_include=/usr/local/cuda/include
fi
# Debian packages whose headers the check needs; nvidia-cuda-dev only without local CUDA headers.
packages=(libtorch-cuda-dev)
# (nvidia-cuda-dev is a 930 MB download, holding the cuBLAS/cuSPARSE/cuSOLVER headers too.)
[[ -n $cuda_include ]] || packages+=(nvidia-cuda-dev)
# NCCL's header for src/distributed/nccl.cpp (ProcessGroupNCCL), from contrib where the CUDA headers lack it.
[[ -n $cuda_include && -f $cuda_include/nccl.h ]] || packages+=(libnccl-dev)
marker=$cache/.complete-$(echo "${packages[*]}" | tr ' ' '+')

fetch_headers() {  # runs as root in the Debian 13 root's mount namespace
  # shellcheck source=scripts/debian13_root.sh
  source "$repo/scripts/debian13_root.sh"
  debian13_enter --fetch-headers
  debian13_prepare
  debian13_run apt-get update -qq
  rm -rf --one-file-system "$debian13_root/tmp/debs"
  # Owned by _apt, so that apt downloads as that user rather than warning and doing it as root.
  debian13_run sh -c "mkdir /tmp/debs && chown _apt /tmp/debs && cd /tmp/debs &&
    apt-get download -qq ${packages[*]}"
  rm -rf --one-file-system "$cache.partial"
  mkdir -p "$cache.partial"
  local deb
  for deb in "$debian13_root"/tmp/debs/*.deb; do
    echo "  extracting $(basename "$deb")"
    dpkg -x "$deb" "$cache.partial"
  done
  rm -rf --one-file-system "$debian13_root/tmp/debs"
  touch "$cache.partial/$(basename "$marker")"
  rm -rf --one-file-system "$cache"
  mv "$cache.partial" "$cache"
}

if [[ ${1:-} == --fetch-headers ]]; then
  fetch_headers
  exit 0
fi
if [[ ! -f $marker ]]; then
  echo "Fetching the headers of Debian 13's ${packages[*]} into $cache"
  # The fetch re-runs this script as root in a mount namespace; the cache path goes with it.
  DCGAN_CUDA_HEADERS=$cache DCGAN_CUDA_INCLUDE=$cuda_include "$0" --fetch-headers
fi
[[ -n $cuda_include ]] || cuda_include=$cache/usr/include
torch_include=$cache/usr/include
[[ -f $torch_include/ATen/cuda/CUDAContext.h ]] ||
  { echo "cuda_compile_check: no ATen/cuda headers in $torch_include" >&2; exit 1; }
[[ -f $cuda_include/cuda_runtime_api.h ]] ||
  { echo "cuda_compile_check: no cuda_runtime_api.h in $cuda_include" >&2; exit 1; }

# CUDA-only: includes ATen/cuda or c10/cuda, or has code only the CUDA build compiles (the graph
# step, NCCL; src/distributed/communicator.cpp also needs Gloo's headers, libgloo-dev).
mapfile -t files < <(grep -rlE '^\s*#\s*include\s*[<"](ATen|c10)/cuda/|^\s*#\s*if.*DCGAN_WITH_(CUDA_GRAPHS|NCCL)' \
  src include tests bench \
  --include='*.cpp' --include='*.cc' --include='*.cu' --include='*.h' --include='*.hpp' | sort)
[[ ${#files[@]} -gt 0 ]] || { echo "cuda_compile_check: no CUDA-only sources found" >&2; exit 1; }

# As the CMake build compiles CUDA code: the project's headers, the torch headers (and their C++ API
# folder), the CUDA runtime, the graph-capture code and c10d's NCCL enabled; spdlog, nlohmann_json,
# gtest from here.
flags=(-std=c++17 -fsyntax-only -Wall -Wextra -Wpedantic -Wno-unused-parameter
  -Iinclude -isystem "$torch_include" -isystem "$torch_include/torch/csrc/api/include"
  -isystem "$cuda_include" -DDCGAN_WITH_CUDA_GRAPHS=1 -DDCGAN_WITH_NCCL=1 -DUSE_C10D_NCCL -DUSE_C10D_GLOO)
cxx=${CXX:-g++}
echo "CUDA compile check: $($cxx --version | head -n 1); LibTorch headers $(
  sed -n 's/^#define TORCH_VERSION_[A-Z]* //p' "$torch_include/torch/csrc/api/include/torch/version.h" |
    paste -sd. -) from $cache; CUDA headers from $cuda_include"
failed=()
for file in "${files[@]}"; do
  echo "  checking $file"
  if [[ $file == *.h || $file == *.hpp ]]; then
    # A header through an #include, as its users see it (and without "#pragma once in main file").
    printf '#include "%s"\n' "$file" | "$cxx" "${flags[@]}" -I. -x c++ - || failed+=("$file")
  else
    "$cxx" "${flags[@]}" "$file" || failed+=("$file")
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "cuda_compile_check: FAILED to compile against LibTorch 2.6 CUDA: ${failed[*]}" >&2
  exit 1
fi
echo "CUDA compile check: ${#files[@]} file(s) compile"
