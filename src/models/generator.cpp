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
  const auto conditioning = options_.conditioning();
  const int64_t classes = options_.classes();
  TORCH_CHECK(conditioning == Conditioning::kNone || (classes >= 2 && classes <= kMaxClasses),
              "Generator: a conditional generator needs 2-", kMaxClasses, " classes, got ", classes);
  TORCH_CHECK(conditioning != Conditioning::kProjection || norm,
              "Generator: projection conditioning works through BatchNorm, which is off");
  // AC-GAN: the one-hot label joins z as the first layer's input.
  const int64_t in = z + (conditioning == Conditioning::kAcgan ? classes : 0);
  t_convs.assign(widths.size() + 1, nullptr);
  bns.assign(widths.size(), nullptr);
  class_bns.assign(widths.size(), nullptr);
  // BatchNorm after the i-th layer: conditional BatchNorm (a gain and bias per class) with
  // projection conditioning.
  auto add_norm = [&](size_t i, int64_t width) {
    const auto name = "bn" + std::to_string(i);
    if (conditioning == Conditioning::kProjection) {
      class_bns[i] = register_module(
          name, ConditionalBatchNorm2d(ConditionalBatchNorm2dOptions(width, classes)));
    } else {
      bns[i] = register_module(name, torch::nn::BatchNorm2d(width));
    }
  };
  if (options_.arch() == Arch::kNotebook) {
    fc = register_module("fc", torch::nn::Linear(in, widths[0] * 4 * 4));  // {z} -> {W0,4,4}
  } else {
    t_convs[0] = register_module(  // {z,1,1} -> {W0,4,4}
        "t_conv0", torch::nn::ConvTranspose2d(
                       torch::nn::ConvTranspose2dOptions(in, widths[0], 4).stride(1).padding(0).bias(
                           !norm)));
    if (norm) add_norm(0, widths[0]);
  }
  // Each doubles the side and halves the width: {W[i-1],s,s} -> {W[i],2s,2s}, the last to 3.
  for (size_t i = 1; i < t_convs.size(); ++i) {
    const bool hidden = i < widths.size();  // followed by BatchNorm + ReLU; the last is not
    const int64_t out = hidden ? widths[i] : 3;
    t_convs[i] = register_module(
        "t_conv" + std::to_string(i),
        torch::nn::ConvTranspose2d(upsampling_conv(widths[i - 1], out, hidden && !norm)));
    if (hidden && norm) add_norm(i, out);
  }
}

torch::Tensor GeneratorImpl::forward(const torch::Tensor& z, const LayerObserver& observe) {
  return forward_with_labels(z, torch::Tensor(), observe);
}

torch::Tensor GeneratorImpl::forward_with_labels(const torch::Tensor& z_in,
                                                 const torch::Tensor& labels,
                                                 const LayerObserver& observe) {
  auto seen = [&](const std::string& layer, torch::Tensor x) {
    if (observe) observe(layer, x);
    return x;
  };
  TORCH_CHECK(labels.defined() == conditional(),
              conditional() ? "Generator: a conditional generator needs a label per z"
                            : "Generator: labels given to an unconditional generator");
  const auto z = options_.conditioning() == Conditioning::kAcgan
                     ? with_one_hot(z_in, labels.to(z_in.device()), options_.classes())
                     : z_in;
  auto normalize = [&](size_t i, const torch::Tensor& x) {
    return !class_bns[i].is_empty() ? class_bns[i](x, labels.to(x.device())) : bns[i](x);
  };
  auto has_norm = [&](size_t i) { return !bns[i].is_empty() || !class_bns[i].is_empty(); };
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
    const int64_t in = z.size(1);
    x = seen("view", z.view({-1, in, 1, 1}));
    auto& project = t_convs[0];
    x = seen("t_conv0", cpu ? with_bias(z.reshape({-1, in})
                                            .matmul(project->weight.reshape({in, -1}))
                                            .view({-1, first_width, 4, 4}),
                                        project->bias)
                            : project(x));
    if (has_norm(0)) x = seen("bn0", normalize(0, x));
    x = seen("relu0", torch::relu(x));
  }
  for (size_t i = 1; i < t_convs.size(); ++i) {
    const auto n = std::to_string(i);
    x = seen("t_conv" + n, up(t_convs[i], x));
    if (i == t_convs.size() - 1) break;
    if (has_norm(i)) x = seen("bn" + n, normalize(i, x));
    x = seen("relu" + n, torch::relu(x));
  }
  return seen("tanh", torch::tanh(x));
}

}  // namespace dcgan::models
