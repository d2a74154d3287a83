#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <vector>

#include "dcgan/models/discriminator.h"
#include "dcgan/models/generator.h"
#include "dcgan/train/augment.h"

namespace dcgan::distributed {
class Communicator;  // dcgan/distributed/communicator.h
}

namespace dcgan::train {

struct TrainConfig;

// --loss: the notebook's BCE-with-logits, or the hinge loss (Lim & Ye 2017; SAGAN, BigGAN):
// D minimises mean(relu(1 - D(x))) + mean(relu(1 + D(G(z)))), G minimises -mean(D(G(z))).
enum class LossKind { kBce, kHinge };
LossKind parse_loss(const std::string& name);  // "bce" | "hinge"; InputError otherwise
std::string to_string(LossKind loss);

struct GanOptions {
  int64_t conv_dim = 128;
  int64_t z_size = 100;
  double lr = 0.0002;  // both networks', unless lr_d / lr_g say otherwise
  double beta1 = 0.5;
  double beta2 = 0.999;
  double g_ema_decay = 0.0;  // > 0: keep an exponential moving average of G's weights
  int64_t image_size = 32;   // 32, 64, 128 or 256
  models::Arch arch = models::Arch::kNotebook;
  bool batch_norm = true;      // false: --no-batch-norm, in both networks
  bool spectral_norm = false;  // D's layers spectrally normalised
  int64_t minibatch_std = 0;   // > 0: D's minibatch standard deviation group size
  bool acgan_projection = false;  // acgan: D's logit also gets the projection term
  LossKind loss = LossKind::kBce;
  AugmentPolicy augment{};     // what D's inputs go through (off by default)
  double lr_d = 0;             // > 0: D's learning rate instead of lr (TTUR)
  double lr_g = 0;             // > 0: G's learning rate instead of lr
  // Class-conditional (--conditional): how labels reach both networks, and the class count (from
  // the data; 0 when unconditional).
  models::Conditioning conditioning = models::Conditioning::kNone;
  int64_t classes = 0;
  // acgan: weight of the class loss in G's loss (D's is always 1). 1 is Odena et al.'s loss; runs
  // take TrainConfig's measured default.
  double g_class_weight = 1.0;
  bool conditional() const { return conditioning != models::Conditioning::kNone; }

  double d_lr() const { return lr_d > 0 ? lr_d : lr; }
  double g_lr() const { return lr_g > 0 ? lr_g : lr; }
  models::GeneratorOptions generator() const;
  models::DiscriminatorOptions discriminator() const;
};

// The options of a training run's networks and optimizers.
GanOptions gan_options(const TrainConfig& config);

// Both networks and their separate Adam optimizers, as in the notebook.
struct Gan {
  Gan(const GanOptions& options, torch::Device device);

  GanOptions options;
  torch::Device device;
  models::Generator generator;
  models::Discriminator discriminator;
  std::unique_ptr<torch::optim::Adam> g_optimizer;
  std::unique_ptr<torch::optim::Adam> d_optimizer;
  // The moving average of the generator's weights (empty unless options.g_ema_decay > 0): never
  // trained itself, it is what samples, `generate`, `interpolate` and `evaluate` use when present.
  models::Generator g_ema{nullptr};
  // The ranks of a data-parallel run (see distributed/communicator.h); null: this process alone.
  std::shared_ptr<distributed::Communicator> communicator;
};

// The one hook every training step calls between a network's backward pass and its optimizer
// step: averages `grads` in place over gan.communicator's ranks, in one all-reduce. Does nothing
// without a communicator or at world size 1.
void average_gradients(Gan& gan, const std::vector<torch::Tensor>& grads, const char* what);

// The latent vectors of this rank's share of a step, `count` per rank: every rank draws the whole
// step's z (count x world size) from the CPU generator, seeded alike on all ranks, and keeps its
// own block. So the ranks' generators stay equal (the one RNG state in a checkpoint resumes every
// rank) and a run draws the numbers one process with the global batch would. sample_z as is at
// world size 1.
torch::Tensor sample_step_z(Gan& gan, int64_t count, torch::Device device);

// The same for any draw: `draw(rows)` makes rows on the CPU; this rank keeps its `count` of them.
torch::Tensor rank_block(Gan& gan, int64_t count, torch::Device device,
                         const std::function<torch::Tensor(int64_t rows)>& draw);

// Starts g_ema as a copy of the generator (after initialisation, or loading a run without one).
void reset_g_ema(Gan& gan);

// After a G step: g_ema's parameters move toward G's by (1 - decay); its BatchNorm statistics are
// G's. Device work only, so the CUDA graph captures it. Does nothing without g_ema.
void update_g_ema(Gan& gan);

// Averaged weights do not fit the BatchNorm statistics of the generator they were averaged from
// (update_g_ema copies those), and sampling with them costs image quality. This recomputes g_ema's
// running statistics for its own weights from a fixed set of z ("standing statistics"; BigGAN
// does the same), drawn from a private generator so that the run's random numbers are untouched.
// The trainer calls it before every sample grid, measurement and checkpoint. No-op without g_ema.
void recalibrate_g_ema(Gan& gan);

// The generator to draw samples from: g_ema when kept, else the generator.
models::Generator& sampling_generator(Gan& gan);

// How the networks compute in training: fp32, or bf16 autocast on CUDA (convolutions and linear
// layers in bf16; weights, optimizer state and losses stay fp32).
enum class Precision { kFp32, kBf16 };

// Losses of one step as scalar tensors on the model's device; reading them (.item()) synchronises,
// so the trainer does it only when it logs or checks them.
struct StepLosses {
  torch::Tensor d_loss;
  torch::Tensor g_loss;
};

// z ~ U(-1, 1), as the notebook draws it, or N(0, 1) (pytorch/examples; see
// models::latent_distribution). Drawn from the CPU generator and then moved, so a seed gives the
// same latent vectors on every device and one RNG state resumes a run exactly.
torch::Tensor sample_z(int64_t count, int64_t z_size, torch::Device device,
                       models::LatentDistribution distribution = models::LatentDistribution::kUniform);

// The same with the distribution of the GAN's arch.
torch::Tensor sample_z(const GanOptions& options, int64_t count, torch::Device device);

// The losses from D's logits (computed in fp32). BCE: D(real) against 1 (0.9 with smooth_labels)
// plus D(fake) against 0; G's is D(fake) against 1. Hinge: see LossKind (no label smoothing).
torch::Tensor discriminator_loss_from_logits(const torch::Tensor& real_logits,
                                             const torch::Tensor& fake_logits, LossKind loss,
                                             bool smooth_labels);
torch::Tensor generator_loss_from_logits(const torch::Tensor& fake_logits, LossKind loss);

// The discriminator's loss on real images (scaled to [-1, 1]) and G(z); G runs without gradients.
// With the GAN's augment policy, real and fake images go through it with the given uniforms
// (see augment.h) before D sees them.
// A conditional GAN also takes the real images' labels and the labels asked of G; with acgan
// conditioning the auxiliary classifier's cross-entropy on the real images joins the loss. Unlike
// Odena et al.'s AC-GAN, D's classifier does not learn from the fakes: trained on G's images with
// the classes they were asked for, it learns whatever marks G uses for a class, and G keeps
// drawing those instead of the digit (docs/QUALITY.md, "Class-conditional runs").
torch::Tensor discriminator_loss(Gan& gan, const torch::Tensor& real, const torch::Tensor& z,
                                 bool smooth_labels, Precision precision = Precision::kFp32,
                                 const torch::Tensor& augment_real = {},
                                 const torch::Tensor& augment_fake = {},
                                 const torch::Tensor& real_labels = {},
                                 const torch::Tensor& fake_labels = {});

// The generator's loss on D(G(z)) (G(z, labels) for a conditional GAN, plus acgan's
// cross-entropy of D's class logits against the labels asked for, times g_class_weight: at full
// weight G learns the most recognisable digit of each class rather than the spread of real ones).
torch::Tensor generator_loss(Gan& gan, const torch::Tensor& z,
                             Precision precision = Precision::kFp32,
                             const torch::Tensor& augment_fake = {},
                             const torch::Tensor& labels = {});

// The random inputs of one training step, drawn from the CPU generator in this order (z first,
// so a run without --augment draws exactly the notebook's numbers), each as this rank's block of
// the whole step's draw (see sample_step_z).
struct StepNoise {
  torch::Tensor z_for_d, z_for_g;
  // N x kAugmentUniforms each; undefined without --augment.
  torch::Tensor augment_real, augment_fake_for_d, augment_fake_for_g;
  // The classes asked of G, uniform over the classes (drawn last); undefined when unconditional.
  torch::Tensor labels_for_d, labels_for_g;
};
StepNoise draw_step_noise(Gan& gan, int64_t count, torch::Device device);

// One notebook training step on a batch of uint8 images (N x 3 x S x S, on the model's device):
// discriminator_loss, one Adam step for D; then generator_loss, one Adam step for G, and
// update_g_ema.
// `real_labels`: the images' class indices (int64, N) for a conditional GAN, else undefined.
StepLosses train_step(Gan& gan, const torch::Tensor& real_images, const StepNoise& noise,
                      bool smooth_labels, Precision precision = Precision::kFp32,
                      const torch::Tensor& real_labels = {});

// The same with given z and no augmentation: the parity test feeds it the notebook's z.
StepLosses train_step(Gan& gan, const torch::Tensor& real_images, const torch::Tensor& z_for_d,
                      const torch::Tensor& z_for_g, bool smooth_labels,
                      Precision precision = Precision::kFp32);

// The same step with its noise drawn by draw_step_noise, in the notebook's order.
StepLosses train_step(Gan& gan, const torch::Tensor& real_images, bool smooth_labels,
                      Precision precision = Precision::kFp32);

}  // namespace dcgan::train
