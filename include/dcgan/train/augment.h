#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace dcgan::train {

// Differentiable augmentation (DiffAugment, Zhao et al. 2020): every image the discriminator sees,
// real or generated, in the D step and in the G step, goes through the same random transforms, so
// D can't memorise a small training set and G still gets gradients through them.
enum class Augmentation { kColor, kTranslation, kCutout };

struct AugmentPolicy {
  std::vector<Augmentation> augmentations;  // applied as colour, translation, cutout
  // 1: DiffAugment's magnitudes (translation up to 1/8 of the side, a cutout half the side,
  // brightness +-0.5); 0: every transform is the identity.
  double strength = 1.0;

  bool enabled() const { return !augmentations.empty(); }
};

// --augment LIST ("color,translation,cutout" in any order; "" or "none": off) and
// --augment-strength. InputError naming the option otherwise.
AugmentPolicy parse_augment_policy(const std::string& list, double strength);
std::string to_string(const AugmentPolicy& policy);  // "color,translation,cutout", or "none"

// The random numbers of one augmentation: this many uniforms in [0, 1) per image.
constexpr int64_t kAugmentUniforms = 7;

// They come from the CPU generator, like z: a seed gives the same transforms on every device, and
// the checkpointed RNG state resumes a run with --augment exactly.
torch::Tensor draw_augment_uniforms(int64_t count);

// `images`: N x C x S x S in [-1, 1]; `uniforms`: N x kAugmentUniforms. Keeps the shape and the
// range. Colour moves each image part of the way toward black or white (brightness), toward its
// grey (saturation) and toward its mean (contrast): blends, so values stay in [-1, 1] where
// DiffAugment's shifts and gains can leave it. Translation shifts by whole pixels and cutout blanks
// a square; both fill with 0 (mid grey), as DiffAugment does. Device work only (no host reads),
// so the CUDA graph step captures it.
torch::Tensor augment(const torch::Tensor& images, const torch::Tensor& uniforms,
                      const AugmentPolicy& policy);

}  // namespace dcgan::train
