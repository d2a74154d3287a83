#include "dcgan/models/conditioning.h"

#include "dcgan/util/errors.h"

namespace dcgan::models {

bool default_acgan_projection(Conditioning conditioning) {
  return conditioning == Conditioning::kAcgan;
}

Conditioning parse_conditioning(const std::string& name) {
  if (name == "none") return Conditioning::kNone;
  if (name == "projection") return Conditioning::kProjection;
  if (name == "acgan") return Conditioning::kAcgan;
  throw InputError("--conditional must be projection or acgan, got '" + name + "'");
}

std::string to_string(Conditioning conditioning) {
  switch (conditioning) {
    case Conditioning::kProjection:
      return "projection";
    case Conditioning::kAcgan:
      return "acgan";
    case Conditioning::kNone:
      break;
  }
  return "none";
}

void check_labels(const torch::Tensor& labels, int64_t classes, const std::string& what) {
  if (!labels.defined() || labels.scalar_type() != torch::kInt64 || labels.dim() != 1) {
    throw InputError(what + ": labels must be one int64 class index per image");
  }
  if (labels.numel() == 0) return;
  const auto low = labels.min().item<int64_t>(), high = labels.max().item<int64_t>();
  if (low < 0 || high >= classes) {
    throw InputError(what + ": label " + std::to_string(low < 0 ? low : high) +
                     " is not a class of this model (0-" + std::to_string(classes - 1) + ")");
  }
}

ConditionalBatchNorm2dImpl::ConditionalBatchNorm2dImpl(ConditionalBatchNorm2dOptions options)
    : options_(options) {
  reset();
}

void ConditionalBatchNorm2dImpl::reset() {
  TORCH_CHECK(options_.features() >= 1, "ConditionalBatchNorm2d: features must be at least 1");
  TORCH_CHECK(options_.classes() >= 1 && options_.classes() <= kMaxClasses,
              "ConditionalBatchNorm2d: classes must be in 1-", kMaxClasses);
  bn = register_module("bn", torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(options_.features())
                                                        .eps(options_.eps())
                                                        .momentum(options_.momentum())
                                                        .affine(false)));
  gain = register_module(
      "gain", torch::nn::Embedding(torch::nn::EmbeddingOptions(options_.classes(), options_.features())));
  bias = register_module(
      "bias", torch::nn::Embedding(torch::nn::EmbeddingOptions(options_.classes(), options_.features())));
  torch::NoGradGuard no_grad;
  gain->weight.fill_(1);
  bias->weight.zero_();
}

torch::Tensor ConditionalBatchNorm2dImpl::forward(const torch::Tensor& x,
                                                  const torch::Tensor& labels) {
  // {N,C,H,W} -> {N,C,H,W}; the per-class gain and bias broadcast as {N,C,1,1}.
  const auto shape = std::vector<int64_t>{x.size(0), options_.features(), 1, 1};
  return bn(x) * gain(labels).view(shape) + bias(labels).view(shape);
}

torch::Tensor projection_term(const torch::Tensor& features, const torch::Tensor& labels,
                              const torch::nn::Embedding& embedding) {
  const auto pooled = features.sum({2, 3});  // {N,C,H,W} -> {N,C}
  return (embedding->weight.index_select(0, labels) * pooled).sum(1, /*keepdim=*/true);
}

torch::Tensor with_one_hot(const torch::Tensor& z, const torch::Tensor& labels, int64_t classes) {
  // Scattered rather than torch::one_hot, which reads the labels' range back to the host: a CUDA
  // graph cannot capture that.
  const auto one_hot = torch::zeros({labels.size(0), classes}, z.options())
                           .scatter_(1, labels.unsqueeze(1), 1.0);
  return torch::cat({z, one_hot}, 1);
}

}  // namespace dcgan::models
