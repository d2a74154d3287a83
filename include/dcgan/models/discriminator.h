#pragma once

#include <torch/torch.h>

#include "dcgan/models/layer_observer.h"

namespace dcgan::models {

struct DiscriminatorOptions {
  explicit DiscriminatorOptions(int64_t conv_dim = 128) : conv_dim_(conv_dim) {}
  // Width of the first conv; the last feature map is 4*conv_dim x 4 x 4.
  TORCH_ARG(int64_t, conv_dim);
};

// The notebook's discriminator: three strided 4x4 convs (no bias; BatchNorm on all but the first),
// leaky ReLU 0.2, flatten, one linear unit. forward() returns the logit: the sigmoid lives in the
// loss (BCE-with-logits), and probability() applies it for users.
class DiscriminatorImpl : public torch::nn::Module {
 public:
  explicit DiscriminatorImpl(DiscriminatorOptions options = DiscriminatorOptions());
  void reset();

  // N x 3 x 32 x 32 -> N x 1 logits. `observe`, when given, sees every layer's output in order.
  torch::Tensor forward(const torch::Tensor& images, const LayerObserver& observe = nullptr);
  torch::Tensor probability(const torch::Tensor& images);

  const DiscriminatorOptions& options() const { return options_; }

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::BatchNorm2d bn2{nullptr}, bn3{nullptr};
  torch::nn::Linear fc{nullptr};

 private:
  DiscriminatorOptions options_;
};
TORCH_MODULE(Discriminator);

}  // namespace dcgan::models
