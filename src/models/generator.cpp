#include "dcgan/models/generator.h"

#include "dcgan/models/subpixel.h"

namespace dcgan::models {
namespace {

torch::nn::ConvTranspose2dOptions upsampling_conv(int64_t in, int64_t out) {
  return torch::nn::ConvTranspose2dOptions(in, out, /*kernel_size=*/4)
      .stride(2)
      .padding(1)
      .bias(false);
}

}  // namespace

GeneratorImpl::GeneratorImpl(GeneratorOptions options) : options_(options) {
  reset();
}

void GeneratorImpl::reset() {
  const int64_t c = options_.conv_dim();
  TORCH_CHECK(c >= 1, "Generator: conv_dim must be at least 1, got ", c);
  TORCH_CHECK(options_.z_size() >= 1, "Generator: z_size must be at least 1, got ",
              options_.z_size());
  fc = register_module("fc",
                       torch::nn::Linear(options_.z_size(), 4 * c * 4 * 4));  // {z} -> {4C,4,4}
  t_conv1 = register_module(
      "t_conv1", torch::nn::ConvTranspose2d(upsampling_conv(4 * c, 2 * c)));  // -> {2C,8,8}
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(2 * c));
  t_conv2 = register_module("t_conv2",
                            torch::nn::ConvTranspose2d(upsampling_conv(2 * c, c)));  // -> {C,16,16}
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(c));
  t_conv3 = register_module("t_conv3",
                            torch::nn::ConvTranspose2d(upsampling_conv(c, 3)));  // -> {3,32,32}
}

torch::Tensor GeneratorImpl::forward(const torch::Tensor& z, const LayerObserver& observe) {
  auto seen = [&](const char* layer, torch::Tensor x) {
    if (observe) observe(layer, x);
    return x;
  };
  // On CPU the same transposed convolutions run as sub-pixel convolutions (see subpixel.h);
  // CUDA's cuDNN has fast transposed convolutions of its own.
  const bool cpu = fc->weight.device().is_cpu();
  auto up = [cpu](torch::nn::ConvTranspose2d& layer, const torch::Tensor& x) {
    return cpu ? subpixel_conv_transpose(x, layer->weight) : layer(x);
  };
  const int64_t c = options_.conv_dim();
  auto x = seen("fc", fc(z));
  x = seen("view", x.view({-1, 4 * c, 4, 4}));
  x = seen("t_conv1", up(t_conv1, x));
  x = seen("bn1", bn1(x));
  x = seen("relu1", torch::relu(x));
  x = seen("t_conv2", up(t_conv2, x));
  x = seen("bn2", bn2(x));
  x = seen("relu2", torch::relu(x));
  x = seen("t_conv3", up(t_conv3, x));
  return seen("tanh", torch::tanh(x));
}

}  // namespace dcgan::models
