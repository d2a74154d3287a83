#include "dcgan/train/augment.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "dcgan/util/errors.h"

namespace dcgan::train {
namespace {

// Columns of the uniforms.
enum Column : int64_t { kBrightness, kSaturation, kContrast, kShiftX, kShiftY, kCutoutX, kCutoutY };

torch::Tensor column(const torch::Tensor& uniforms, Column c) {
  return uniforms.select(1, c).view({-1, 1, 1, 1});
}

torch::Tensor color(const torch::Tensor& x, const torch::Tensor& u, double strength) {
  // Brightness: b in [-s/2, s/2], a blend of |b| toward white (b > 0) or black (b < 0).
  const auto b = (column(u, kBrightness) - 0.5) * strength;
  auto y = x + b.abs() * (b.sign() - x);
  // Saturation: toward the pixel's grey by up to s; contrast: toward the image's mean by up to s/2.
  const auto grey = y.mean(1, /*keepdim=*/true);
  y = y + column(u, kSaturation) * strength * (grey - y);
  const auto mean = y.mean({1, 2, 3}, /*keepdim=*/true);
  return y + column(u, kContrast) * (strength / 2) * (mean - y);
}

// Whole-pixel offsets in [-max, max], one per image, from uniforms in [0, 1).
torch::Tensor offsets(const torch::Tensor& u, int64_t max) {
  return (u * static_cast<double>(2 * max + 1)).floor().to(torch::kInt64).clamp(0, 2 * max) - max;
}

torch::Tensor translation(const torch::Tensor& x, const torch::Tensor& u, double strength) {
  const int64_t n = x.size(0), c = x.size(1), side = x.size(2);
  const auto max = static_cast<int64_t>(std::floor(side * 0.125 * strength + 0.5));
  if (max == 0) return x;
  const auto positions = torch::arange(side, x.options().dtype(torch::kInt64)).view({1, side});
  // Output pixel (i, j) is input pixel (i - dy, j - dx); outside the image it is 0.
  const auto rows = positions - offsets(u.select(1, kShiftY), max).view({n, 1});
  const auto cols = positions - offsets(u.select(1, kShiftX), max).view({n, 1});
  const auto inside = ((rows >= 0) & (rows < side)).view({n, 1, side, 1}) &
                      ((cols >= 0) & (cols < side)).view({n, 1, 1, side});
  const auto index = (rows.clamp(0, side - 1).view({n, side, 1}) * side +
                      cols.clamp(0, side - 1).view({n, 1, side}))
                         .view({n, 1, side * side})
                         .expand({n, c, side * side});
  const auto moved = x.flatten(2).gather(2, index).view(x.sizes());
  return moved * inside.to(x.dtype());
}

torch::Tensor cutout(const torch::Tensor& x, const torch::Tensor& u, double strength) {
  const int64_t n = x.size(0), side = x.size(2);
  const auto size = static_cast<int64_t>(std::floor(side * 0.5 * strength + 0.5));
  if (size == 0) return x;
  // The square's first row and column: its centre anywhere in the image, as DiffAugment places it.
  const double centres = static_cast<double>(side + 1 - size % 2);
  const auto first_row = ((u.select(1, kCutoutY) * centres).floor().to(torch::kInt64) - size / 2);
  const auto first_col = ((u.select(1, kCutoutX) * centres).floor().to(torch::kInt64) - size / 2);
  const auto positions = torch::arange(side, x.options().dtype(torch::kInt64)).view({1, side});
  const auto in_rows = (positions >= first_row.view({n, 1})) &
                       (positions < first_row.view({n, 1}) + size);
  const auto in_cols = (positions >= first_col.view({n, 1})) &
                       (positions < first_col.view({n, 1}) + size);
  const auto blank = in_rows.view({n, 1, side, 1}) & in_cols.view({n, 1, 1, side});
  return x * blank.logical_not().to(x.dtype());
}

}  // namespace

AugmentPolicy parse_augment_policy(const std::string& list, double strength) {
  if (!(strength >= 0 && strength <= 1)) {
    std::ostringstream message;
    message << "--augment-strength must be between 0 and 1, got " << strength;
    throw InputError(message.str());
  }
  AugmentPolicy policy;
  policy.strength = strength;
  if (list.empty() || list == "none") return policy;
  std::stringstream items(list);
  std::string item;
  while (std::getline(items, item, ',')) {
    Augmentation a;
    if (item == "color" || item == "colour") {
      a = Augmentation::kColor;
    } else if (item == "translation") {
      a = Augmentation::kTranslation;
    } else if (item == "cutout") {
      a = Augmentation::kCutout;
    } else {
      throw InputError("--augment: unknown augmentation '" + item +
                       "', expected a comma-separated list of color, translation, cutout (or none)");
    }
    if (std::find(policy.augmentations.begin(), policy.augmentations.end(), a) ==
        policy.augmentations.end()) {
      policy.augmentations.push_back(a);
    }
  }
  std::sort(policy.augmentations.begin(), policy.augmentations.end());
  return policy;
}

std::string to_string(const AugmentPolicy& policy) {
  if (!policy.enabled()) return "none";
  static const char* const names[] = {"color", "translation", "cutout"};
  std::string text;
  for (const auto a : policy.augmentations) {
    text += (text.empty() ? "" : ",") + std::string(names[static_cast<int>(a)]);
  }
  return text;
}

torch::Tensor draw_augment_uniforms(int64_t count) {
  return torch::rand({count, kAugmentUniforms});
}

torch::Tensor augment(const torch::Tensor& images, const torch::Tensor& uniforms,
                      const AugmentPolicy& policy) {
  TORCH_CHECK(images.dim() == 4 && images.size(2) == images.size(3),
              "augment: expected N x C x S x S images, got ", images.sizes());
  TORCH_CHECK(uniforms.dim() == 2 && uniforms.size(0) == images.size(0) &&
                  uniforms.size(1) == kAugmentUniforms,
              "augment: expected ", images.size(0), " x ", kAugmentUniforms, " uniforms, got ",
              uniforms.sizes());
  const auto u = uniforms.to(torch::kFloat32);
  auto x = images;
  for (const auto a : policy.augmentations) {
    switch (a) {
      case Augmentation::kColor: x = color(x, u, policy.strength); break;
      case Augmentation::kTranslation: x = translation(x, u, policy.strength); break;
      case Augmentation::kCutout: x = cutout(x, u, policy.strength); break;
    }
  }
  return x;
}

}  // namespace dcgan::train
