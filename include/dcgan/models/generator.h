#pragma once

#include <torch/torch.h>

#include <vector>

#include "dcgan/models/conditioning.h"
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
  // Class-conditional (`dcgan train --conditional`): how the label reaches the layers, and how
  // many classes there are (0 when unconditional).
  TORCH_ARG(Conditioning, conditioning) = Conditioning::kNone;
  TORCH_ARG(int64_t, classes) = 0;
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

  // `observe`, when given, sees every layer's output in order. A conditional generator needs one
  // class index per z (int64, N); an unconditional one takes none.
  torch::Tensor forward(const torch::Tensor& z, const LayerObserver& observe = nullptr);
  // (Not a forward overload: LibTorch's module holder needs forward to be one function.)
  torch::Tensor forward_with_labels(const torch::Tensor& z, const torch::Tensor& labels,
                                    const LayerObserver& observe = nullptr);
  bool conditional() const { return options_.conditioning() != Conditioning::kNone; }

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
  // --conditional projection: conditional BatchNorm in place of bns, under the same names.
  std::vector<ConditionalBatchNorm2d> class_bns;

 private:
  GeneratorOptions options_;
};
TORCH_MODULE(Generator);

}  // namespace dcgan::models
