#include "dcgan/eval/frechet.h"

namespace dcgan::eval {
namespace {

// Symmetric eigenvalues/vectors of a float64 matrix; eigh exists as at::linalg_eigh in LibTorch
// 1.13 and 2.x alike.
std::tuple<torch::Tensor, torch::Tensor> symmetric_eigen(const torch::Tensor& m) {
  const auto symmetric = (m + m.t()) / 2;  // rounding leaves tiny asymmetries
  return at::linalg_eigh(symmetric);
}

torch::Tensor psd_sqrt(const torch::Tensor& m) {
  const auto [values, vectors] = symmetric_eigen(m);
  return vectors.matmul(torch::diag(values.clamp_min(0).sqrt())).matmul(vectors.t());
}

}  // namespace

FeatureStats feature_stats(const torch::Tensor& features) {
  TORCH_CHECK(features.dim() == 2 && features.size(0) >= 2,
              "feature_stats: need N x D features with N >= 2, got ", features.sizes());
  const auto x = features.to(torch::kCPU, torch::kFloat64);
  FeatureStats stats;
  stats.count = x.size(0);
  stats.mean = x.mean(0);
  const auto centred = x - stats.mean;
  stats.covariance = centred.t().matmul(centred) / static_cast<double>(stats.count - 1);
  return stats;
}

double frechet_distance(const FeatureStats& a, const FeatureStats& b) {
  TORCH_CHECK(a.mean.sizes() == b.mean.sizes(), "frechet_distance: feature sizes differ");
  const auto diff = a.mean - b.mean;
  const auto root_a = psd_sqrt(a.covariance);
  const auto [values, vectors] = symmetric_eigen(root_a.matmul(b.covariance).matmul(root_a));
  const double trace_sqrt = values.clamp_min(0).sqrt().sum().item<double>();
  const double fd = diff.dot(diff).item<double>() + a.covariance.trace().item<double>() +
                    b.covariance.trace().item<double>() - 2 * trace_sqrt;
  return std::max(fd, 0.0);  // rounding can leave -1e-12 for identical sets
}

double frechet_distance(const torch::Tensor& features_a, const torch::Tensor& features_b) {
  return frechet_distance(feature_stats(features_a), feature_stats(features_b));
}

}  // namespace dcgan::eval
