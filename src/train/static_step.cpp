#include "dcgan/train/static_step.h"

#include "dcgan/data/scale.h"

namespace dcgan::train {

StaticStep::StaticStep(Gan& gan, torch::Tensor images, const StepOptions& options,
                       torch::Tensor labels)
    : gan_(gan),
      images_(std::move(images)),
      labels_(std::move(labels)),
      options_(options),
      d_adam_(*gan.d_optimizer),
      g_adam_(*gan.g_optimizer),
      d_loss_(torch::zeros({}, images_.options().dtype(torch::kFloat32))),
      g_loss_(torch::zeros({}, images_.options().dtype(torch::kFloat32))) {}

void StaticStep::start_epoch(const torch::Tensor& order) {
  order_ = order.to(images_.device());
}

StepLosses StaticStep::step(int64_t first, int64_t count) {
  compute(order_.narrow(0, first, count), draw_step_noise(gan_, count, images_.device()));
  return {d_loss_, g_loss_};
}

void StaticStep::sync_optimizer_state() {
  d_adam_.sync_to_optimizer();
  g_adam_.sync_to_optimizer();
}

void StaticStep::compute(const torch::Tensor& index, const StepNoise& noise) {
  const auto real = data::scale(images_.index_select(0, index));
  const auto real_labels = labels_.defined() ? labels_.index_select(0, index) : torch::Tensor();
  const auto d_loss =
      discriminator_loss(gan_, real, noise.z_for_d, options_.smooth_labels, options_.precision,
                         noise.augment_real, noise.augment_fake_for_d, real_labels,
                         noise.labels_for_d);
  const auto d_grads = torch::autograd::grad({d_loss}, d_adam_.parameters());
  average_gradients(gan_, d_grads, "discriminator's gradient all-reduce");
  d_adam_.step(d_grads);

  const auto g_loss = generator_loss(gan_, noise.z_for_g, options_.precision,
                                     noise.augment_fake_for_g, noise.labels_for_g);
  const auto g_grads = torch::autograd::grad({g_loss}, g_adam_.parameters());
  average_gradients(gan_, g_grads, "generator's gradient all-reduce");
  g_adam_.step(g_grads);
  update_g_ema(gan_);

  torch::NoGradGuard no_grad;
  d_loss_.copy_(d_loss);
  g_loss_.copy_(g_loss);
}

}  // namespace dcgan::train
