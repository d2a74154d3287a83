#pragma once

#include <torch/torch.h>

#include <string>

namespace dcgan::models {

// How a class-conditional GAN uses its labels (`dcgan train --conditional METHOD`).
enum class Conditioning {
  kNone,
  // G: conditional BatchNorm, a gain and a bias per class (de Vries et al. 2017, as in BigGAN);
  // D: its logit plus the inner product of a class embedding with its pooled features (the
  // projection discriminator, Miyato & Koyama 2018).
  kProjection,
  // G: z with the one-hot label appended; D: an auxiliary classifier head whose cross-entropy
  // joins both losses (AC-GAN, Odena et al. 2017).
  kAcgan,
};

// Whether an acgan D's logit also gets the projection term (acgan_projection in
// DiscriminatorOptions) when --no-acgan-projection is not given: on for acgan, which measured
// better with it (docs/QUALITY.md); meaningless otherwise.
bool default_acgan_projection(Conditioning conditioning);

// "none" | "projection" | "acgan"; InputError otherwise.
Conditioning parse_conditioning(const std::string& name);
std::string to_string(Conditioning conditioning);

// The most classes a conditional model holds (a row per class in each embedding).
constexpr int64_t kMaxClasses = 1000;

// Refuses labels that are not int64 class indices in [0, classes): InputError naming `what`.
void check_labels(const torch::Tensor& labels, int64_t classes, const std::string& what);

struct ConditionalBatchNorm2dOptions {
  ConditionalBatchNorm2dOptions(int64_t features, int64_t classes)
      : features_(features), classes_(classes) {}
  TORCH_ARG(int64_t, features);
  TORCH_ARG(int64_t, classes);
  TORCH_ARG(double, eps) = 1e-5;
  TORCH_ARG(double, momentum) = 0.1;
};

// BatchNorm2d without an affine of its own, then out = x_hat * gain[label] + bias[label]. The
// gains start at 1 and the biases at 0, so an untrained layer is plain BatchNorm; its running
// statistics are BatchNorm's (`bn`), shared by every class.
class ConditionalBatchNorm2dImpl : public torch::nn::Module {
 public:
  explicit ConditionalBatchNorm2dImpl(ConditionalBatchNorm2dOptions options);
  void reset();

  // x: N x features x H x W; labels: N class indices.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels);

  const ConditionalBatchNorm2dOptions& options() const { return options_; }

  torch::nn::BatchNorm2d bn{nullptr};                      // affine off
  torch::nn::Embedding gain{nullptr}, bias{nullptr};       // classes x features

 private:
  ConditionalBatchNorm2dOptions options_;
};
TORCH_MODULE(ConditionalBatchNorm2d);

// The projection discriminator's class term: per sample, <embedding[label], h> with h the features
// summed over their spatial positions (N x C x H x W -> N x C). Returns N x 1, to add to the logit.
torch::Tensor projection_term(const torch::Tensor& features, const torch::Tensor& labels,
                              const torch::nn::Embedding& embedding);

// AC-GAN's generator input: z (N x Z) with the one-hot label appended, N x (Z + classes).
torch::Tensor with_one_hot(const torch::Tensor& z, const torch::Tensor& labels, int64_t classes);

}  // namespace dcgan::models
