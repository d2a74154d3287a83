#pragma once

#include <torch/torch.h>

#include <vector>

#include "dcgan/models/conditioning.h"
#include "dcgan/models/layer_observer.h"
#include "dcgan/models/spec.h"

namespace dcgan::models {

struct DiscriminatorOptions {
  explicit DiscriminatorOptions(int64_t conv_dim = 128) : conv_dim_(conv_dim) {}
  // Width of the first conv (pytorch/examples' ndf); the last feature map is
  // conv_dim * image_size / 8 x 4 x 4.
  TORCH_ARG(int64_t, conv_dim);
  // Side of the square images judged: 32, 64, 128 or 256.
  TORCH_ARG(int64_t, image_size) = 32;
  TORCH_ARG(Arch, arch) = Arch::kNotebook;
  // false (--no-batch-norm): no BatchNorm layers; the convolutions they followed get a bias instead.
  TORCH_ARG(bool, batch_norm) = true;
  // Every convolution and the final layer divided by its largest singular value (--spectral-norm;
  // see spectral_norm.h); each layer gets the buffers weight_u and weight_v.
  TORCH_ARG(bool, spectral_norm) = false;
  // > 0 (--minibatch-std N): the last feature map gains a channel with the standard deviation over
  // groups of N images (see minibatch_std.h), which only the real/fake logit sees: `fc` (or
  // `conv_out`) takes W0 + 1 channels, the class head and the projection W0.
  TORCH_ARG(int64_t, minibatch_std) = 0;
  // Class-conditional (`dcgan train --conditional`): projection adds <embed(label), pooled
  // features> to the logit; acgan adds a classifier head. `classes`: 0 when unconditional.
  TORCH_ARG(Conditioning, conditioning) = Conditioning::kNone;
  TORCH_ARG(int64_t, classes) = 0;
  // acgan only: the logit also gets projection's class term (an `embed` beside the classifier), so
  // the real/fake judgement is of the image as that class, not of any image (docs/QUALITY.md).
  TORCH_ARG(bool, acgan_projection) = false;
};

// What D says of a batch: one logit per image, and with acgan conditioning the class logits of
// its auxiliary classifier (N x classes; undefined otherwise).
struct Judgement {
  torch::Tensor logit;
  torch::Tensor class_logits;
};

// The generator's mirror: one strided 4x4 conv (no bias) per halving of the side down to 4x4,
// BatchNorm on all but the first, leaky ReLU 0.2; then one logit: flatten + `fc` (Linear) for the
// notebook, `conv_out` (a 4x4 conv to one value, no bias) for pytorch-examples. forward() returns
// the logit: the sigmoid lives in the loss (BCE-with-logits), and probability() applies it for
// users. At image_size 32 the notebook arch is the notebook's: conv1, conv2, bn2, conv3, bn3, fc.
// With minibatch_std, a minibatch standard deviation channel joins the features before the logit.
class DiscriminatorImpl : public torch::nn::Module {
 public:
  explicit DiscriminatorImpl(DiscriminatorOptions options = DiscriminatorOptions());
  void reset();

  // N x 3 x S x S -> N x 1 logits. `observe`, when given, sees every layer's output in order.
  // A projection discriminator's logit without the class term (judge adds it).
  torch::Tensor forward(const torch::Tensor& images, const LayerObserver& observe = nullptr);
  // The logits with the class term of `labels` (projection, acgan_projection; none when labels are
  // undefined), and the class logits (acgan).
  Judgement judge(const torch::Tensor& images, const torch::Tensor& labels,
                  const LayerObserver& observe = nullptr);
  torch::Tensor probability(const torch::Tensor& images);

  const DiscriminatorOptions& options() const { return options_; }

  // conv(1) .. conv(halvings()); bn(2) .. bn(halvings()) (empty without batch_norm).
  torch::nn::Conv2d& conv(size_t i) { return convs.at(i); }
  torch::nn::BatchNorm2d& bn(size_t i) { return bns.at(i); }
  size_t halvings() const { return convs.size() - 1; }

  // Index i holds conv<i> and bn<i>; indices 0 (and 1 of bns) are empty.
  std::vector<torch::nn::Conv2d> convs;
  std::vector<torch::nn::BatchNorm2d> bns;
  torch::nn::Linear fc{nullptr};          // notebook
  torch::nn::Conv2d conv_out{nullptr};    // pytorch-examples
  torch::nn::Embedding embed{nullptr};    // projection (and acgan_projection): classes x W0
  torch::nn::Linear classifier{nullptr};   // acgan: W0*4*4 -> classes

 private:
  // conv(x), with the spectrally normalised weight when the options ask for it (`padding`: the
  // layer's own, which the options hold in a type that differs between LibTorch versions).
  torch::Tensor convolve(torch::nn::Conv2d& conv, const torch::Tensor& x, int64_t padding);

  DiscriminatorOptions options_;
};
TORCH_MODULE(Discriminator);

}  // namespace dcgan::models
