#include "dcgan/models/discriminator.h"

#include "dcgan/models/spectral_norm.h"

namespace dcgan::models {
namespace {

torch::nn::Conv2dOptions strided_conv(int64_t in, int64_t out, bool bias) {
  return torch::nn::Conv2dOptions(in, out, /*kernel_size=*/4).stride(2).padding(1).bias(bias);
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
  const bool norm = options_.batch_norm();
  convs.assign(halvings + 1, nullptr);
  bns.assign(halvings + 1, nullptr);
  for (size_t i = 1; i <= halvings; ++i) {
    const int64_t in = i == 1 ? 3 : widths[halvings - i + 1], out = widths[halvings - i];
    const auto n = std::to_string(i);
    // The first has neither BatchNorm nor bias, as in the notebook.
    convs[i] = register_module("conv" + n, torch::nn::Conv2d(strided_conv(in, out, i > 1 && !norm)));
    if (i > 1 && norm) bns[i] = register_module("bn" + n, torch::nn::BatchNorm2d(out));
  }
  if (options_.arch() == Arch::kNotebook) {
    fc = register_module("fc", torch::nn::Linear(widths[0] * 4 * 4, 1));  // -> {1}
  } else {
    conv_out = register_module(  // {W0,4,4} -> {1,1,1}
        "conv_out",
        torch::nn::Conv2d(torch::nn::Conv2dOptions(widths[0], 1, 4).stride(1).padding(0).bias(false)));
  }
  if (options_.spectral_norm()) {
    for (size_t i = 1; i <= halvings; ++i) add_spectral_norm_buffers(*convs[i], convs[i]->weight);
    if (!fc.is_empty()) add_spectral_norm_buffers(*fc, fc->weight);
    if (!conv_out.is_empty()) add_spectral_norm_buffers(*conv_out, conv_out->weight);
  }
}

torch::Tensor DiscriminatorImpl::convolve(torch::nn::Conv2d& conv, const torch::Tensor& x,
                                          int64_t padding) {
  if (!options_.spectral_norm()) return conv(x);
  return torch::conv2d(x, spectrally_normalized_weight(*conv, conv->weight, is_training()),
                       conv->bias, conv->options.stride(), padding);
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
    x = seen("conv" + n, convolve(convs[i], x, /*padding=*/1));
    if (!bns[i].is_empty()) x = seen("bn" + n, bns[i](x));
    x = seen("leaky_relu" + n, torch::leaky_relu(x, 0.2));
  }
  if (!conv_out.is_empty()) {
    x = seen("conv_out", convolve(conv_out, x, /*padding=*/0));
    return seen("flatten", x.flatten(1));
  }
  x = seen("flatten", x.flatten(1));
  if (options_.spectral_norm())
    return seen("fc", torch::linear(x, spectrally_normalized_weight(*fc, fc->weight, is_training()),
                                    fc->bias));
  return seen("fc", fc(x));
}

torch::Tensor DiscriminatorImpl::probability(const torch::Tensor& images) {
  return torch::sigmoid(forward(images));
}

}  // namespace dcgan::models
