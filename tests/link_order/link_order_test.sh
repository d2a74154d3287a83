#!/usr/bin/env bash
# Programs built here take libstdc++'s functions from libstdc++, not from a library that exports its
# own copies of them (PyTorch's pip wheels do; see the top-level CMakeLists.txt):
#   1. the probe, linked against a stand-in for such a library, removes a folder with libstdc++'s
#      std::filesystem::remove_all;
#   2. each program either needs a shared libstdc++ before LibTorch, or, where the toolchain links
#      libstdc++ statically, holds every std::filesystem function it calls, leaving none for
#      LibTorch to provide.
#   tests/link_order/link_order_test.sh PROBE WORK_DIR PROGRAM...
set -uo pipefail
probe=$1 work=$2
shift 2
rm -rf "$work"
mkdir -p "$(dirname "$work")"
"$probe" "$work" || exit 1

fail() { echo "link_order_test: $*" >&2; exit 1; }
for program in "$@"; do
  name=$(basename "$program")
  needed=$(readelf -d "$program" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p') ||
    fail "$program: readelf cannot read it"
  torch=$(grep -n -m 1 '^libtorch\|^libc10' <<< "$needed" | cut -d: -f1)
  [[ -n $torch ]] || fail "$name needs no LibTorch library:" $needed
  stdcxx=$(grep -n -m 1 '^libstdc++\.so' <<< "$needed" | cut -d: -f1)
  if [[ -n $stdcxx ]]; then
    ((stdcxx < torch)) ||
      fail "$name needs LibTorch (entry $torch) before libstdc++ (entry $stdcxx):" $needed
    echo "link_order_test: $name: libstdc++ is needed entry $stdcxx, LibTorch's first $torch"
  else
    # A static libstdc++: no std::filesystem function may be left for a shared library to define.
    left=$(nm -D --undefined-only "$program" | grep -c ' _ZNSt10filesystem')
    ((left == 0)) || fail "$name links libstdc++ statically but leaves $left std::filesystem" \
      "functions to its libraries:" \
      "$(nm -D --undefined-only "$program" | grep -m 3 -o '_ZNSt10filesystem[^ ]*' | paste -sd ' ')"
    echo "link_order_test: $name: libstdc++ linked in statically, with its std::filesystem calls"
  fi
done
