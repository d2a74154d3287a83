#!/usr/bin/env bash
# Programs built here take libstdc++'s functions from libstdc++, not from a library that exports its
# own copies of them (PyTorch's pip wheels do; see the top-level CMakeLists.txt):
#   1. the probe, linked against a stand-in for such a library, removes a folder with libstdc++'s
#      std::filesystem::remove_all;
#   2. libstdc++ comes before LibTorch in each program's list of needed libraries.
#   tests/link_order/link_order_test.sh PROBE WORK_DIR PROGRAM...
set -euo pipefail
probe=$1 work=$2
shift 2
rm -rf "$work"
"$probe" "$work/folder"

for program in "$@"; do
  needed=$(readelf -d "$program" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  stdcxx=$(grep -n '^libstdc++\.so' <<< "$needed" | cut -d: -f1 | head -n 1)
  torch=$(grep -n '^libtorch\|^libc10' <<< "$needed" | cut -d: -f1 | head -n 1)
  if [[ -z $stdcxx || -z $torch ]]; then
    echo "link_order_test: $program needs no libstdc++ or no LibTorch library:" $needed >&2
    exit 1
  fi
  if ((stdcxx > torch)); then
    echo "link_order_test: $program needs LibTorch (entry $torch) before libstdc++ (entry $stdcxx)" >&2
    exit 1
  fi
  echo "link_order_test: $(basename "$program"): libstdc++ is needed entry $stdcxx, LibTorch's first $torch"
done
