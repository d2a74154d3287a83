#pragma once

#include <torch/torch.h>

#include "dcgan/models/layer_observer.h"

namespace dcgan::models {

struct GeneratorOptions {
  GeneratorOptions(int64_t z_size = 100, int64_t conv_dim = 128)
      : z_size_(z_size), conv_dim_(conv_dim) {}
  // Length of the latent vector z.
  TORCH_ARG(int64_t, z_size);
  // Width of the last hidden feature map; the first is 4*conv_dim x 4 x 4.
  TORCH_ARG(int64_t, conv_dim);
};

// The notebook's generator: z -> Linear -> 4C x 4 x 4 -> three 4x4 stride-2 transpose convs (no
// bias) with BatchNorm + ReLU between, tanh at the end: N x z_size -> N x 3 x 32 x 32 in [-1, 1].
class GeneratorImpl : public torch::nn::Module {
 public:
  explicit GeneratorImpl(GeneratorOptions options = GeneratorOptions());
  void reset();

  // `observe`, when given, sees every layer's output in order.
  torch::Tensor forward(const torch::Tensor& z, const LayerObserver& observe = nullptr);

  const GeneratorOptions& options() const { return options_; }

  torch::nn::Linear fc{nullptr};
  torch::nn::ConvTranspose2d t_conv1{nullptr}, t_conv2{nullptr}, t_conv3{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};

 private:
  GeneratorOptions options_;
};
TORCH_MODULE(Generator);

}  // namespace dcgan::models
