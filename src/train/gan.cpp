#include "dcgan/train/gan.h"

#include <ATen/CPUGeneratorImpl.h>

#include <functional>
#include <mutex>

#include "dcgan/data/scale.h"
#include "dcgan/train/config.h"
#include "dcgan/distributed/communicator.h"
#include "dcgan/util/compat.h"
#include "dcgan/util/errors.h"

namespace dcgan::train {
namespace {

torch::optim::AdamOptions adam_options(const GanOptions& o, double lr) {
  return torch::optim::AdamOptions(lr).betas(std::make_tuple(o.beta1, o.beta2));
}

torch::Tensor bce_with_logits(const torch::Tensor& logits, double target) {
  return torch::binary_cross_entropy_with_logits(logits, torch::full_like(logits, target));
}

// D's logits for `images` (and their labels, when conditional), in fp32 whatever the network's
// precision; through the augment policy first when uniforms are given.
models::Judgement discriminate(Gan& gan, const torch::Tensor& images, Precision precision,
                               const torch::Tensor& augment_uniforms,
                               const torch::Tensor& labels = {}) {
  const auto seen = augment_uniforms.defined()
                        ? augment(images, augment_uniforms, gan.options.augment)
                        : images;
  compat::CudaAutocastGuard autocast(precision == Precision::kBf16);
  auto judgement = gan.discriminator->judge(seen, labels);
  judgement.logit = judgement.logit.to(torch::kFloat32);
  if (judgement.class_logits.defined())
    judgement.class_logits = judgement.class_logits.to(torch::kFloat32);
  return judgement;
}

torch::Tensor generate(Gan& gan, const torch::Tensor& z, Precision precision,
                       const torch::Tensor& labels = {}) {
  compat::CudaAutocastGuard autocast(precision == Precision::kBf16);
  return gan.generator->forward_with_labels(z, labels);
}

// AC-GAN's auxiliary loss: how well D's classifier names the classes; 0 for other GANs.
torch::Tensor class_loss(const models::Judgement& judgement, const torch::Tensor& labels) {
  if (!judgement.class_logits.defined()) return torch::zeros({}, judgement.logit.options());
  return torch::nn::functional::cross_entropy(judgement.class_logits, labels);
}

std::vector<torch::Tensor> gradients(torch::nn::Module& network) {
  std::vector<torch::Tensor> grads;
  for (const auto& p : network.parameters()) grads.push_back(p.grad());
  return grads;
}

}  // namespace

LossKind parse_loss(const std::string& name) {
  if (name == "bce") return LossKind::kBce;
  if (name == "hinge") return LossKind::kHinge;
  throw InputError("--loss must be bce or hinge, got '" + name + "'");
}

std::string to_string(LossKind loss) { return loss == LossKind::kHinge ? "hinge" : "bce"; }

models::GeneratorOptions GanOptions::generator() const {
  return models::GeneratorOptions(z_size, conv_dim)
      .image_size(image_size)
      .arch(arch)
      .batch_norm(batch_norm)
      .conditioning(conditioning)
      .classes(classes);
}

models::DiscriminatorOptions GanOptions::discriminator() const {
  return models::DiscriminatorOptions(conv_dim)
      .image_size(image_size)
      .arch(arch)
      .batch_norm(batch_norm)
      .spectral_norm(spectral_norm)
      .minibatch_std(minibatch_std)
      .conditioning(conditioning)
      .classes(classes)
      .acgan_projection(acgan_projection);
}

GanOptions gan_options(const TrainConfig& config) {
  GanOptions o;
  o.conv_dim = config.conv_dim;
  o.z_size = config.z_size;
  o.lr = config.lr;
  o.lr_d = config.lr_d;
  o.lr_g = config.lr_g;
  o.beta1 = config.beta1;
  o.beta2 = config.beta2;
  o.g_ema_decay = config.g_ema;
  o.image_size = config.image_size;
  o.arch = models::parse_arch(config.arch);
  o.batch_norm = config.batch_norm;
  o.spectral_norm = config.spectral_norm;
  o.minibatch_std = config.minibatch_std;
  o.acgan_projection = config.acgan_projection;
  o.loss = parse_loss(config.loss);
  o.augment = parse_augment_policy(config.augment, config.augment_strength);
  o.conditioning = models::parse_conditioning(config.conditional);
  o.g_class_weight = config.g_class_weight;
  return o;
}

Gan::Gan(const GanOptions& opts, torch::Device dev)
    : options(opts),
      device(dev),
      generator(opts.generator()),
      discriminator(opts.discriminator()) {
  generator->to(device);
  discriminator->to(device);
  g_optimizer = std::make_unique<torch::optim::Adam>(generator->parameters(),
                                                     adam_options(opts, opts.g_lr()));
  d_optimizer = std::make_unique<torch::optim::Adam>(discriminator->parameters(),
                                                     adam_options(opts, opts.d_lr()));
  if (opts.g_ema_decay > 0) {
    // Built without drawing from the CPU generator (its initial weights are overwritten anyway),
    // so a run with --g-ema trains on the same random numbers as one without.
    auto cpu_generator = at::detail::getDefaultCPUGenerator();
    torch::Tensor rng_state;
    {
      std::lock_guard<std::mutex> lock(cpu_generator.mutex());
      rng_state = cpu_generator.get_state();
    }
    g_ema = models::Generator(opts.generator());
    {
      std::lock_guard<std::mutex> lock(cpu_generator.mutex());
      cpu_generator.set_state(rng_state);
    }
    g_ema->to(device);
    for (auto& p : g_ema->parameters()) p.set_requires_grad(false);
    reset_g_ema(*this);
  }
}

void reset_g_ema(Gan& gan) {
  if (gan.g_ema.is_empty()) return;
  torch::NoGradGuard no_grad;
  const auto source = gan.generator->parameters(), target = gan.g_ema->parameters();
  for (size_t i = 0; i < source.size(); ++i) target[i].copy_(source[i]);
  const auto source_buffers = gan.generator->buffers(), target_buffers = gan.g_ema->buffers();
  for (size_t i = 0; i < source_buffers.size(); ++i) target_buffers[i].copy_(source_buffers[i]);
}

void update_g_ema(Gan& gan) {
  if (gan.g_ema.is_empty()) return;
  torch::NoGradGuard no_grad;
  const double weight = 1 - gan.options.g_ema_decay;
  const auto source = gan.generator->parameters(), target = gan.g_ema->parameters();
  for (size_t i = 0; i < source.size(); ++i) target[i].lerp_(source[i], weight);
  const auto source_buffers = gan.generator->buffers(), target_buffers = gan.g_ema->buffers();
  for (size_t i = 0; i < source_buffers.size(); ++i) target_buffers[i].copy_(source_buffers[i]);
}

void recalibrate_g_ema(Gan& gan) {
  if (gan.g_ema.is_empty()) return;
  constexpr int64_t kBatches = 8, kBatchSize = 256;  // 2,048 z: statistics to about 2%
  constexpr uint64_t kSeed = 0x5EED;
  torch::NoGradGuard no_grad;
  auto z_source = at::make_generator<at::CPUGeneratorImpl>(kSeed);
  std::vector<std::pair<torch::nn::BatchNorm2dImpl*, c10::optional<double>>> norms;
  for (const auto& module : gan.g_ema->modules(/*include_self=*/false)) {
    if (auto* norm = module->as<torch::nn::BatchNorm2dImpl>()) {
      norms.emplace_back(norm, norm->options.momentum());
      norm->reset_running_stats();
      norm->options.momentum(c10::nullopt);  // a plain average over the batches below
    }
  }
  const bool was_training = gan.g_ema->is_training();
  gan.g_ema->train();
  for (int64_t b = 0; b < kBatches; ++b) {
    const auto z =
        models::latent_distribution(gan.options.arch) == models::LatentDistribution::kNormal
            ? torch::randn({kBatchSize, gan.options.z_size}, z_source)
            : torch::rand({kBatchSize, gan.options.z_size}, z_source) * 2 - 1;
    if (gan.options.conditional()) {
      // Each class as often as the others, in a fixed order: conditional BatchNorm shares its
      // running statistics across classes.
      const auto labels = torch::arange(kBatchSize, torch::kInt64).remainder(gan.options.classes);
      gan.g_ema->forward_with_labels(z.to(gan.device), labels.to(gan.device));
    } else {
      gan.g_ema->forward(z.to(gan.device));
    }
  }
  gan.g_ema->train(was_training);
  for (auto& [norm, momentum] : norms) norm->options.momentum(momentum);
}

models::Generator& sampling_generator(Gan& gan) {
  return gan.g_ema.is_empty() ? gan.generator : gan.g_ema;
}

void average_gradients(Gan& gan, const std::vector<torch::Tensor>& grads, const char* what) {
  if (gan.communicator) gan.communicator->average(grads, what);
}

torch::Tensor rank_block(Gan& gan, int64_t count, torch::Device device,
                         const std::function<torch::Tensor(int64_t rows)>& draw) {
  const int world = gan.communicator ? gan.communicator->world_size() : 1;
  if (world == 1) return draw(count).to(device);
  const int64_t rank = gan.communicator->rank();
  return draw(count * world).narrow(0, rank * count, count).to(device);
}

torch::Tensor sample_step_z(Gan& gan, int64_t count, torch::Device device) {
  return rank_block(gan, count, device,
                    [&](int64_t rows) { return sample_z(gan.options, rows, torch::kCPU); });
}

torch::Tensor sample_z(int64_t count, int64_t z_size, torch::Device device,
                       models::LatentDistribution distribution) {
  if (distribution == models::LatentDistribution::kNormal)
    return torch::randn({count, z_size}).to(device);
  return (torch::rand({count, z_size}) * 2 - 1).to(device);
}

torch::Tensor sample_z(const GanOptions& options, int64_t count, torch::Device device) {
  return sample_z(count, options.z_size, device, models::latent_distribution(options.arch));
}

torch::Tensor discriminator_loss_from_logits(const torch::Tensor& real_logits,
                                             const torch::Tensor& fake_logits, LossKind loss,
                                             bool smooth_labels) {
  if (loss == LossKind::kHinge)
    return torch::relu(1 - real_logits).mean() + torch::relu(1 + fake_logits).mean();
  return bce_with_logits(real_logits, smooth_labels ? 0.9 : 1.0) + bce_with_logits(fake_logits, 0.0);
}

torch::Tensor generator_loss_from_logits(const torch::Tensor& fake_logits, LossKind loss) {
  if (loss == LossKind::kHinge) return -fake_logits.mean();
  return bce_with_logits(fake_logits, 1.0);
}

torch::Tensor discriminator_loss(Gan& gan, const torch::Tensor& real, const torch::Tensor& z,
                                 bool smooth_labels, Precision precision,
                                 const torch::Tensor& augment_real,
                                 const torch::Tensor& augment_fake,
                                 const torch::Tensor& real_labels,
                                 const torch::Tensor& fake_labels) {
  const auto real_judgement = discriminate(gan, real, precision, augment_real, real_labels);
  torch::Tensor fake;
  {
    // The notebook lets the D loss's backward run through G too and then discards G's gradients;
    // skipping them changes no number and saves a full generator backward pass.
    torch::NoGradGuard no_grad;
    fake = generate(gan, z, precision, fake_labels);
  }
  const auto fake_judgement = discriminate(gan, fake, precision, augment_fake, fake_labels);
  return discriminator_loss_from_logits(real_judgement.logit, fake_judgement.logit,
                                        gan.options.loss, smooth_labels) +
         class_loss(real_judgement, real_labels);  // real images only: see gan.h
}

torch::Tensor generator_loss(Gan& gan, const torch::Tensor& z, Precision precision,
                             const torch::Tensor& augment_fake, const torch::Tensor& labels) {
  const auto judgement =
      discriminate(gan, generate(gan, z, precision, labels), precision, augment_fake, labels);
  return generator_loss_from_logits(judgement.logit, gan.options.loss) +
         gan.options.g_class_weight * class_loss(judgement, labels);
}

StepNoise draw_step_noise(Gan& gan, int64_t count, torch::Device device) {
  StepNoise noise;
  noise.z_for_d = sample_step_z(gan, count, device);
  noise.z_for_g = sample_step_z(gan, count, device);
  if (gan.options.augment.enabled()) {
    const auto uniforms = [&] {
      return rank_block(gan, count, device, draw_augment_uniforms);
    };
    noise.augment_real = uniforms();
    noise.augment_fake_for_d = uniforms();
    noise.augment_fake_for_g = uniforms();
  }
  if (gan.options.conditional()) {
    const auto classes = [&] {
      return rank_block(gan, count, device, [&](int64_t rows) {
        return torch::randint(0, gan.options.classes, {rows}, torch::kInt64);
      });
    };
    noise.labels_for_d = classes();
    noise.labels_for_g = classes();
  }
  return noise;
}

StepLosses train_step(Gan& gan, const torch::Tensor& real_images, const StepNoise& noise,
                      bool smooth_labels, Precision precision, const torch::Tensor& real_labels) {
  TORCH_CHECK(real_labels.defined() == gan.options.conditional(),
              gan.options.conditional() ? "train_step: a conditional GAN needs the images' labels"
                                        : "train_step: labels given to an unconditional GAN");
  gan.d_optimizer->zero_grad();
  auto d_loss = discriminator_loss(gan, data::scale(real_images), noise.z_for_d, smooth_labels,
                                   precision, noise.augment_real, noise.augment_fake_for_d,
                                   real_labels, noise.labels_for_d);
  d_loss.backward();
  average_gradients(gan, gradients(*gan.discriminator), "discriminator's gradient all-reduce");
  gan.d_optimizer->step();

  gan.g_optimizer->zero_grad();
  auto g_loss =
      generator_loss(gan, noise.z_for_g, precision, noise.augment_fake_for_g, noise.labels_for_g);
  g_loss.backward();
  average_gradients(gan, gradients(*gan.generator), "generator's gradient all-reduce");
  gan.g_optimizer->step();
  update_g_ema(gan);
  return {d_loss.detach(), g_loss.detach()};
}

StepLosses train_step(Gan& gan, const torch::Tensor& real_images, const torch::Tensor& z_for_d,
                      const torch::Tensor& z_for_g, bool smooth_labels, Precision precision) {
  StepNoise noise;
  noise.z_for_d = z_for_d;
  noise.z_for_g = z_for_g;
  return train_step(gan, real_images, noise, smooth_labels, precision);
}

StepLosses train_step(Gan& gan, const torch::Tensor& real_images, bool smooth_labels,
                      Precision precision) {
  // All drawn before the step: nothing in between touches the CPU generator, so the values are
  // those of drawing each just before use, as the notebook does.
  return train_step(gan, real_images, draw_step_noise(gan, real_images.size(0), gan.device),
                    smooth_labels, precision);
}

}  // namespace dcgan::train
