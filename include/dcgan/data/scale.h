#pragma once

#include <torch/torch.h>

namespace dcgan::data {

// The notebook's `scale`: uint8 pixels [0, 255] -> float in [lo, hi] (default [-1, 1], tanh's
// range).
torch::Tensor scale(const torch::Tensor& pixels, double lo = -1.0, double hi = 1.0);

// The inverse, for writing images: float in [lo, hi] -> uint8 [0, 255], rounded and clamped like
// torchvision's save_image.
torch::Tensor unscale(const torch::Tensor& values, double lo = -1.0, double hi = 1.0);

}  // namespace dcgan::data
