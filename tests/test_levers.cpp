// The training levers beyond the notebook (issue 20): differentiable augmentation, the hinge loss,
// spectral normalisation, separate learning rates and --no-batch-norm. Values worked out by hand.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "dcgan/models/discriminator.h"
#include "dcgan/models/generator.h"
#include "dcgan/models/minibatch_std.h"
#include "dcgan/models/spectral_norm.h"
#include "dcgan/models/summary.h"
#include "dcgan/train/augment.h"
#include "dcgan/train/checkpoint.h"
#include "dcgan/train/config.h"
#include "dcgan/train/gan.h"
#include "test_helpers.h"

using dcgan::train::AugmentPolicy;
using dcgan::train::Gan;
using dcgan::train::GanOptions;
using dcgan::train::kAugmentUniforms;

namespace {

AugmentPolicy policy(const std::string& list, double strength = 1.0) {
  return dcgan::train::parse_augment_policy(list, strength);
}

// One image's uniforms: brightness, saturation, contrast, shift x, shift y, cutout x, cutout y.
torch::Tensor uniforms(std::vector<float> u) {
  return torch::tensor(u).view({1, kAugmentUniforms});
}

// 1 x 1 x 4 x 4 image holding 1..16 row by row, scaled into [-1, 1].
torch::Tensor ramp() { return (torch::arange(1, 17, torch::kFloat32) / 16).view({1, 1, 4, 4}); }

TEST(Augment, EachTransformKeepsShapeAndRangeAndPassesGradients) {
  torch::manual_seed(1);
  for (const char* list : {"color", "translation", "cutout", "color,translation,cutout"}) {
    auto images = (torch::rand({6, 3, 16, 16}) * 2 - 1).requires_grad_();
    const auto out =
        dcgan::train::augment(images, torch::rand({6, kAugmentUniforms}), policy(list));
    EXPECT_EQ(out.sizes(), images.sizes()) << list;
    EXPECT_LE(out.max().item<float>(), 1.0f) << list;
    EXPECT_GE(out.min().item<float>(), -1.0f) << list;
    EXPECT_FALSE(torch::equal(out, images)) << list << " changed nothing";
    const auto grad = torch::autograd::grad({(out * out).sum()}, {images})[0];
    EXPECT_TRUE(torch::isfinite(grad).all().item<bool>()) << list;
    EXPECT_GT(grad.abs().sum().item<double>(), 0) << list << ": no gradient reaches the images";
  }
}

TEST(Augment, StrengthZeroIsTheIdentity) {
  torch::manual_seed(2);
  const auto images = torch::rand({5, 3, 32, 32}) * 2 - 1;
  const auto u = torch::rand({5, kAugmentUniforms});
  EXPECT_TRUE(torch::equal(dcgan::train::augment(images, u, policy("color,translation,cutout", 0)),
                           images));
}

TEST(Augment, TranslationShiftsByWholePixelsAndFillsWithZero) {
  // Side 4: shifts up to round(4 / 8) = 1 pixel; u = 0.9 picks floor(0.9 * 3) - 1 = +1.
  const auto image = ramp();
  const auto right = dcgan::train::augment(image, uniforms({0, 0, 0, 0.9f, 0.5f, 0, 0}),
                                           policy("translation"));
  auto expected = torch::zeros_like(image);
  expected.narrow(3, 1, 3).copy_(image.narrow(3, 0, 3));  // column j holds input column j - 1
  EXPECT_TRUE(torch::equal(right, expected)) << right;
  // u = 0 picks -1 rows: row i holds input row i + 1, the last row is blank.
  const auto up = dcgan::train::augment(image, uniforms({0, 0, 0, 0.5f, 0.0f, 0, 0}),
                                        policy("translation"));
  expected = torch::zeros_like(image);
  expected.narrow(2, 0, 3).copy_(image.narrow(2, 1, 3));
  EXPECT_TRUE(torch::equal(up, expected)) << up;
}

TEST(Augment, CutoutBlanksASquareHalfTheSide) {
  // Side 4: a 2x2 square; u = 0.5 puts its centre at floor(0.5 * 5) = 2, so rows/columns 1 and 2.
  const auto image = ramp();
  const auto out =
      dcgan::train::augment(image, uniforms({0, 0, 0, 0, 0, 0.5f, 0.5f}), policy("cutout"));
  auto expected = image.clone();
  expected.narrow(2, 1, 2).narrow(3, 1, 2).zero_();
  EXPECT_TRUE(torch::equal(out, expected)) << out;
}

TEST(Augment, ColourBlendsTowardWhiteGreyAndTheMean) {
  const auto pixel = torch::tensor({-1.0f, 0.0f, 0.5f}).view({1, 3, 1, 1});  // one RGB pixel
  // Brightness u = 1: b = +0.5, halfway to white: -1 -> 0, 0 -> 0.5, 0.5 -> 0.75.
  auto out = dcgan::train::augment(pixel, uniforms({1, 0, 0, 0, 0, 0, 0}), policy("color"));
  EXPECT_TRUE(torch::allclose(out.flatten(), torch::tensor({0.0f, 0.5f, 0.75f}))) << out;
  // Brightness u = 0: halfway to black: -1 -> -1, 0 -> -0.5, 0.5 -> -0.25.
  out = dcgan::train::augment(pixel, uniforms({0, 0, 0, 0, 0, 0, 0}), policy("color"));
  EXPECT_TRUE(torch::allclose(out.flatten(), torch::tensor({-1.0f, -0.5f, -0.25f}))) << out;
  // Saturation u = 1 (brightness 0.5: none): all the way to the grey -1/6.
  out = dcgan::train::augment(pixel, uniforms({0.5f, 1, 0, 0, 0, 0, 0}), policy("color"));
  EXPECT_TRUE(torch::allclose(out.flatten(), torch::full({3}, -1.0f / 6))) << out;
  // Contrast u = 1: halfway to the image's mean (-1/6, here one pixel's).
  out = dcgan::train::augment(pixel, uniforms({0.5f, 0, 1, 0, 0, 0, 0}), policy("color"));
  const auto mean = -1.0f / 6;
  EXPECT_TRUE(torch::allclose(
      out.flatten(), torch::tensor({(-1 + mean) / 2, (0 + mean) / 2, (0.5f + mean) / 2})))
      << out;
}

TEST(Augment, SameSeedSameTransformsAndThePolicyParses) {
  const auto images = torch::rand({4, 3, 8, 8}) * 2 - 1;
  torch::manual_seed(7);
  const auto a = dcgan::train::augment(
      images, dcgan::train::draw_augment_uniforms(4), policy("translation,cutout"));
  torch::manual_seed(7);
  const auto b = dcgan::train::augment(
      images, dcgan::train::draw_augment_uniforms(4), policy("translation,cutout"));
  EXPECT_TRUE(torch::equal(a, b));
  // From the run's stream: each draw moves it on, and per image they differ.
  const auto first = dcgan::train::draw_augment_uniforms(4);
  const auto next = dcgan::train::draw_augment_uniforms(4);
  EXPECT_FALSE(torch::equal(first, next));
  EXPECT_FALSE(torch::equal(first[0], first[1]));
  EXPECT_EQ(dcgan::train::to_string(policy("cutout,color,cutout")), "color,cutout");
  EXPECT_FALSE(policy("none").enabled());
  dcgan::test::expect_error([] { policy("flip"); }, {"--augment", "'flip'"});
  dcgan::test::expect_error([] { policy("color", 1.5); }, {"--augment-strength", "1.5"});
}

TEST(Losses, HingeMatchesHandComputedValues) {
  const auto real = torch::tensor({0.5f, 2.0f}), fake = torch::tensor({-2.0f, 0.3f});
  // D: mean(relu(1 - [0.5, 2])) + mean(relu(1 + [-2, 0.3])) = 0.25 + 0.65.
  EXPECT_NEAR(dcgan::train::discriminator_loss_from_logits(real, fake,
                                                           dcgan::train::LossKind::kHinge, false)
                  .item<double>(),
              0.9, 1e-6);
  // G: -mean([-2, 0.3]).
  EXPECT_NEAR(
      dcgan::train::generator_loss_from_logits(fake, dcgan::train::LossKind::kHinge).item<double>(),
      0.85, 1e-6);
  // BCE for comparison: log(1 + e^-x) for reals, log(1 + e^x) for fakes.
  const auto softplus = [](double x) { return std::log1p(std::exp(x)); };
  EXPECT_NEAR(dcgan::train::discriminator_loss_from_logits(real, fake,
                                                           dcgan::train::LossKind::kBce, false)
                  .item<double>(),
              (softplus(-0.5) + softplus(-2)) / 2 + (softplus(-2) + softplus(0.3)) / 2, 1e-6);
  EXPECT_EQ(dcgan::train::parse_loss("hinge"), dcgan::train::LossKind::kHinge);
  dcgan::test::expect_error([] { dcgan::train::parse_loss("wasserstein"); }, {"--loss"});
}

TEST(SpectralNorm, OnePowerIterationMatchesHandComputedSigma) {
  torch::nn::Linear layer(torch::nn::LinearOptions(2, 2).bias(false));
  torch::NoGradGuard no_grad;
  layer->weight.copy_(torch::tensor({3.0f, 0.0f, 0.0f, 1.0f}).view({2, 2}));
  dcgan::models::add_spectral_norm_buffers(*layer, layer->weight);
  auto buffers = layer->named_buffers(false);
  buffers["weight_u"].copy_(torch::tensor({1.0f, 1.0f}) / std::sqrt(2.0f));
  // v = normalize(W^T u) = [3, 1] / sqrt(10); u = normalize(W v) = [9, 1] / sqrt(82);
  // sigma = u . W v = 82 / sqrt(820) = sqrt(8.2).
  const auto normalized = dcgan::models::spectrally_normalized_weight(*layer, layer->weight, true);
  EXPECT_TRUE(torch::allclose(normalized, layer->weight / std::sqrt(8.2f), 1e-5, 1e-6))
      << normalized;
  EXPECT_TRUE(torch::allclose(buffers["weight_u"], torch::tensor({9.0f, 1.0f}) / std::sqrt(82.0f)));
  // Without the update (eval) u and v stay; with many, sigma reaches the top singular value 3.
  const auto u = buffers["weight_u"].clone();
  dcgan::models::spectrally_normalized_weight(*layer, layer->weight, false);
  EXPECT_TRUE(torch::equal(buffers["weight_u"], u));
  torch::Tensor w;
  for (int i = 0; i < 30; ++i)
    w = dcgan::models::spectrally_normalized_weight(*layer, layer->weight, true);
  EXPECT_TRUE(torch::allclose(w, layer->weight / 3, 1e-4, 1e-5)) << w;
}

TEST(SpectralNorm, DiscriminatorNormalisesEveryLayerAndTrains) {
  torch::manual_seed(3);
  for (const auto arch : {dcgan::models::Arch::kNotebook, dcgan::models::Arch::kPytorchExamples}) {
    dcgan::models::Discriminator d(
        dcgan::models::DiscriminatorOptions(4).arch(arch).spectral_norm(true));
    const auto buffers = d->named_buffers();
    for (const char* name : {"conv1.weight_u", "conv2.weight_v", "conv3.weight_u"})
      EXPECT_TRUE(buffers.contains(name)) << name;
    EXPECT_TRUE(buffers.contains(arch == dcgan::models::Arch::kNotebook ? "fc.weight_u"
                                                                        : "conv_out.weight_u"));
    const auto u_before = buffers["conv1.weight_u"].clone();
    const auto x = torch::rand({3, 3, 32, 32}) * 2 - 1;
    const auto logits = d->forward(x);
    EXPECT_FALSE(torch::equal(u_before, buffers["conv1.weight_u"])) << "no power iteration";
    const auto grads = torch::autograd::grad({logits.sum()}, d->parameters());
    for (const auto& g : grads) EXPECT_TRUE(torch::isfinite(g).all().item<bool>());
    // In eval mode the estimate stays put, so a saved D gives the same logits every time.
    d->eval();
    const auto first = d->forward(x), second = d->forward(x);
    EXPECT_TRUE(torch::equal(first, second));
  }
}

// Four images of 1 x 1 x 2 features in groups of two: image i is in group i % 2.
TEST(MinibatchStd, HandWorkedGroupsOfTwo) {
  const auto x = torch::tensor({0.0f, 0.0f, 1.0f, 1.0f, 2.0f, 4.0f, 1.0f, 3.0f}).view({4, 1, 1, 2});
  const auto out = dcgan::models::append_minibatch_std(x, 2);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{4, 2, 1, 2}));
  EXPECT_TRUE(torch::equal(out.narrow(1, 0, 1), x)) << "the features themselves pass unchanged";
  // Images 0 and 2: standard deviations (population) 1 and 2, mean 1.5. Images 1 and 3: 0 (the
  // epsilon leaves sqrt(1e-8)) and 1, mean 0.50005. Each fills its image's whole channel.
  const auto spread = out.narrow(1, 1, 1).flatten();
  const auto expected =
      torch::tensor({1.5f, 1.5f, 0.50005f, 0.50005f, 1.5f, 1.5f, 0.50005f, 0.50005f});
  EXPECT_TRUE(torch::allclose(spread, expected, 1e-5, 1e-6)) << spread;
  // Gradients stay finite where a group's features are identical.
  const auto same = torch::ones({4, 2, 2, 2}, torch::requires_grad());
  const auto grad =
      torch::autograd::grad({dcgan::models::append_minibatch_std(same, 4).sum()}, {same});
  EXPECT_TRUE(torch::isfinite(grad[0]).all().item<bool>());
}

TEST(MinibatchStd, GroupSizeFallsToADivisorOfTheBatch) {
  using dcgan::models::minibatch_std_group;
  EXPECT_EQ(minibatch_std_group(64, 4), 4);
  EXPECT_EQ(minibatch_std_group(16, 64), 16);  // a batch smaller than the group: one group
  EXPECT_EQ(minibatch_std_group(6, 4), 3);
  EXPECT_EQ(minibatch_std_group(5, 4), 1);
  EXPECT_EQ(minibatch_std_group(1, 8), 1);
  // A whole batch of 6 in groups of 3: images 0, 2, 4 and 1, 3, 5.
  const auto x = torch::arange(6, torch::kFloat32).view({6, 1, 1, 1}).pow(2);
  const auto spread = dcgan::models::append_minibatch_std(x, 4).narrow(1, 1, 1).flatten();
  const auto even = torch::tensor({0.0f, 4.0f, 16.0f}).std(/*unbiased=*/false).item<float>();
  const auto odd = torch::tensor({1.0f, 9.0f, 25.0f}).std(/*unbiased=*/false).item<float>();
  EXPECT_TRUE(torch::allclose(spread, torch::tensor({even, odd, even, odd, even, odd}), 1e-5))
      << spread;
}

// D's logit sees the channel (its last layer takes one more), its class head does not; an image's
// logit then depends on the other images of its group, even in eval mode.
TEST(MinibatchStd, DiscriminatorJudgesEachImageWithItsGroup) {
  using dcgan::models::Arch;
  using dcgan::models::Conditioning;
  torch::manual_seed(4);
  for (const auto arch : {Arch::kNotebook, Arch::kPytorchExamples}) {
    SCOPED_TRACE(dcgan::models::to_string(arch));
    const auto options = dcgan::models::DiscriminatorOptions(4)
                             .arch(arch)
                             .conditioning(Conditioning::kAcgan)
                             .classes(3);
    dcgan::models::Discriminator with(
        dcgan::models::DiscriminatorOptions(options).minibatch_std(2));
    dcgan::models::Discriminator without(options);
    // W0 = 16 features of 4 x 4.
    if (arch == Arch::kNotebook) {
      EXPECT_EQ(with->fc->weight.size(1), 17 * 16);
      EXPECT_EQ(without->fc->weight.size(1), 16 * 16);
    } else {
      EXPECT_EQ(with->conv_out->weight.size(1), 17);
      EXPECT_EQ(without->conv_out->weight.size(1), 16);
    }
    EXPECT_EQ(with->classifier->weight.size(1), 16 * 16);
    const auto summary = dcgan::models::summarize(with);
    const auto row = std::find_if(summary.layers.begin(), summary.layers.end(),
                                  [](const auto& layer) { return layer.name == "minibatch_std"; });
    ASSERT_NE(row, summary.layers.end());
    EXPECT_EQ(row->output_shape, (std::vector<int64_t>{1, 17, 4, 4}));

    torch::NoGradGuard no_grad;
    with->eval();
    without->eval();
    const auto images = torch::rand({4, 3, 32, 32}) * 2 - 1;
    auto changed = images.clone();
    changed[2].copy_(torch::rand({3, 32, 32}) * 2 - 1);  // image 0's group mate
    const auto labels = torch::tensor({0, 1, 2, 0}, torch::kInt64);
    const auto before = with->judge(images, labels), after = with->judge(changed, labels);
    EXPECT_GT((before.logit[0] - after.logit[0]).abs().item<double>(), 1e-6);
    EXPECT_TRUE(torch::equal(before.logit[1], after.logit[1])) << "image 1 is in the other group";
    EXPECT_TRUE(torch::equal(before.class_logits[0], after.class_logits[0]))
        << "the class head judges each image alone";
    EXPECT_TRUE(torch::equal(without->forward(images)[0], without->forward(changed)[0]));
  }
}

TEST(AcganProjection, LogitAddsTheClassTermAndTheClassifierStays) {
  using dcgan::models::Arch;
  using dcgan::models::Conditioning;
  torch::manual_seed(5);
  for (const auto arch : {Arch::kNotebook, Arch::kPytorchExamples}) {
    SCOPED_TRACE(dcgan::models::to_string(arch));
    const auto options = dcgan::models::DiscriminatorOptions(4)
                             .arch(arch)
                             .conditioning(Conditioning::kAcgan)
                             .classes(3)
                             .minibatch_std(2);
    dcgan::models::Discriminator with(
        dcgan::models::DiscriminatorOptions(options).acgan_projection(true));
    dcgan::models::Discriminator without(options);
    ASSERT_FALSE(with->embed.is_empty());
    ASSERT_FALSE(with->classifier.is_empty());
    EXPECT_TRUE(without->embed.is_empty());
    EXPECT_EQ(with->embed->weight.sizes(), (torch::IntArrayRef{3, 16}));  // classes x W0

    torch::NoGradGuard no_grad;
    with->eval();
    const auto images = torch::rand({4, 3, 32, 32}) * 2 - 1;
    const auto labels = torch::tensor({0, 1, 2, 0}, torch::kInt64);
    const auto relabelled = torch::tensor({1, 1, 0, 2}, torch::kInt64);
    // The class term, by hand: <embed(label), the last features summed over the 4 x 4 positions>.
    torch::Tensor features;
    const auto judged =
        with->judge(images, labels, [&](const std::string& layer, const torch::Tensor& x) {
          if (layer == "leaky_relu" + std::to_string(with->halvings())) features = x;
        });
    const auto pooled = features.sum({2, 3});
    const auto term = [&](const torch::Tensor& y) {
      return (with->embed->weight.index_select(0, y) * pooled).sum(1, true);
    };
    const auto plain = with->forward(images);  // no labels: no class term
    EXPECT_TRUE(torch::allclose(judged.logit, plain + term(labels), 1e-5, 1e-6));
    const auto other = with->judge(images, relabelled);
    EXPECT_TRUE(torch::allclose(other.logit, plain + term(relabelled), 1e-5, 1e-6));
    EXPECT_GT((other.logit - judged.logit).abs().max().item<double>(), 1e-6);
    EXPECT_TRUE(torch::equal(other.class_logits, judged.class_logits))
        << "the classifier reads the image, not the label";
    // Without the term, the label changes nothing of the logit.
    without->eval();
    EXPECT_TRUE(torch::equal(without->judge(images, labels).logit,
                             without->judge(images, relabelled).logit));
  }
  EXPECT_THROW(
      dcgan::models::Discriminator(dcgan::models::DiscriminatorOptions(4)
                                       .conditioning(dcgan::models::Conditioning::kProjection)
                                       .classes(3)
                                       .acgan_projection(true)),
      c10::Error);
}

TEST(LearningRates, EachNetworkGetsItsOwn) {
  auto lr_of = [](torch::optim::Adam& adam) {
    return static_cast<torch::optim::AdamOptions&>(adam.param_groups()[0].options()).lr();
  };
  GanOptions options;
  options.conv_dim = 4;
  options.z_size = 8;
  options.lr = 1e-3;
  Gan same(options, torch::kCPU);
  EXPECT_DOUBLE_EQ(lr_of(*same.d_optimizer), 1e-3);
  EXPECT_DOUBLE_EQ(lr_of(*same.g_optimizer), 1e-3);
  // Through the run's config, as --lr-d 4e-4 --lr-g 1e-4 set them.
  auto config = dcgan::train::TrainConfig{};
  config.conv_dim = 4;
  config.z_size = 8;
  config.lr_d = 4e-4;
  config.lr_g = 1e-4;
  Gan ttur(dcgan::train::gan_options(config), torch::kCPU);
  EXPECT_DOUBLE_EQ(lr_of(*ttur.d_optimizer), 4e-4);
  EXPECT_DOUBLE_EQ(lr_of(*ttur.g_optimizer), 1e-4);
}

TEST(NoBatchNorm, NetworksHaveNoneAndBiasesInstead) {
  for (const auto arch : {dcgan::models::Arch::kNotebook, dcgan::models::Arch::kPytorchExamples}) {
    // conv_dim 4 at 32x32: widths 16, 8, 4.
    dcgan::models::Generator g(dcgan::models::GeneratorOptions(8, 4).arch(arch).batch_norm(false));
    dcgan::models::Discriminator d(
        dcgan::models::DiscriminatorOptions(4).arch(arch).batch_norm(false));
    for (auto* module : std::initializer_list<torch::nn::Module*>{g.get(), d.get()}) {
      for (const auto& child : module->modules(false))
        EXPECT_EQ(child->as<torch::nn::BatchNorm2d>(), nullptr) << child->name();
    }
    const bool notebook = arch == dcgan::models::Arch::kNotebook;
    // G: z projection (fc 8*256+256 | t_conv0 8*16*16 + 16 bias), t_conv1 16*8*16 + 8,
    // t_conv2 8*4*16 + 4, t_conv3 4*3*16 (no bias: tanh follows, as with BatchNorm).
    const int64_t g_params = (notebook ? 8 * 256 + 256 : 8 * 16 * 16 + 16) + (16 * 8 * 16 + 8) +
                             (8 * 4 * 16 + 4) + 4 * 3 * 16;
    // D: conv1 3*4*16 (no bias), conv2 4*8*16 + 8, conv3 8*16*16 + 16, then fc 256 + 1 or
    // conv_out 16*16.
    const int64_t d_params = 3 * 4 * 16 + (4 * 8 * 16 + 8) + (8 * 16 * 16 + 16) +
                             (notebook ? 256 + 1 : 16 * 16);
    auto count = [](torch::nn::Module& m) {
      int64_t n = 0;
      for (const auto& p : m.parameters()) n += p.numel();
      return n;
    };
    EXPECT_EQ(count(*g), g_params);
    EXPECT_EQ(count(*d), d_params);
    // The CPU path (sub-pixel convolutions) adds the biases too: it equals the modules' own.
    torch::manual_seed(4);
    for (auto& p : g->parameters()) p.data().normal_(0, 0.3);
    const auto z = torch::randn({2, 8});
    // The notebook's fc feeds t_conv1 directly; pytorch/examples' t_conv0 has a ReLU after it.
    auto x = notebook ? g->fc(z).view({2, 16, 4, 4})
                      : torch::relu(g->t_conv(0)(z.view({2, 8, 1, 1})));
    for (size_t i = 1; i < g->doublings(); ++i) x = torch::relu(g->t_conv(i)(x));
    x = torch::tanh(g->t_conv(g->doublings())(x));
    EXPECT_TRUE(torch::allclose(g->forward(z), x, 1e-4, 1e-5)) << (g->forward(z) - x).abs().max();
  }
}

TEST(AugmentedLoss, DSeesAugmentedRealsAndFakes) {
  torch::manual_seed(5);
  GanOptions options;
  options.conv_dim = 4;
  options.z_size = 8;
  options.augment = policy("color,translation,cutout");
  Gan gan(options, torch::kCPU);
  const auto real = torch::rand({4, 3, 32, 32}) * 2 - 1;
  const auto z = torch::rand({4, 8}) * 2 - 1;
  const auto u_real = torch::rand({4, kAugmentUniforms}), u_fake = torch::rand({4, kAugmentUniforms});
  const auto loss =
      dcgan::train::discriminator_loss(gan, real, z, false, dcgan::train::Precision::kFp32,
                                       u_real, u_fake);
  torch::Tensor fake;
  {
    torch::NoGradGuard no_grad;
    fake = gan.generator(z);
  }
  const auto expected = dcgan::train::discriminator_loss_from_logits(
      gan.discriminator(dcgan::train::augment(real, u_real, options.augment)),
      gan.discriminator(dcgan::train::augment(fake, u_fake, options.augment)),
      dcgan::train::LossKind::kBce, false);
  EXPECT_NEAR(loss.item<double>(), expected.item<double>(), 1e-5);
  const auto g_loss =
      dcgan::train::generator_loss(gan, z, dcgan::train::Precision::kFp32, u_fake);
  EXPECT_NEAR(g_loss.item<double>(),
              dcgan::train::generator_loss_from_logits(
                  gan.discriminator(dcgan::train::augment(gan.generator(z), u_fake, options.augment)),
                  dcgan::train::LossKind::kBce)
                  .item<double>(),
              1e-5);
}

TEST(LeverCheckpoints, RecordTheNetworksAndLoadThem) {
  dcgan::test::TempDir dir;
  torch::manual_seed(6);
  GanOptions options;
  options.conv_dim = 4;
  options.z_size = 8;
  options.batch_norm = false;
  options.spectral_norm = true;
  options.minibatch_std = 3;
  Gan gan(options, torch::kCPU);
  dcgan::train::TrainingProgress progress;
  progress.fixed_z = torch::zeros({2, 8});
  progress.config_json = "{}";
  const auto path = dir.file("c.pt");
  dcgan::test::write_bytes(path, dcgan::train::serialize_checkpoint(gan, progress));
  const auto info = dcgan::train::read_checkpoint_info(path);
  EXPECT_FALSE(info.batch_norm);
  EXPECT_TRUE(info.spectral_norm);
  EXPECT_EQ(info.minibatch_std, 3);
  auto d = dcgan::train::load_discriminator(path, torch::kCPU);
  EXPECT_EQ(d->options().minibatch_std(), 3);
  EXPECT_TRUE(torch::equal(d->named_buffers()["conv2.weight_u"],
                           gan.discriminator->named_buffers()["conv2.weight_u"]));
  auto g = dcgan::train::load_generator(path, torch::kCPU);
  EXPECT_FALSE(g->options().batch_norm());
  // A run with BatchNorm can't load it.
  Gan other(GanOptions{4, 8}, torch::kCPU);
  dcgan::test::expect_error([&] { dcgan::train::load_checkpoint(path, other); },
                            {"another architecture", "no batch norm", "minibatch std 3"});

  // AC-GAN's projection term: recorded, loaded, and told apart from the original AC-GAN's D.
  GanOptions acgan{4, 8};
  acgan.conditioning = dcgan::models::Conditioning::kAcgan;
  acgan.classes = 3;
  acgan.acgan_projection = true;
  Gan with(acgan, torch::kCPU);
  progress.class_names = {"a", "b", "c"};
  const auto with_path = dir.file("acgan.pt");
  dcgan::test::write_bytes(with_path, dcgan::train::serialize_checkpoint(with, progress));
  EXPECT_TRUE(dcgan::train::read_checkpoint_info(with_path).acgan_projection);
  auto loaded = dcgan::train::load_discriminator(with_path, torch::kCPU);
  ASSERT_FALSE(loaded->embed.is_empty());
  EXPECT_TRUE(torch::equal(loaded->embed->weight, with.discriminator->embed->weight));
  acgan.acgan_projection = false;
  Gan original(acgan, torch::kCPU);
  dcgan::test::expect_error([&] { dcgan::train::load_checkpoint(with_path, original); },
                            {"another architecture", "acgan with projection", "expected"});
}

}  // namespace
