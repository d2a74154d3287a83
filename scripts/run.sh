#!/usr/bin/env bash
# The main job: installs dependencies, builds, fetches SVHN when it can, and starts a training run.
# Without the real SVHN (offline machines) it trains on the bundled sample data/svhn_sample_32x32.mat.
# On a CPU it trains the notebook's conv_dim 32 model so the first sample grid appears within
# minutes; on a GPU it trains the default conv_dim 128 model. Extra arguments go to `dcgan train`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh --target dcgan  # the test suite is scripts/test.sh's; the first grid comes sooner

if [[ ! -f data/train_32x32.mat ]]; then
  scripts/download_svhn.sh || echo "run.sh: real SVHN not available; training on the bundled sample instead"
fi
if [[ -f data/train_32x32.mat ]]; then
  data=data/train_32x32.mat
else
  data=data/svhn_sample_32x32.mat
fi

out=runs/$(date +%Y-%m-%d_%H-%M-%S)
if build/dcgan --version | grep -q "CUDA: available"; then
  model=(--epochs 50)
else
  model=(--conv-dim 32 --epochs 30)
fi
echo "run.sh: training on $data; outputs in $out (samples/epoch_NNN.png after every epoch, losses.png, checkpoints/)"
exec build/dcgan train --data "$data" --out "$out" "${model[@]}" "$@"
