#pragma once

#include <torch/torch.h>

#include <memory>

#include "dcgan/models/discriminator.h"
#include "dcgan/models/generator.h"

namespace dcgan::train {

struct GanOptions {
  int64_t conv_dim = 128;
  int64_t z_size = 100;
  double lr = 0.0002;
  double beta1 = 0.5;
  double beta2 = 0.999;
};

// Both networks and their separate Adam optimizers, as in the notebook.
struct Gan {
  Gan(const GanOptions& options, torch::Device device);

  GanOptions options;
  torch::Device device;
  models::Generator generator;
  models::Discriminator discriminator;
  std::unique_ptr<torch::optim::Adam> g_optimizer;
  std::unique_ptr<torch::optim::Adam> d_optimizer;
};

// Losses of one step as scalar tensors on the model's device; reading them (.item()) synchronises,
// so the trainer does it only when it logs or checks them.
struct StepLosses {
  torch::Tensor d_loss;
  torch::Tensor g_loss;
};

// z ~ U(-1, 1), as the notebook draws it. Drawn from the CPU generator and then moved, so a seed
// gives the same latent vectors on every device and one RNG state resumes a run exactly.
torch::Tensor sample_z(int64_t count, int64_t z_size, torch::Device device);

// One notebook training step on a batch of uint8 images (N x 3 x 32 x 32, on the model's device):
// D on real (label 1, or 0.9 with smooth_labels) + D on G(z) (label 0), one Adam step for D; then
// G against label 1 on a fresh z, one Adam step for G. Both losses are BCE-with-logits.
StepLosses train_step(Gan& gan, const torch::Tensor& real_images, bool smooth_labels);

// The same step with the latent vectors given (z_for_d for D's fake batch, z_for_g for G's step):
// the parity test feeds it the notebook's z.
StepLosses train_step(Gan& gan, const torch::Tensor& real_images, const torch::Tensor& z_for_d,
                      const torch::Tensor& z_for_g, bool smooth_labels);

}  // namespace dcgan::train
