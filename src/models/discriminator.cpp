#include "dcgan/models/discriminator.h"

#include <cmath>

#include "dcgan/models/minibatch_std.h"
#include "dcgan/models/spectral_norm.h"

namespace dcgan::models {
namespace {

torch::nn::Conv2dOptions strided_conv(int64_t in, int64_t out, bool bias) {
  return torch::nn::Conv2dOptions(in, out, /*kernel_size=*/4).stride(2).padding(1).bias(bias);
}

}  // namespace

DiscriminatorImpl::DiscriminatorImpl(DiscriminatorOptions options) : options_(options) {
  reset();
}

void DiscriminatorImpl::reset() {
  const int64_t c = options_.conv_dim();
  TORCH_CHECK(c >= 1, "Discriminator: conv_dim must be at least 1, got ", c);
  // The generator's widths backwards: {3,S,S} -> {W[k-1],S/2,S/2} -> ... -> {W[0],4,4}.
  const auto widths = feature_widths(c, options_.image_size());
  const size_t halvings = widths.size();
  const bool norm = options_.batch_norm();
  convs.assign(halvings + 1, nullptr);
  bns.assign(halvings + 1, nullptr);
  for (size_t i = 1; i <= halvings; ++i) {
    const int64_t in = i == 1 ? 3 : widths[halvings - i + 1], out = widths[halvings - i];
    const auto n = std::to_string(i);
    // The first has neither BatchNorm nor bias, as in the notebook.
    convs[i] = register_module("conv" + n, torch::nn::Conv2d(strided_conv(in, out, i > 1 && !norm)));
    if (i > 1 && norm) bns[i] = register_module("bn" + n, torch::nn::BatchNorm2d(out));
  }
  TORCH_CHECK(options_.minibatch_std() >= 0,
              "Discriminator: the minibatch std group size must be 0 (off) or more, got ",
              options_.minibatch_std());
  // The logit's input: the last features, plus the minibatch standard deviation channel.
  const int64_t judged = widths[0] + (options_.minibatch_std() > 0 ? 1 : 0);
  if (options_.arch() == Arch::kNotebook) {
    fc = register_module("fc", torch::nn::Linear(judged * 4 * 4, 1));  // -> {1}
  } else {
    conv_out = register_module(  // {judged,4,4} -> {1,1,1}
        "conv_out",
        torch::nn::Conv2d(torch::nn::Conv2dOptions(judged, 1, 4).stride(1).padding(0).bias(false)));
  }
  const int64_t classes = options_.classes();
  TORCH_CHECK(options_.conditioning() == Conditioning::kNone || (classes >= 2 && classes <= kMaxClasses),
              "Discriminator: a conditional discriminator needs 2-", kMaxClasses,
              " classes, got ", classes);
  TORCH_CHECK(!options_.acgan_projection() || options_.conditioning() == Conditioning::kAcgan,
              "Discriminator: acgan_projection needs acgan conditioning");
  // embed before classifier: the order their initial weights are drawn in.
  if (options_.conditioning() == Conditioning::kProjection || options_.acgan_projection()) {
    embed = register_module("embed", torch::nn::Embedding(torch::nn::EmbeddingOptions(
                                         classes, widths[0])));  // {W0} per class
    // The class term sums the features over 16 positions: drawn like fc's weights (bound
    // 1/sqrt(fan_in) over the W0 x 4 x 4 features), it starts at the scale of the logit itself.
    // Embedding's own N(0, 1) made it 40-80 times larger, and D learned little else at first.
    torch::NoGradGuard no_grad;
    const double bound = 1.0 / std::sqrt(static_cast<double>(widths[0] * 4 * 4));
    embed->weight.uniform_(-bound, bound);
  }
  if (options_.conditioning() == Conditioning::kAcgan) {
    classifier = register_module("classifier",
                                 torch::nn::Linear(widths[0] * 4 * 4, classes));  // -> {classes}
  }
  if (options_.spectral_norm()) {
    for (size_t i = 1; i <= halvings; ++i) add_spectral_norm_buffers(*convs[i], convs[i]->weight);
    if (!fc.is_empty()) add_spectral_norm_buffers(*fc, fc->weight);
    if (!conv_out.is_empty()) add_spectral_norm_buffers(*conv_out, conv_out->weight);
  }
}

torch::Tensor DiscriminatorImpl::convolve(torch::nn::Conv2d& conv, const torch::Tensor& x,
                                          int64_t padding) {
  if (!options_.spectral_norm()) return conv(x);
  return torch::conv2d(x, spectrally_normalized_weight(*conv, conv->weight, is_training()),
                       conv->bias, conv->options.stride(), padding);
}

torch::Tensor DiscriminatorImpl::forward(const torch::Tensor& images,
                                         const LayerObserver& observe) {
  return judge(images, torch::Tensor(), observe).logit;
}

Judgement DiscriminatorImpl::judge(const torch::Tensor& images, const torch::Tensor& labels,
                                   const LayerObserver& observe) {
  auto seen = [&](const std::string& layer, torch::Tensor x) {
    if (observe) observe(layer, x);
    return x;
  };
  torch::Tensor x = images;
  for (size_t i = 1; i < convs.size(); ++i) {
    const auto n = std::to_string(i);
    x = seen("conv" + n, convolve(convs[i], x, /*padding=*/1));
    if (!bns[i].is_empty()) x = seen("bn" + n, bns[i](x));
    x = seen("leaky_relu" + n, torch::leaky_relu(x, 0.2));
  }
  const auto features = x;  // {W0,4,4}
  if (options_.minibatch_std() > 0)
    x = seen("minibatch_std", append_minibatch_std(x, options_.minibatch_std()));  // {W0+1,4,4}
  Judgement judgement;
  if (!conv_out.is_empty()) {
    x = seen("conv_out", convolve(conv_out, x, /*padding=*/0));
    judgement.logit = seen("flatten", x.flatten(1));
  } else {
    x = seen("flatten", x.flatten(1));
    judgement.logit =
        seen("fc", options_.spectral_norm()
                       ? torch::linear(x, spectrally_normalized_weight(*fc, fc->weight, is_training()),
                                       fc->bias)
                       : fc(x));
  }
  if (!embed.is_empty() && labels.defined()) {
    judgement.logit = seen(
        "projection", judgement.logit + projection_term(features, labels.to(features.device()), embed));
  }
  if (!classifier.is_empty()) judgement.class_logits = seen("classifier", classifier(features.flatten(1)));
  return judgement;
}

torch::Tensor DiscriminatorImpl::probability(const torch::Tensor& images) {
  return torch::sigmoid(forward(images));
}

}  // namespace dcgan::models
