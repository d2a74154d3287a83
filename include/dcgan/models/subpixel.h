#pragma once

#include <torch/torch.h>

namespace dcgan::models {

// ConvTranspose2d(kernel 4, stride 2, padding 1, no bias) computed as one 3x3 convolution into
// 4x the channels followed by pixel_shuffle(2). Same weights (the ConvTranspose2d layout
// Cin x Cout x 4 x 4), same result to float rounding, and gradients flow to `weight` through the
// re-arrangement. Why: on CPU, LibTorch runs transposed convs through a slow im2col + reference
// BLAS path, while plain convs go to oneDNN; this is 10x faster there for the generator's layers.
torch::Tensor subpixel_conv_transpose(const torch::Tensor& input, const torch::Tensor& weight);

}  // namespace dcgan::models
