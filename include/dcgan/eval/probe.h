#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "dcgan/models/discriminator.h"

namespace dcgan::eval {

// The DCGAN paper's representation probe (Radford et al. 2015, section 5.1): the output of each of
// the discriminator's conv layers (after its activation) max-pooled to 4x4 and concatenated, for
// uint8 N x 3 x 32 x 32 images, in eval mode, in batches; N x (C + 2C + 4C) * 16, on the CPU.
torch::Tensor discriminator_features(models::Discriminator& discriminator,
                                     const torch::Tensor& images);

// The raw-pixel baseline: images scaled to [-1, 1] and flattened, N x 3072.
torch::Tensor pixel_features(const torch::Tensor& images);

// `per_class` indices of each digit 0-9 of `labels`, drawn with `seed`, in a seeded order.
// InputError when a digit has fewer images than that.
torch::Tensor balanced_subset(const torch::Tensor& labels, int64_t per_class, uint64_t seed,
                              int64_t classes = 10);

struct ProbeResult {
  double test_error = 0;     // share of test images misclassified
  double weight_decay = 0;   // the L2 penalty chosen on a held-out fifth of the training labels
  int64_t train_images = 0;  // labelled images it was trained on
  int64_t test_images = 0;
  int64_t feature_dim = 0;
};

// A linear classifier on standardised features: one-vs-rest regularised least squares (the
// least-squares L2-SVM), solved in closed form, deterministic for a given seed. The penalty is
// picked from a small grid on a seeded, class-stratified fifth of the training set, then the
// classifier is refitted on all of it and scored on the test features.
ProbeResult linear_probe(const torch::Tensor& train_features, const torch::Tensor& train_labels,
                         const torch::Tensor& test_features, const torch::Tensor& test_labels,
                         uint64_t seed);

nlohmann::json to_json(const ProbeResult& result);

}  // namespace dcgan::eval
