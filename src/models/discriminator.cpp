#include "dcgan/models/discriminator.h"

namespace dcgan::models {
namespace {

torch::nn::Conv2dOptions strided_conv(int64_t in, int64_t out) {
  return torch::nn::Conv2dOptions(in, out, /*kernel_size=*/4).stride(2).padding(1).bias(false);
}

}  // namespace

DiscriminatorImpl::DiscriminatorImpl(DiscriminatorOptions options) : options_(options) {
  reset();
}

void DiscriminatorImpl::reset() {
  const int64_t c = options_.conv_dim();
  TORCH_CHECK(c >= 1, "Discriminator: conv_dim must be at least 1, got ", c);
  // The generator's widths backwards: {3,S,S} -> {W[k-1],S/2,S/2} -> ... -> {W[0],4,4}.
  const auto widths = feature_widths(c, options_.image_size());
  const size_t halvings = widths.size();
  convs.assign(halvings + 1, nullptr);
  bns.assign(halvings + 1, nullptr);
  for (size_t i = 1; i <= halvings; ++i) {
    const int64_t in = i == 1 ? 3 : widths[halvings - i + 1], out = widths[halvings - i];
    const auto n = std::to_string(i);
    convs[i] = register_module("conv" + n, torch::nn::Conv2d(strided_conv(in, out)));
    if (i > 1) bns[i] = register_module("bn" + n, torch::nn::BatchNorm2d(out));
  }
  if (options_.arch() == Arch::kNotebook) {
    fc = register_module("fc", torch::nn::Linear(widths[0] * 4 * 4, 1));  // -> {1}
  } else {
    conv_out = register_module(  // {W0,4,4} -> {1,1,1}
        "conv_out",
        torch::nn::Conv2d(torch::nn::Conv2dOptions(widths[0], 1, 4).stride(1).padding(0).bias(false)));
  }
}

torch::Tensor DiscriminatorImpl::forward(const torch::Tensor& images,
                                         const LayerObserver& observe) {
  auto seen = [&](const std::string& layer, torch::Tensor x) {
    if (observe) observe(layer, x);
    return x;
  };
  torch::Tensor x = images;
  for (size_t i = 1; i < convs.size(); ++i) {
    const auto n = std::to_string(i);
    x = seen("conv" + n, convs[i](x));
    if (i > 1) x = seen("bn" + n, bns[i](x));
    x = seen("leaky_relu" + n, torch::leaky_relu(x, 0.2));
  }
  if (!conv_out.is_empty()) {
    x = seen("conv_out", conv_out(x));
    return seen("flatten", x.flatten(1));
  }
  x = seen("flatten", x.flatten(1));
  return seen("fc", fc(x));
}

torch::Tensor DiscriminatorImpl::probability(const torch::Tensor& images) {
  return torch::sigmoid(forward(images));
}

}  // namespace dcgan::models
