#pragma once

#include <torch/torch.h>

#include <vector>

#include "dcgan/models/layer_observer.h"
#include "dcgan/models/spec.h"

namespace dcgan::models {

struct GeneratorOptions {
  GeneratorOptions(int64_t z_size = 100, int64_t conv_dim = 128)
      : z_size_(z_size), conv_dim_(conv_dim) {}
  // Length of the latent vector z.
  TORCH_ARG(int64_t, z_size);
  // Width of the last hidden feature map (pytorch/examples' ngf); the first, 4x4, is
  // conv_dim * image_size / 8 wide.
  TORCH_ARG(int64_t, conv_dim);
  // Side of the square images made: 32, 64, 128 or 256.
  TORCH_ARG(int64_t, image_size) = 32;
  TORCH_ARG(Arch, arch) = Arch::kNotebook;
  // false (--no-batch-norm): no BatchNorm layers; the transposed convolutions they followed get a
  // bias instead.
  TORCH_ARG(bool, batch_norm) = true;
};

// z -> a 4x4 map -> one 4x4 stride-2 transpose conv (no bias) per doubling of the side, with
// BatchNorm + ReLU between, tanh at the end: N x z_size -> N x 3 x S x S in [-1, 1].
// The notebook's z -> 4x4 step is `fc` (Linear); pytorch/examples' is `t_conv0` (a 4x4 transpose
// conv from z as a 1x1 map) with `bn0` + ReLU. At image_size 32 the notebook arch is exactly the
// notebook's generator: fc, t_conv1, bn1, t_conv2, bn2, t_conv3.
class GeneratorImpl : public torch::nn::Module {
 public:
  explicit GeneratorImpl(GeneratorOptions options = GeneratorOptions());
  void reset();

  // `observe`, when given, sees every layer's output in order.
  torch::Tensor forward(const torch::Tensor& z, const LayerObserver& observe = nullptr);

  const GeneratorOptions& options() const { return options_; }

  // t_conv(1) .. t_conv(doublings()); bn(1) .. bn(doublings() - 1), and bn(0) for pytorch-examples
  // (all empty without batch_norm).
  torch::nn::ConvTranspose2d& t_conv(size_t i) { return t_convs.at(i); }
  torch::nn::BatchNorm2d& bn(size_t i) { return bns.at(i); }
  size_t doublings() const { return t_convs.size() - 1; }

  torch::nn::Linear fc{nullptr};  // notebook only
  // Index i holds t_conv<i> and bn<i>; index 0 is pytorch-examples' z projection (empty for the
  // notebook), and the last transpose conv has no BatchNorm.
  std::vector<torch::nn::ConvTranspose2d> t_convs;
  std::vector<torch::nn::BatchNorm2d> bns;

 private:
  GeneratorOptions options_;
};
TORCH_MODULE(Generator);

}  // namespace dcgan::models
