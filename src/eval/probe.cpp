#include "dcgan/eval/probe.h"

#include <algorithm>

#include <ATen/CPUGeneratorImpl.h>

#include "dcgan/data/scale.h"
#include "dcgan/util/errors.h"

namespace dcgan::eval {
namespace {

struct Linear {
  torch::Tensor weight;  // D x 10
  torch::Tensor bias;    // 10
};

// Regularised least squares on +-1 one-vs-rest targets (the least-squares form of the L2-SVM), in
// closed form through the N x N kernel: W = X^T (X X^T + lambda I)^-1 (T - b). With 1,000 labels
// and up to 14,336 features this is one small solve, deterministic, no iterations to tune.
Linear fit_linear(const torch::Tensor& x, const torch::Tensor& y, double penalty) {
  const int64_t n = x.size(0);
  auto targets = torch::full({n, 10}, -1.0, torch::kFloat64);
  targets.scatter_(1, y.view({n, 1}), 1.0);
  const auto bias = targets.mean(0);
  const auto kernel = x.matmul(x.t());
  // The penalty relative to the kernel's mean diagonal, so one grid suits every feature length.
  // Floored: features that are all constant (a zero kernel) still give a solvable system.
  const double lambda =
      penalty * std::max(kernel.trace().item<double>() / static_cast<double>(n), 1e-12);
  const auto alpha =
      at::linalg_solve(kernel + lambda * torch::eye(n, torch::kFloat64), targets - bias);
  return {x.t().matmul(alpha), bias};
}

double error_rate(const Linear& model, const torch::Tensor& x, const torch::Tensor& y) {
  const auto predicted = (x.matmul(model.weight) + model.bias).argmax(1);
  return predicted.ne(y).to(torch::kFloat64).mean().item<double>();
}

}  // namespace

torch::Tensor discriminator_features(models::Discriminator& discriminator,
                                     const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  const bool was_training = discriminator->is_training();
  discriminator->eval();
  const auto device = discriminator->parameters().front().device();
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < images.size(0); start += 500) {
    const auto batch = images.narrow(0, start, std::min<int64_t>(500, images.size(0) - start));
    std::vector<torch::Tensor> pooled;
    discriminator->forward(
        data::scale(batch.to(device)), [&](const std::string& layer, const torch::Tensor& output) {
          if (layer.rfind("leaky_relu", 0) == 0)
            pooled.push_back(std::get<0>(torch::adaptive_max_pool2d(output, {4, 4})).flatten(1));
        });
    parts.push_back(torch::cat(pooled, 1).cpu());
  }
  discriminator->train(was_training);
  return torch::cat(parts);
}

torch::Tensor pixel_features(const torch::Tensor& images) {
  return data::scale(images).flatten(1);
}

torch::Tensor balanced_subset(const torch::Tensor& labels, int64_t per_class, uint64_t seed,
                              int64_t classes) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<torch::Tensor> chosen;
  for (int64_t digit = 0; digit < classes; ++digit) {
    const auto of_digit = labels.eq(digit).nonzero().flatten();
    if (of_digit.size(0) < per_class) {
      throw InputError("the probe needs " + std::to_string(per_class) +
                       " labelled images of each class, class " + std::to_string(digit) + " has " +
                       std::to_string(of_digit.size(0)));
    }
    const auto order = torch::randperm(of_digit.size(0), generator, torch::kInt64);
    chosen.push_back(of_digit.index_select(0, order.narrow(0, 0, per_class)));
  }
  const auto all = torch::cat(chosen);
  return all.index_select(0, torch::randperm(all.size(0), generator, torch::kInt64));
}

ProbeResult linear_probe(const torch::Tensor& train_features, const torch::Tensor& train_labels,
                         const torch::Tensor& test_features, const torch::Tensor& test_labels,
                         uint64_t seed) {
  TORCH_CHECK(train_features.size(0) == train_labels.size(0) &&
                  test_features.size(0) == test_labels.size(0) && train_features.size(0) >= 10,
              "linear_probe: features and labels do not match");
  // Standardised with the training statistics, so one penalty grid suits every feature kind.
  auto train_x = train_features.to(torch::kFloat64);
  const auto mean = train_x.mean(0);
  const auto std = train_x.std(0).clamp_min(1e-6);
  train_x = (train_x - mean) / std;
  const auto test_x = (test_features.to(torch::kFloat64) - mean) / std;
  const auto train_y = train_labels.to(torch::kInt64);
  const auto test_y = test_labels.to(torch::kInt64);

  // A class-stratified fifth of the training set held out to pick the penalty.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<torch::Tensor> held_parts, kept_parts;
  for (int64_t digit = 0; digit < 10; ++digit) {
    const auto of_digit = train_y.eq(digit).nonzero().flatten();
    const auto shuffled =
        of_digit.index_select(0, torch::randperm(of_digit.size(0), generator, torch::kInt64));
    const int64_t n_held = shuffled.size(0) / 5;
    held_parts.push_back(shuffled.narrow(0, 0, n_held));
    kept_parts.push_back(shuffled.narrow(0, n_held, shuffled.size(0) - n_held));
  }
  const auto held = torch::cat(held_parts), kept = torch::cat(kept_parts);
  const auto fit_x = train_x.index_select(0, kept), fit_y = train_y.index_select(0, kept);
  const auto val_x = train_x.index_select(0, held), val_y = train_y.index_select(0, held);
  // With under five labels of a digit nothing is held out: a middle penalty then.
  double best_decay = 1e-1, best_error = 2;
  for (double decay : {1e-3, 1e-2, 1e-1, 1.0, 10.0}) {
    if (held.size(0) == 0) break;
    const double error = error_rate(fit_linear(fit_x, fit_y, decay), val_x, val_y);
    if (error <= best_error) best_error = error, best_decay = decay;  // ties: the stronger penalty
  }
  ProbeResult result;
  result.weight_decay = best_decay;
  result.train_images = train_x.size(0);
  result.test_images = test_x.size(0);
  result.feature_dim = train_x.size(1);
  result.test_error = error_rate(fit_linear(train_x, train_y, best_decay), test_x, test_y);
  return result;
}

nlohmann::json to_json(const ProbeResult& result) {
  return {{"test_error", result.test_error},
          {"weight_decay", result.weight_decay},
          {"train_images", result.train_images},
          {"test_images", result.test_images},
          {"feature_dim", result.feature_dim}};
}

}  // namespace dcgan::eval
