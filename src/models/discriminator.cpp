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
  conv1 =
      register_module("conv1", torch::nn::Conv2d(strided_conv(3, c)));  // {3,32,32} -> {C,16,16}
  conv2 = register_module("conv2", torch::nn::Conv2d(strided_conv(c, 2 * c)));  // -> {2C,8,8}
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(2 * c));
  conv3 = register_module("conv3", torch::nn::Conv2d(strided_conv(2 * c, 4 * c)));  // -> {4C,4,4}
  bn3 = register_module("bn3", torch::nn::BatchNorm2d(4 * c));
  fc = register_module("fc", torch::nn::Linear(4 * c * 4 * 4, 1));  // -> {1}
}

torch::Tensor DiscriminatorImpl::forward(const torch::Tensor& images,
                                         const LayerObserver& observe) {
  auto seen = [&](const char* layer, torch::Tensor x) {
    if (observe) observe(layer, x);
    return x;
  };
  auto x = seen("conv1", conv1(images));
  x = seen("leaky_relu1", torch::leaky_relu(x, 0.2));
  x = seen("conv2", conv2(x));
  x = seen("bn2", bn2(x));
  x = seen("leaky_relu2", torch::leaky_relu(x, 0.2));
  x = seen("conv3", conv3(x));
  x = seen("bn3", bn3(x));
  x = seen("leaky_relu3", torch::leaky_relu(x, 0.2));
  x = seen("flatten", x.flatten(1));
  return seen("fc", fc(x));
}

torch::Tensor DiscriminatorImpl::probability(const torch::Tensor& images) {
  return torch::sigmoid(forward(images));
}

}  // namespace dcgan::models
