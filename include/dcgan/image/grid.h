#pragma once

#include <torch/torch.h>

namespace dcgan::image {

// torchvision's make_grid for uint8 images: N x C x H x W -> C x H' x W', `nrow` images per row,
// `padding` pixels of `pad_value` around and between them. 16 32x32 images with nrow 8 and padding
// 2 give a 3 x 70 x 274 grid.
torch::Tensor make_grid(const torch::Tensor& images, int64_t nrow = 8, int64_t padding = 2,
                        uint8_t pad_value = 0);

}  // namespace dcgan::image
