#include "dcgan/models/spectral_norm.h"

namespace dcgan::models {
namespace {

torch::Tensor normalized(const torch::Tensor& x) {
  // PyTorch's eps for spectral_norm: a zero vector stays finite.
  return x / x.norm().clamp_min(1e-12);
}

}  // namespace

void add_spectral_norm_buffers(torch::nn::Module& layer, const torch::Tensor& weight) {
  torch::NoGradGuard no_grad;
  const auto rows = weight.size(0), columns = weight.numel() / rows;
  layer.register_buffer("weight_u", normalized(torch::randn({rows}, weight.options())));
  layer.register_buffer("weight_v", normalized(torch::randn({columns}, weight.options())));
}

torch::Tensor spectrally_normalized_weight(torch::nn::Module& layer, const torch::Tensor& weight,
                                           bool update) {
  auto u = layer.named_buffers(/*recurse=*/false)["weight_u"];
  auto v = layer.named_buffers(/*recurse=*/false)["weight_v"];
  const auto matrix = weight.reshape({weight.size(0), -1});
  if (update) {
    torch::NoGradGuard no_grad;
    v.copy_(normalized(torch::mv(matrix.t(), u)));
    u.copy_(normalized(torch::mv(matrix, v)));
  }
  // Clones: autograd keeps these, and the next forward updates u and v in place.
  const auto sigma = torch::dot(u.clone(), torch::mv(matrix, v.clone()));
  return weight / sigma;
}

}  // namespace dcgan::models
