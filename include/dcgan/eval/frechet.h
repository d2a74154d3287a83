#pragma once

#include <torch/torch.h>

namespace dcgan::eval {

// Mean and covariance of a set of feature vectors, in float64.
struct FeatureStats {
  torch::Tensor mean;        // D
  torch::Tensor covariance;  // D x D, unbiased (N - 1), as numpy.cov and pytorch-fid
  int64_t count = 0;
};

// Statistics of N x D features (N >= 2).
FeatureStats feature_stats(const torch::Tensor& features);

// The Fréchet distance between the Gaussians N(mu1, S1) and N(mu2, S2):
// |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)). The trace of the square root is computed in
// float64 as the sum of the square roots of the eigenvalues of the symmetric PSD matrix
// S1^(1/2) S2 S1^(1/2) (which has the same eigenvalues as S1 S2), with tiny negative eigenvalues
// from rounding clamped to 0: no complex parts to drop, unlike scipy's sqrtm.
double frechet_distance(const FeatureStats& a, const FeatureStats& b);

// The same from the raw N x D feature matrices.
double frechet_distance(const torch::Tensor& features_a, const torch::Tensor& features_b);

}  // namespace dcgan::eval
