// models/conditioning: conditional BatchNorm, the projection term and AC-GAN's one-hot input,
// each checked against numbers worked out by hand on tiny tensors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "dcgan/eval/feature_net.h"
#include "dcgan/eval/sample_quality.h"
#include "dcgan/models/conditioning.h"
#include "dcgan/models/discriminator.h"
#include "dcgan/models/generator.h"
#include "dcgan/train/gan.h"
#include "dcgan/sampling/sampling.h"
#include "dcgan/train/step.h"
#include "test_helpers.h"

namespace {

using dcgan::models::ConditionalBatchNorm2d;
using dcgan::models::ConditionalBatchNorm2dOptions;

// Two samples of 2 channels x 1 x 2 pixels. Channel 0 holds 1, 3 | 5, 7 (mean 4, variance 5);
// channel 1 holds 0, 0 | 2, 2 (mean 1, variance 1).
torch::Tensor two_samples() {
  return torch::tensor({1., 3., 0., 0., 5., 7., 2., 2.}, torch::kFloat32).view({2, 2, 1, 2});
}

TEST(ConditionalBatchNorm, NormalisesThenAppliesTheGainAndBiasOfEachSamplesClass) {
  ConditionalBatchNorm2d norm(ConditionalBatchNorm2dOptions(/*features=*/2, /*classes=*/3));
  {
    torch::NoGradGuard no_grad;
    norm->gain->weight.copy_(torch::tensor({{1., 1.}, {2., 3.}, {0.5, -1.}}));
    norm->bias->weight.copy_(torch::tensor({{0., 0.}, {10., 20.}, {-1., 0.}}));
  }
  const auto out = norm(two_samples(), torch::tensor({1, 2}, torch::kInt64));
  const double s0 = std::sqrt(5 + 1e-5), s1 = std::sqrt(1 + 1e-5);  // BatchNorm's eps
  // Sample 0 is class 1 (gain 2, 3; bias 10, 20), sample 1 class 2 (gain 0.5, -1; bias -1, 0).
  const auto expected = torch::tensor({2 * -3 / s0 + 10, 2 * -1 / s0 + 10, 3 * -1 / s1 + 20,
                                       3 * -1 / s1 + 20, 0.5 * 1 / s0 - 1, 0.5 * 3 / s0 - 1,
                                       -1 * 1 / s1, -1 * 1 / s1},
                                      torch::kFloat32)
                            .view({2, 2, 1, 2});
  EXPECT_TRUE(torch::allclose(out, expected, 1e-5, 1e-6)) << out << expected;

  // BatchNorm's running statistics, momentum 0.1 from (0, 1), with the unbiased variance.
  EXPECT_TRUE(torch::allclose(norm->bn->running_mean, torch::tensor({0.4f, 0.1f})));
  EXPECT_TRUE(torch::allclose(norm->bn->running_var,
                              torch::tensor({0.9f + 0.1f * 20 / 3, 0.9f + 0.1f * 4 / 3})));

  // Only the classes used get gradients: each of their gains and biases saw 2 pixels.
  out.sum().backward();
  EXPECT_TRUE(torch::equal(norm->bias->weight.grad(), torch::tensor({{0.f, 0.f}, {2.f, 2.f}, {2.f, 2.f}})));
  EXPECT_EQ(norm->gain->weight.grad()[0].abs().sum().item<float>(), 0.f);
}

TEST(ConditionalBatchNorm, StartsAsPlainBatchNorm) {
  torch::manual_seed(3);
  ConditionalBatchNorm2d norm(ConditionalBatchNorm2dOptions(4, 10));
  torch::nn::BatchNorm2d plain(4);
  const auto x = torch::randn({6, 4, 3, 3});
  const auto labels = torch::randint(0, 10, {6}, torch::kInt64);
  EXPECT_TRUE(torch::allclose(norm(x, labels), plain(x), 1e-5, 1e-6));
  norm->eval();
  plain->eval();
  EXPECT_TRUE(torch::allclose(norm(x, labels), plain(x), 1e-5, 1e-6));
  // Its parameters: the two embeddings, nothing of BatchNorm's own.
  EXPECT_EQ(norm->parameters().size(), 2u);
  EXPECT_EQ(norm->named_buffers().size(), 3u);  // running mean, var, batches tracked
}

TEST(ProjectionTerm, IsTheClassEmbeddingDottedWithTheSpatiallySummedFeatures) {
  // Sample 0: channel 0 all 1 (sum 4), channel 1 1..4 (sum 10); sample 1: sums -1 and 0.
  const auto features =
      torch::tensor({1., 1., 1., 1., 1., 2., 3., 4., 0., 0., 0., -1., 0., 0., 0., 0.},
                    torch::kFloat32)
          .view({2, 2, 2, 2});
  torch::nn::Embedding embedding(torch::nn::EmbeddingOptions(3, 2));
  {
    torch::NoGradGuard no_grad;
    embedding->weight.copy_(torch::tensor({{1., 0.}, {0.5, 2.}, {3., -1.}}));
  }
  const auto term = dcgan::models::projection_term(features, torch::tensor({1, 2}), embedding);
  // 0.5 * 4 + 2 * 10 = 22 and 3 * -1 + -1 * 0 = -3.
  EXPECT_TRUE(torch::allclose(term, torch::tensor({{22.f}, {-3.f}}))) << term;
}

TEST(AcganInput, AppendsTheOneHotLabelToZ) {
  const auto z = torch::tensor({{0.1f, 0.2f}, {0.3f, 0.4f}});
  const auto input = dcgan::models::with_one_hot(z, torch::tensor({2, 0}), 3);
  EXPECT_TRUE(torch::equal(input, torch::tensor({{0.1f, 0.2f, 0.f, 0.f, 1.f},
                                                 {0.3f, 0.4f, 1.f, 0.f, 0.f}})));
}

TEST(Conditioning, NamesAndLabelsOutsideTheModelAreRefusedInOneLine) {
  using dcgan::models::Conditioning;
  EXPECT_EQ(dcgan::models::parse_conditioning("projection"), Conditioning::kProjection);
  EXPECT_EQ(dcgan::models::parse_conditioning("acgan"), Conditioning::kAcgan);
  EXPECT_EQ(dcgan::models::to_string(Conditioning::kAcgan), "acgan");
  dcgan::test::expect_error([] { dcgan::models::parse_conditioning("ac-gan"); },
                            {"--conditional must be projection or acgan, got 'ac-gan'"});
  dcgan::test::expect_error(
      [] { dcgan::models::check_labels(torch::tensor({0, 3}), 3, "data.mat"); },
      {"data.mat: label 3 is not a class of this model (0-2)"});
  dcgan::test::expect_error(
      [] { dcgan::models::check_labels(torch::tensor({-1, 0}), 3, "data.mat"); },
      {"data.mat: label -1 is not"});
  dcgan::test::expect_error(
      [] { dcgan::models::check_labels(torch::tensor({0.f}), 3, "data.mat"); },
      {"data.mat: labels must be one int64 class index per image"});
  EXPECT_NO_THROW(dcgan::models::check_labels(torch::tensor({0, 2, 1}), 3, "data.mat"));
}

// --- the networks ------------------------------------------------------------------------------

using dcgan::models::Conditioning;

dcgan::models::DiscriminatorOptions conditional_d(Conditioning conditioning) {
  return dcgan::models::DiscriminatorOptions(4).conditioning(conditioning).classes(3);
}

// The projection discriminator's logit for class k is its unconditional logit plus
// <embed[k], D's last features summed over space>, the features read here through the observer.
TEST(ConditionalDiscriminator, ProjectionAddsTheClassTermToTheLogit) {
  torch::manual_seed(4);
  dcgan::models::Discriminator d(conditional_d(Conditioning::kProjection));
  d->eval();
  const auto images = torch::rand({2, 3, 32, 32}) * 2 - 1;
  torch::Tensor last;
  const auto plain = d->forward(images, [&](const std::string& layer, const torch::Tensor& x) {
    if (layer.rfind("leaky_relu", 0) == 0) last = x;
  });
  const auto labels = torch::tensor({2, 0});
  const auto judged = d->judge(images, labels);
  const auto pooled = last.sum({2, 3});
  const auto expected = plain + (d->embed->weight.index_select(0, labels) * pooled).sum(1, true);
  EXPECT_TRUE(torch::allclose(judged.logit, expected, 1e-5, 1e-6)) << judged.logit << expected;
  EXPECT_FALSE(torch::allclose(judged.logit, plain)) << "the class term is zero";
  EXPECT_FALSE(judged.class_logits.defined());
}

TEST(ConditionalDiscriminator, AcganHasAClassifierHeadOnTheLastFeatures) {
  torch::manual_seed(4);
  dcgan::models::Discriminator d(conditional_d(Conditioning::kAcgan));
  const auto judged = d->judge(torch::rand({5, 3, 32, 32}), torch::Tensor());
  EXPECT_EQ(judged.logit.sizes(), (std::vector<int64_t>{5, 1}));
  EXPECT_EQ(judged.class_logits.sizes(), (std::vector<int64_t>{5, 3}));
  EXPECT_EQ(d->classifier->weight.sizes(), (std::vector<int64_t>{3, 16 * 4 * 4}));
}

TEST(ConditionalGenerator, EachMethodMakesImagesThatDependOnTheClass) {
  for (const auto conditioning : {Conditioning::kProjection, Conditioning::kAcgan}) {
    for (const auto arch : {dcgan::models::Arch::kNotebook, dcgan::models::Arch::kPytorchExamples}) {
      SCOPED_TRACE(dcgan::models::to_string(conditioning) + " " + dcgan::models::to_string(arch));
      torch::manual_seed(6);
      dcgan::models::Generator g(dcgan::models::GeneratorOptions(8, 4)
                                     .arch(arch)
                                     .image_size(64)
                                     .conditioning(conditioning)
                                     .classes(3));
      if (conditioning == Conditioning::kProjection) {
        // Untrained, every class has gain 1 and bias 0: give the classes their own.
        torch::NoGradGuard no_grad;
        for (auto& p : g->named_parameters())
          if (p.key().find("gain") != std::string::npos || p.key().find("bias") != std::string::npos)
            p.value().normal_();
      }
      g->eval();
      const auto z = torch::rand({2, 8}) * 2 - 1;
      const auto as_0 = g->forward_with_labels(z, torch::tensor({0, 0}));
      const auto as_2 = g->forward_with_labels(z, torch::tensor({2, 2}));
      EXPECT_EQ(as_0.sizes(), (std::vector<int64_t>{2, 3, 64, 64}));
      EXPECT_GT((as_0 - as_2).abs().max().item<float>(), 1e-5);
      // The same class gives the same image whatever else is in the batch (eval mode).
      EXPECT_TRUE(
          torch::allclose(g->forward_with_labels(z, torch::tensor({0, 2}))[0], as_0[0], 1e-5, 1e-6));
    }
  }
}

// AC-GAN's losses: the adversarial part plus the cross-entropy of D's class logits, on real
// images for D and on fake ones for G, worked out here from D's own outputs.
TEST(ConditionalLosses, AcganAddsTheClassifiersCrossEntropy) {
  torch::manual_seed(8);
  dcgan::train::GanOptions options;
  options.conv_dim = 4;
  options.z_size = 8;
  options.conditioning = Conditioning::kAcgan;
  options.classes = 3;
  dcgan::train::Gan gan(options, torch::kCPU);
  gan.generator->eval();
  gan.discriminator->eval();  // no batch statistics: the same numbers each time D is asked
  const auto real = torch::rand({4, 3, 32, 32}) * 2 - 1;
  const auto z = torch::rand({4, 8}) * 2 - 1;
  const auto real_labels = torch::tensor({0, 1, 2, 1}), fake_labels = torch::tensor({2, 2, 0, 1});
  torch::NoGradGuard no_grad;
  const auto fake = gan.generator->forward_with_labels(z, fake_labels);
  const auto on_real = gan.discriminator->judge(real, real_labels);
  const auto on_fake = gan.discriminator->judge(fake, fake_labels);
  namespace F = torch::nn::functional;
  const auto bce = [](const torch::Tensor& logits, float target) {
    return F::binary_cross_entropy_with_logits(logits, torch::full_like(logits, target));
  };
  // D's classifier learns from the real images only; G's loss asks it to read the fakes' classes.
  const auto expected_d = bce(on_real.logit, 1) + bce(on_fake.logit, 0) +
                          F::cross_entropy(on_real.class_logits, real_labels);
  const auto d_loss = dcgan::train::discriminator_loss(gan, real, z, false,
                                                       dcgan::train::Precision::kFp32, {}, {},
                                                       real_labels, fake_labels);
  EXPECT_NEAR(d_loss.item<float>(), expected_d.item<float>(), 1e-5);
  const auto expected_g = bce(on_fake.logit, 1) + F::cross_entropy(on_fake.class_logits, fake_labels);
  const auto g_loss = dcgan::train::generator_loss(gan, z, dcgan::train::Precision::kFp32, {},
                                                   fake_labels);
  EXPECT_NEAR(g_loss.item<float>(), expected_g.item<float>(), 1e-5);
  EXPECT_GT(F::cross_entropy(on_fake.class_logits, fake_labels).item<float>(), 0.1f);
  // --g-class-weight scales G's class loss only; D's classifier learns at full weight.
  gan.options.g_class_weight = 0.3;
  const auto weighted_g = bce(on_fake.logit, 1) +
                          0.3 * F::cross_entropy(on_fake.class_logits, fake_labels);
  EXPECT_NEAR(dcgan::train::generator_loss(gan, z, dcgan::train::Precision::kFp32, {}, fake_labels)
                  .item<float>(),
              weighted_g.item<float>(), 1e-5);
  EXPECT_NEAR(dcgan::train::discriminator_loss(gan, real, z, false, dcgan::train::Precision::kFp32,
                                               {}, {}, real_labels, fake_labels)
                  .item<float>(),
              expected_d.item<float>(), 1e-5);
}

// The batch of an epoch's order keeps each image with its label: images whose pixels are their
// label, shuffled, come out with pixel == label.
TEST(ConditionalBatches, LabelsStayWithTheirImagesThroughTheShuffle) {
  torch::manual_seed(9);
  const auto labels = torch::randint(0, 10, {50}, torch::kInt64);
  const auto images = (labels * 20).to(torch::kUInt8).view({50, 1, 1, 1}).expand({50, 3, 4, 4}).contiguous();
  const auto order = torch::randperm(50, torch::kInt64);
  const auto batch = dcgan::train::pick_batch(images, labels, order, 12, 16);
  ASSERT_EQ(batch.labels.size(0), 16);
  EXPECT_TRUE(torch::equal(batch.images.flatten(1).select(1, 0).to(torch::kInt64) / 20,
                           batch.labels));
  EXPECT_TRUE(torch::equal(batch.labels, labels.index_select(0, order.narrow(0, 12, 16))));
  EXPECT_FALSE(torch::equal(batch.labels, labels.narrow(0, 12, 16))) << "the order was not used";
}

// Class accuracy and intra-class FD: the images asked for as class k, class by class, the share
// of them the feature net reads as k, and their FD to the real images of class k, worked out here
// from the same z and the net's own outputs.
TEST(ClassQuality, AccuracyAndIntraClassFdAreTakenClassByClass) {
  torch::manual_seed(2);
  dcgan::models::Generator g(
      dcgan::models::GeneratorOptions(8, 4).conditioning(Conditioning::kAcgan).classes(10));
  dcgan::eval::FeatureNet net;
  net->eval();
  dcgan::data::ImageSet real;
  real.images = torch::randint(0, 256, {60, 3, 32, 32}, torch::kUInt8);
  real.labels = torch::arange(60, torch::kInt64).remainder(10);
  real.labels[0] = 1;  // class 0 keeps 5 real images, class 1 gets 7
  const auto quality = dcgan::eval::class_quality(g, net, real, 43, 3);
  EXPECT_EQ(quality.images_per_class, 4);
  ASSERT_EQ(quality.accuracy.size(), 10u);
  ASSERT_EQ(quality.frechet.size(), 10u);
  const auto labels = torch::arange(10, torch::kInt64).repeat_interleave(4);
  const auto images = dcgan::sampling::render(g, dcgan::sampling::seeded_z(g, 40, 3), labels);
  const auto read_as = dcgan::eval::class_probabilities(net, images).argmax(1);
  const auto features = dcgan::eval::extract_features(net, images);
  for (int64_t k = 0; k < 10; ++k) {
    EXPECT_DOUBLE_EQ(quality.accuracy[static_cast<size_t>(k)],
                     read_as.narrow(0, 4 * k, 4).eq(k).to(torch::kFloat64).mean().item<double>())
        << k;
    const auto real_k = real.images.index_select(0, real.labels.eq(k).nonzero().flatten());
    EXPECT_NEAR(quality.frechet[static_cast<size_t>(k)],
                dcgan::eval::frechet_distance(features.narrow(0, 4 * k, 4),
                                              dcgan::eval::extract_features(net, real_k)),
                1e-6)
        << k;
  }
  // The summary by hand: accuracies 1.0, 0.5, 0.75 have mean 0.75 and worst "b" at 0.5.
  dcgan::eval::ClassQuality three;
  three.accuracy = {1.0, 0.5, 0.75};
  three.frechet = {10, std::nan(""), 20};
  const auto small = dcgan::eval::to_json(three, {"a", "b", "c"});
  EXPECT_DOUBLE_EQ(small.at("mean_accuracy").get<double>(), 0.75);
  EXPECT_EQ(small.at("worst_class"), "b");
  EXPECT_DOUBLE_EQ(small.at("worst_accuracy").get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(small.at("mean_intra_class_fd").get<double>(), 15);
  EXPECT_TRUE(small.at("intra_class_fd").at("b").is_null());
}

}  // namespace
