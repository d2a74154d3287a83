#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dcgan::models {

// Which DCGAN design the networks follow.
enum class Arch {
  // The DCGAN_Exercise notebook: z -> Linear -> 4x4 map; D ends in flatten + Linear.
  kNotebook,
  // pytorch/examples/dcgan and PyTorch's DCGAN tutorial, all-convolutional: z -> 4x4 transposed
  // convolution (+ BatchNorm, ReLU); D ends in a 4x4 convolution to one value.
  kPytorchExamples,
};

Arch parse_arch(const std::string& name);  // "notebook" | "pytorch-examples"; InputError otherwise
std::string to_string(Arch arch);

// How z is drawn for each arch, as its source does: the notebook z ~ U(-1, 1), pytorch/examples
// z ~ N(0, 1).
enum class LatentDistribution { kUniform, kNormal };
LatentDistribution latent_distribution(Arch arch);

// The image sides the networks are built for: 4x4 doubled once per transposed convolution.
bool is_supported_image_size(int64_t side);
// InputError "--image-size must be 32, 64, 128 or 256, got N" otherwise.
void check_image_size(int64_t side);

// The one place the depth and widths of both networks come from. The feature maps between 4x4 and
// the image, smallest first: for image_size 64 and conv_dim C, {8C (4x4), 4C (8x8), 2C (16x16),
// C (32x32)}. The generator walks it forward (then to 3 channels), the discriminator backward (from
// 3 channels). At image_size 32 it is the notebook's {4C, 2C, C}.
std::vector<int64_t> feature_widths(int64_t conv_dim, int64_t image_size);

}  // namespace dcgan::models
