#pragma once

#include <torch/torch.h>

#include <string>

namespace dcgan::image {

// Writes a uint8 C x H x W image (C = 1 or 3) as PNG, atomically. Throws naming the file on
// failure.
void write_png(const std::string& path, const torch::Tensor& chw);

// Reads a PNG/JPEG as uint8 3 x H x W (for tests and tools). Throws dcgan::InputError on failure.
torch::Tensor read_image(const std::string& path);

}  // namespace dcgan::image
