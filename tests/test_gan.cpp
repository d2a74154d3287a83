// The training step against values worked out by hand and against the notebook's step written out
// in plain LibTorch: label targets, --smooth-labels, which optimizer steps which network.
#include <gtest/gtest.h>

#include <cmath>

#include "dcgan/data/scale.h"
#include "dcgan/train/gan.h"

using dcgan::train::Gan;
using dcgan::train::GanOptions;

namespace {

// softplus(x) = ln(1 + e^x); BCE-with-logits of logit x is softplus(-x) for target 1 and
// softplus(x) for target 0, so for target t it is t*softplus(-x) + (1-t)*softplus(x).
constexpr double kSoftplusOf1 = 1.3132616875182228;        // ln(1 + e)
constexpr double kSoftplusOfMinus1 = 0.31326168751822286;  // ln(1 + 1/e)

// A tiny GAN whose discriminator says logit 1 for every image: fc weight 0, fc bias 1.
Gan constant_logit_gan(double lr) {
  torch::manual_seed(21);
  Gan gan(GanOptions{/*conv_dim=*/4, /*z_size=*/8, lr}, torch::kCPU);
  torch::NoGradGuard no_grad;
  gan.discriminator->fc->weight.zero_();
  gan.discriminator->fc->bias.fill_(1.0);
  return gan;
}

torch::Tensor images(int64_t n) {
  return torch::randint(0, 256, {n, 3, 32, 32}, torch::kUInt8);
}

// With lr 1e-8 the D step moves the logit by far less than the tolerance, so G's loss is that of
// logit 1 too.
TEST(TrainStep, LossesUseTargetsOneForRealAndZeroForFake) {
  auto gan = constant_logit_gan(1e-8);
  const auto losses = dcgan::train::train_step(gan, images(4), /*smooth_labels=*/false);
  // D: real against 1 (softplus(-1)) + fake against 0 (softplus(1)).
  EXPECT_NEAR(losses.d_loss.item<double>(), kSoftplusOfMinus1 + kSoftplusOf1, 1e-5);
  // G: fake against 1.
  EXPECT_NEAR(losses.g_loss.item<double>(), kSoftplusOfMinus1, 1e-5);
}

TEST(TrainStep, SmoothLabelsMakeOnlyTheRealTarget09) {
  auto gan = constant_logit_gan(1e-8);
  const auto losses = dcgan::train::train_step(gan, images(4), /*smooth_labels=*/true);
  EXPECT_NEAR(losses.d_loss.item<double>(),
              0.9 * kSoftplusOfMinus1 + 0.1 * kSoftplusOf1 + kSoftplusOf1, 1e-5);
  EXPECT_NEAR(losses.g_loss.item<double>(), kSoftplusOfMinus1, 1e-5) << "G's target stays 1";
}

TEST(TrainStep, AdamUsesTheGivenHyperparameters) {
  Gan gan(GanOptions{4, 8, /*lr=*/0.003, /*beta1=*/0.4, /*beta2=*/0.95}, torch::kCPU);
  for (auto* optimizer : {gan.g_optimizer.get(), gan.d_optimizer.get()}) {
    const auto& options =
        static_cast<const torch::optim::AdamOptions&>(optimizer->param_groups()[0].options());
    EXPECT_DOUBLE_EQ(options.lr(), 0.003);
    EXPECT_DOUBLE_EQ(std::get<0>(options.betas()), 0.4);
    EXPECT_DOUBLE_EQ(std::get<1>(options.betas()), 0.95);
    EXPECT_DOUBLE_EQ(options.weight_decay(), 0.0);
    EXPECT_FALSE(options.amsgrad());
  }
  EXPECT_EQ(gan.g_optimizer->param_groups()[0].params().size(), gan.generator->parameters().size());
  EXPECT_EQ(gan.d_optimizer->param_groups()[0].params().size(),
            gan.discriminator->parameters().size());
}

// Adam's first step moves each parameter by lr against the sign of its gradient. D's loss
// softplus(-b) + softplus(b) has gradient sigmoid(b) - sigmoid(-b) > 0 at b = 1: the bias drops.
TEST(TrainStep, FirstDiscriminatorStepMovesTheBiasDownByLr) {
  auto gan = constant_logit_gan(0.01);
  dcgan::train::train_step(gan, images(4), /*smooth_labels=*/false);
  EXPECT_NEAR(gan.discriminator->fc->bias.item<double>(), 1.0 - 0.01, 1e-6);
}

// The notebook's step, written out with plain LibTorch: D on scaled real images against 1 (0.9),
// on G(z) against 0, one Adam step; then G against 1 on a fresh z, one Adam step.
void notebook_step(Gan& gan, const torch::Tensor& real_images, bool smooth) {
  auto bce = [](const torch::Tensor& logits, double target) {
    const auto p = torch::sigmoid(logits);
    const auto t = torch::full_like(p, target);
    return -(t * torch::log(p) + (1 - t) * torch::log(1 - p)).mean();
  };
  const int64_t n = real_images.size(0), z_size = gan.options.z_size;
  gan.d_optimizer->zero_grad();
  const auto real = real_images.to(torch::kFloat32) / 255 * 2 - 1;
  const auto d_real = bce(gan.discriminator(real), smooth ? 0.9 : 1.0);
  const auto z = torch::rand({n, z_size}) * 2 - 1;
  const auto d_fake = bce(gan.discriminator(gan.generator(z)), 0.0);
  (d_real + d_fake).backward();
  gan.d_optimizer->step();

  gan.g_optimizer->zero_grad();
  const auto z2 = torch::rand({n, z_size}) * 2 - 1;
  bce(gan.discriminator(gan.generator(z2)), 1.0).backward();
  gan.g_optimizer->step();
}

TEST(TrainStep, ThreeStepsMatchTheNotebookStepWrittenOut) {
  for (const bool smooth : {false, true}) {
    torch::manual_seed(31);
    const auto batches = images(3 * 6).view({3, 6, 3, 32, 32});
    torch::manual_seed(32);
    Gan ours(GanOptions{4, 8, /*lr=*/0.01}, torch::kCPU);
    torch::manual_seed(32);
    Gan reference(GanOptions{4, 8, /*lr=*/0.01}, torch::kCPU);
    torch::manual_seed(33);
    for (int64_t i = 0; i < 3; ++i) dcgan::train::train_step(ours, batches[i], smooth);
    torch::manual_seed(33);
    for (int64_t i = 0; i < 3; ++i) notebook_step(reference, batches[i], smooth);
    const std::vector<std::pair<torch::nn::Module*, torch::nn::Module*>> pairs = {
        {ours.generator.get(), reference.generator.get()},
        {ours.discriminator.get(), reference.discriminator.get()}};
    for (const auto& pair : pairs) {
      auto expected = pair.second->named_parameters();
      for (const auto& p : pair.first->named_parameters()) {
        EXPECT_TRUE(torch::allclose(p.value(), expected[p.key()], 1e-4, 1e-5))
            << p.key() << (smooth ? " (smooth labels)" : "") << ", largest difference "
            << (p.value() - expected[p.key()]).abs().max().item<double>();
      }
      auto expected_buffers = pair.second->named_buffers();
      for (const auto& b : pair.first->named_buffers()) {
        EXPECT_TRUE(torch::allclose(b.value().to(torch::kFloat64),
                                    expected_buffers[b.key()].to(torch::kFloat64), 1e-4, 1e-5))
            << b.key();
      }
    }
  }
}

}  // namespace
