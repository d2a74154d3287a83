#include "dcgan/data/scale.h"

namespace dcgan::data {

torch::Tensor scale(const torch::Tensor& pixels, double lo, double hi) {
  TORCH_CHECK(hi > lo, "scale: feature range must have hi > lo, got [", lo, ", ", hi, "]");
  return pixels.to(torch::kFloat32).mul_((hi - lo) / 255.0).add_(lo);
}

torch::Tensor unscale(const torch::Tensor& values, double lo, double hi) {
  TORCH_CHECK(hi > lo, "unscale: feature range must have hi > lo, got [", lo, ", ", hi, "]");
  return values.detach()
      .to(torch::kFloat32)
      .sub(lo)
      .mul_(255.0 / (hi - lo))
      .add_(0.5)
      .clamp_(0.0, 255.0)
      .to(torch::kUInt8);
}

}  // namespace dcgan::data
