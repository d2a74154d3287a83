#!/usr/bin/env bash
# Downloads the official SVHN cropped-digit files (format 2) into data/ and checks their MD5s.
# Usage: scripts/download_svhn.sh [--extra]   (extra_32x32.mat is 1.3 GB, fetched only when asked)
set -euo pipefail
cd "$(dirname "$0")/.."
base=http://ufldl.stanford.edu/housenumbers
declare -A md5=(
  [train_32x32.mat]=e26dedcc434d2e4c54c9b2d4a06d8373
  [test_32x32.mat]=eb5a983be6a315427106f1b164d9cef3
  [extra_32x32.mat]=a93ce644f1a588dc4d68dda5feec44a7
)
files=(train_32x32.mat test_32x32.mat)
[[ ${1:-} == --extra ]] && files+=(extra_32x32.mat)

fetch() {  # url output
  if command -v curl >/dev/null; then
    curl -fL --connect-timeout 15 --retry 2 -o "$2" "$1"
  elif command -v wget >/dev/null; then
    wget -q --timeout=15 --tries=2 -O "$2" "$1"
  else
    echo "download_svhn: neither curl nor wget is installed (apt-get install curl)" >&2
    return 1
  fi
}

mkdir -p data
for f in "${files[@]}"; do
  if [[ -f data/$f ]] && echo "${md5[$f]}  data/$f" | md5sum -c --quiet - 2>/dev/null; then
    echo "data/$f: present, checksum ok"
    continue
  fi
  echo "Downloading $base/$f ..."
  # Into a .part file, moved into place only once its checksum matches.
  if ! fetch "$base/$f" "data/$f.part"; then
    rm -f "data/$f.part"
    echo "download_svhn: cannot download $base/$f (offline?)" >&2
    exit 1
  fi
  if ! echo "${md5[$f]}  data/$f.part" | md5sum -c --quiet -; then
    rm -f "data/$f.part"
    echo "download_svhn: data/$f: MD5 mismatch, download corrupt; deleted it, run again" >&2
    exit 1
  fi
  mv "data/$f.part" "data/$f"
  echo "data/$f: ok"
done
