#include "dcgan/models/generator.h"

#include "dcgan/models/subpixel.h"

namespace dcgan::models {
namespace {

torch::nn::ConvTranspose2dOptions upsampling_conv(int64_t in, int64_t out, bool bias) {
  return torch::nn::ConvTranspose2dOptions(in, out, /*kernel_size=*/4)
      .stride(2)
      .padding(1)
      .bias(bias);
}

// A layer's per-channel bias added to an N x C x H x W map; nothing when the layer has none.
torch::Tensor with_bias(const torch::Tensor& x, const torch::Tensor& bias) {
  return bias.defined() ? x + bias.view({1, -1, 1, 1}) : x;
}

}  // namespace

GeneratorImpl::GeneratorImpl(GeneratorOptions options) : options_(options) {
  reset();
}

void GeneratorImpl::reset() {
  const int64_t c = options_.conv_dim(), z = options_.z_size();
  TORCH_CHECK(c >= 1, "Generator: conv_dim must be at least 1, got ", c);
  TORCH_CHECK(z >= 1, "Generator: z_size must be at least 1, got ", z);
  const auto widths = feature_widths(c, options_.image_size());
  const bool norm = options_.batch_norm();
  t_convs.assign(widths.size() + 1, nullptr);
  bns.assign(widths.size(), nullptr);
  if (options_.arch() == Arch::kNotebook) {
    fc = register_module("fc", torch::nn::Linear(z, widths[0] * 4 * 4));  // {z} -> {W0,4,4}
  } else {
    t_convs[0] = register_module(  // {z,1,1} -> {W0,4,4}
        "t_conv0", torch::nn::ConvTranspose2d(
                       torch::nn::ConvTranspose2dOptions(z, widths[0], 4).stride(1).padding(0).bias(
                           !norm)));
    if (norm) bns[0] = register_module("bn0", torch::nn::BatchNorm2d(widths[0]));
  }
  // Each doubles the side and halves the width: {W[i-1],s,s} -> {W[i],2s,2s}, the last to 3.
  for (size_t i = 1; i < t_convs.size(); ++i) {
    const bool hidden = i < widths.size();  // followed by BatchNorm + ReLU; the last is not
    const int64_t out = hidden ? widths[i] : 3;
    t_convs[i] = register_module(
        "t_conv" + std::to_string(i),
        torch::nn::ConvTranspose2d(upsampling_conv(widths[i - 1], out, hidden && !norm)));
    if (hidden && norm)
      bns[i] = register_module("bn" + std::to_string(i), torch::nn::BatchNorm2d(out));
  }
}

torch::Tensor GeneratorImpl::forward(const torch::Tensor& z, const LayerObserver& observe) {
  auto seen = [&](const std::string& layer, torch::Tensor x) {
    if (observe) observe(layer, x);
    return x;
  };
  // On CPU the transposed convolutions run as sub-pixel convolutions (see subpixel.h), and the
  // 4x4 projection of a 1x1 z as the matrix product it is; CUDA's cuDNN is fast at both.
  const bool cpu = t_convs.back()->weight.device().is_cpu();
  auto up = [cpu](torch::nn::ConvTranspose2d& layer, const torch::Tensor& x) {
    return cpu ? with_bias(subpixel_conv_transpose(x, layer->weight), layer->bias) : layer(x);
  };
  const int64_t first_width = t_convs[1]->options.in_channels();
  torch::Tensor x;
  if (!fc.is_empty()) {
    x = seen("fc", fc(z));
    x = seen("view", x.view({-1, first_width, 4, 4}));
  } else {
    x = seen("view", z.view({-1, options_.z_size(), 1, 1}));
    auto& project = t_convs[0];
    x = seen("t_conv0", cpu ? with_bias(z.reshape({-1, options_.z_size()})
                                            .matmul(project->weight.reshape({options_.z_size(), -1}))
                                            .view({-1, first_width, 4, 4}),
                                        project->bias)
                            : project(x));
    if (!bns[0].is_empty()) x = seen("bn0", bns[0](x));
    x = seen("relu0", torch::relu(x));
  }
  for (size_t i = 1; i < t_convs.size(); ++i) {
    const auto n = std::to_string(i);
    x = seen("t_conv" + n, up(t_convs[i], x));
    if (i == t_convs.size() - 1) break;
    if (!bns[i].is_empty()) x = seen("bn" + n, bns[i](x));
    x = seen("relu" + n, torch::relu(x));
  }
  return seen("tanh", torch::tanh(x));
}

}  // namespace dcgan::models
