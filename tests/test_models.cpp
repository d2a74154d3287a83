#include <gtest/gtest.h>

#include <map>

#include "dcgan/models/discriminator.h"
#include "dcgan/models/generator.h"
#include "dcgan/models/init.h"
#include "dcgan/models/summary.h"

using dcgan::models::Discriminator;
using dcgan::models::DiscriminatorOptions;
using dcgan::models::Generator;
using dcgan::models::GeneratorOptions;
using Shape = std::vector<int64_t>;

namespace {

std::map<std::string, Shape> layer_shapes_of_discriminator(Discriminator& d, int64_t batch) {
  std::map<std::string, Shape> shapes;
  d->forward(torch::randn({batch, 3, 32, 32}),
             [&](const std::string& layer, const torch::Tensor& out) {
               shapes[layer] = out.sizes().vec();
             });
  return shapes;
}

std::map<std::string, Shape> layer_shapes_of_generator(Generator& g, int64_t batch) {
  std::map<std::string, Shape> shapes;
  g->forward(torch::rand({batch, g->options().z_size()}) * 2 - 1,
             [&](const std::string& layer, const torch::Tensor& out) {
               shapes[layer] = out.sizes().vec();
             });
  return shapes;
}

struct ShapeCase {
  int64_t batch, conv_dim, z_size;
};

class LayerShapes : public ::testing::TestWithParam<ShapeCase> {
 protected:
  void SetUp() override { torch::manual_seed(0); }
};

TEST_P(LayerShapes, Discriminator) {
  const auto [n, c, z] = GetParam();
  Discriminator d{DiscriminatorOptions(c)};
  const auto s = layer_shapes_of_discriminator(d, n);
  EXPECT_EQ(s.at("conv1"), (Shape{n, c, 16, 16}));
  EXPECT_EQ(s.at("leaky_relu1"), (Shape{n, c, 16, 16}));
  EXPECT_EQ(s.at("conv2"), (Shape{n, 2 * c, 8, 8}));
  EXPECT_EQ(s.at("bn2"), (Shape{n, 2 * c, 8, 8}));
  EXPECT_EQ(s.at("conv3"), (Shape{n, 4 * c, 4, 4}));
  EXPECT_EQ(s.at("bn3"), (Shape{n, 4 * c, 4, 4}));
  EXPECT_EQ(s.at("flatten"), (Shape{n, 4 * c * 16}));
  EXPECT_EQ(s.at("fc"), (Shape{n, 1}));
  EXPECT_EQ(s.size(), 10u);
}

TEST_P(LayerShapes, Generator) {
  const auto [n, c, z] = GetParam();
  Generator g{GeneratorOptions(z, c)};
  const auto s = layer_shapes_of_generator(g, n);
  EXPECT_EQ(s.at("fc"), (Shape{n, 4 * c * 16}));
  EXPECT_EQ(s.at("view"), (Shape{n, 4 * c, 4, 4}));
  EXPECT_EQ(s.at("t_conv1"), (Shape{n, 2 * c, 8, 8}));
  EXPECT_EQ(s.at("bn1"), (Shape{n, 2 * c, 8, 8}));
  EXPECT_EQ(s.at("t_conv2"), (Shape{n, c, 16, 16}));
  EXPECT_EQ(s.at("bn2"), (Shape{n, c, 16, 16}));
  EXPECT_EQ(s.at("t_conv3"), (Shape{n, 3, 32, 32}));
  EXPECT_EQ(s.at("tanh"), (Shape{n, 3, 32, 32}));
  EXPECT_EQ(s.size(), 10u);
}

INSTANTIATE_TEST_SUITE_P(BatchesAndWidths, LayerShapes,
                         ::testing::Values(ShapeCase{2, 4, 8}, ShapeCase{5, 8, 100},
                                           ShapeCase{16, 32, 100}, ShapeCase{3, 128, 100}));

TEST(Generator, OutputWithinTanhRange) {
  torch::manual_seed(1);
  Generator g(GeneratorOptions(16, 8));
  // Large latent values push pre-activations far out; tanh must still bound the images.
  for (double magnitude : {1.0, 100.0}) {
    auto out = g->forward((torch::rand({32, 16}) * 2 - 1) * magnitude);
    EXPECT_GE(out.min().item<float>(), -1.0f);
    EXPECT_LE(out.max().item<float>(), 1.0f);
  }
  g->eval();
  auto out = g->forward(torch::rand({4, 16}));
  EXPECT_GE(out.min().item<float>(), -1.0f);
  EXPECT_LE(out.max().item<float>(), 1.0f);
}

TEST(Discriminator, ProbabilityIsSigmoidOfLogit) {
  torch::manual_seed(2);
  Discriminator d(DiscriminatorOptions(8));
  d->eval();
  auto x = torch::randn({4, 3, 32, 32});
  auto p = d->probability(x);
  EXPECT_TRUE(torch::allclose(p, torch::sigmoid(d->forward(x))));
  EXPECT_GE(p.min().item<float>(), 0.0f);
  EXPECT_LE(p.max().item<float>(), 1.0f);
}

// Which layers are convs, and which have BatchNorm, exactly as the design says.
TEST(Architecture, NoBiasInConvsAndBatchNormWhereSpecified) {
  Discriminator d(DiscriminatorOptions(32));
  Generator g(GeneratorOptions(100, 32));
  for (auto* module :
       {static_cast<torch::nn::Module*>(d.get()), static_cast<torch::nn::Module*>(g.get())}) {
    for (const auto& child : module->named_children()) {
      if (auto* conv = child.value()->as<torch::nn::Conv2d>()) {
        EXPECT_FALSE(conv->options.bias()) << child.key();
        EXPECT_FALSE(conv->bias.defined()) << child.key();
        EXPECT_EQ(*conv->options.kernel_size(), (std::array<int64_t, 2>{4, 4})) << child.key();
        EXPECT_EQ(*conv->options.stride(), (std::array<int64_t, 2>{2, 2})) << child.key();
      }
      if (auto* conv = child.value()->as<torch::nn::ConvTranspose2d>()) {
        EXPECT_FALSE(conv->options.bias()) << child.key();
        EXPECT_FALSE(conv->bias.defined()) << child.key();
        EXPECT_EQ(*conv->options.stride(), (std::array<int64_t, 2>{2, 2})) << child.key();
      }
    }
  }
  std::vector<std::string> d_bn, g_bn;
  for (const auto& child : d->named_children())
    if (child.value()->as<torch::nn::BatchNorm2d>()) d_bn.push_back(child.key());
  for (const auto& child : g->named_children())
    if (child.value()->as<torch::nn::BatchNorm2d>()) g_bn.push_back(child.key());
  EXPECT_EQ(d_bn, (std::vector<std::string>{"bn2", "bn3"}));
  EXPECT_EQ(g_bn, (std::vector<std::string>{"bn1", "bn2"}));
  EXPECT_EQ(d->bn2->options.num_features(), 64);
  EXPECT_EQ(d->bn3->options.num_features(), 128);
  EXPECT_EQ(g->bn1->options.num_features(), 64);
  EXPECT_EQ(g->bn2->options.num_features(), 32);
  EXPECT_TRUE(d->fc->bias.defined());
  EXPECT_TRUE(g->fc->bias.defined());
}

TEST(Architecture, ParameterCounts) {
  Discriminator d32(DiscriminatorOptions(32));
  Generator g32(GeneratorOptions(100, 32));
  EXPECT_EQ(dcgan::models::count_parameters(*d32), 167809);
  EXPECT_EQ(dcgan::models::count_parameters(*g32), 372416);
  Discriminator d128(DiscriminatorOptions(128));
  Generator g128(GeneratorOptions(100, 128));
  EXPECT_EQ(dcgan::models::count_parameters(*d128), 2637313);
  EXPECT_EQ(dcgan::models::count_parameters(*g128), 3455744);
  EXPECT_EQ(dcgan::models::summarize(d128).total_params, 2637313);
  EXPECT_EQ(dcgan::models::summarize(g128).total_params, 3455744);
}

TEST(Summary, ListsLayersWithShapesAndParams) {
  Generator g(GeneratorOptions(100, 128));
  const auto s = dcgan::models::summarize(g);
  ASSERT_EQ(s.layers.front().name, "fc");
  EXPECT_EQ(s.layers.front().params, 100 * 8192 + 8192);
  EXPECT_EQ(s.layers[1].output_shape, (Shape{1, 512, 4, 4}));  // the design's 4x4x512
  int64_t sum = 0;
  for (const auto& layer : s.layers) sum += layer.params;
  EXPECT_EQ(sum, s.total_params);
  EXPECT_TRUE(g->is_training()) << "summary must restore training mode";
}

TEST(Backward, EveryParameterGetsAGradient) {
  torch::manual_seed(3);
  Discriminator d(DiscriminatorOptions(8));
  Generator g(GeneratorOptions(10, 8));
  auto logits = d->forward(g->forward(torch::rand({6, 10}) * 2 - 1));
  torch::binary_cross_entropy_with_logits(logits, torch::ones_like(logits)).backward();
  for (auto* module :
       {static_cast<torch::nn::Module*>(d.get()), static_cast<torch::nn::Module*>(g.get())}) {
    for (const auto& p : module->named_parameters()) {
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
      EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
    }
  }
}

TEST(WeightsInit, NormalFollowsThePaper) {
  torch::manual_seed(4);
  Discriminator d(DiscriminatorOptions(64));
  dcgan::models::apply_weights_init(*d, dcgan::models::WeightsInit::kNormal);
  EXPECT_NEAR(d->conv3->weight.std().item<double>(), 0.02, 0.001);
  EXPECT_NEAR(d->conv3->weight.mean().item<double>(), 0.0, 0.001);
  EXPECT_NEAR(d->bn3->weight.mean().item<double>(), 1.0, 0.005);
  EXPECT_NEAR(d->bn3->weight.std().item<double>(), 0.02, 0.005);
  EXPECT_EQ(d->bn3->bias.abs().sum().item<double>(), 0.0);
  EXPECT_EQ(dcgan::models::parse_weights_init("normal"), dcgan::models::WeightsInit::kNormal);
  EXPECT_THROW(dcgan::models::parse_weights_init("xavier"), std::exception);
}

}  // namespace
