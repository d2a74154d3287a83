#include "dcgan/models/spec.h"

#include "dcgan/util/errors.h"

namespace dcgan::models {

Arch parse_arch(const std::string& name) {
  if (name == "notebook") return Arch::kNotebook;
  if (name == "pytorch-examples") return Arch::kPytorchExamples;
  throw InputError("--arch must be notebook or pytorch-examples, got '" + name + "'");
}

std::string to_string(Arch arch) {
  return arch == Arch::kNotebook ? "notebook" : "pytorch-examples";
}

LatentDistribution latent_distribution(Arch arch) {
  return arch == Arch::kNotebook ? LatentDistribution::kUniform : LatentDistribution::kNormal;
}

bool is_supported_image_size(int64_t side) {
  return side == 32 || side == 64 || side == 128 || side == 256;
}

void check_image_size(int64_t side) {
  if (!is_supported_image_size(side)) {
    throw InputError("--image-size must be 32, 64, 128 or 256, got " + std::to_string(side));
  }
}

std::vector<int64_t> feature_widths(int64_t conv_dim, int64_t image_size) {
  check_image_size(image_size);
  std::vector<int64_t> widths;
  // One map per side from 4 up to image_size / 2, each half as wide as the one before.
  for (int64_t side = 4, width = conv_dim * image_size / 8; side < image_size; side *= 2) {
    widths.push_back(width);
    width /= 2;
  }
  return widths;
}

}  // namespace dcgan::models
