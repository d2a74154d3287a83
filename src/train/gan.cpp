#include "dcgan/train/gan.h"

#include "dcgan/data/scale.h"

namespace dcgan::train {
namespace {

torch::optim::AdamOptions adam_options(const GanOptions& o) {
  return torch::optim::AdamOptions(o.lr).betas(std::make_tuple(o.beta1, o.beta2));
}

torch::Tensor bce_with_logits(const torch::Tensor& logits, double target) {
  return torch::binary_cross_entropy_with_logits(logits, torch::full_like(logits, target));
}

}  // namespace

Gan::Gan(const GanOptions& opts, torch::Device dev)
    : options(opts),
      device(dev),
      generator(models::GeneratorOptions(opts.z_size, opts.conv_dim)),
      discriminator(models::DiscriminatorOptions(opts.conv_dim)) {
  generator->to(device);
  discriminator->to(device);
  g_optimizer = std::make_unique<torch::optim::Adam>(generator->parameters(), adam_options(opts));
  d_optimizer =
      std::make_unique<torch::optim::Adam>(discriminator->parameters(), adam_options(opts));
}

torch::Tensor sample_z(int64_t count, int64_t z_size, torch::Device device) {
  return (torch::rand({count, z_size}) * 2 - 1).to(device);
}

StepLosses train_step(Gan& gan, const torch::Tensor& real_images, bool smooth_labels) {
  const int64_t batch = real_images.size(0);
  const int64_t z_size = gan.options.z_size;
  const auto z_for_d = sample_z(batch, z_size, gan.device);
  const auto z_for_g = sample_z(batch, z_size, gan.device);
  return train_step(gan, real_images, z_for_d, z_for_g, smooth_labels);
}

StepLosses train_step(Gan& gan, const torch::Tensor& real_images, const torch::Tensor& z_for_d,
                      const torch::Tensor& z_for_g, bool smooth_labels) {
  gan.d_optimizer->zero_grad();
  const auto real = data::scale(real_images);
  const auto d_real_loss = bce_with_logits(gan.discriminator(real), smooth_labels ? 0.9 : 1.0);
  torch::Tensor fake;
  {
    // The notebook lets this backward run through G too and then discards G's gradients; skipping
    // them changes no number and saves a full generator backward pass.
    torch::NoGradGuard no_grad;
    fake = gan.generator(z_for_d);
  }
  const auto d_fake_loss = bce_with_logits(gan.discriminator(fake), 0.0);
  auto d_loss = d_real_loss + d_fake_loss;
  d_loss.backward();
  gan.d_optimizer->step();

  gan.g_optimizer->zero_grad();
  auto g_loss = bce_with_logits(gan.discriminator(gan.generator(z_for_g)), 1.0);
  g_loss.backward();
  gan.g_optimizer->step();
  return {d_loss.detach(), g_loss.detach()};
}

}  // namespace dcgan::train
