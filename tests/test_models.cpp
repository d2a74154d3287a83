#include <gtest/gtest.h>

#include <map>

#include "dcgan/models/discriminator.h"
#include "dcgan/models/generator.h"
#include "dcgan/models/init.h"
#include "dcgan/models/subpixel.h"
#include "dcgan/models/summary.h"

using dcgan::models::Arch;
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

// Every (arch, image size): the layer list, each layer's output shape and parameter count, written
// out by hand from the design (not from feature_widths): the 4x4 map is conv_dim * size / 8 wide,
// each doubling halves it, G ends in 3 channels; D mirrors it.
struct SpecCase {
  Arch arch;
  int64_t size;
};

class EverySpec : public ::testing::TestWithParam<SpecCase> {};

TEST_P(EverySpec, GeneratorLayersShapesAndParameters) {
  const auto [arch, size] = GetParam();
  const int64_t c = 2, z = 5, n = 2;
  Generator g(GeneratorOptions(z, c).image_size(size).arch(arch));
  std::vector<std::pair<std::string, Shape>> seen;
  g->forward(torch::rand({n, z}),
             [&](const std::string& layer, const torch::Tensor& out) {
               seen.emplace_back(layer, out.sizes().vec());
             });
  // Hand-written expectations: (layer, shape) in order, and parameters per module.
  std::vector<std::pair<std::string, Shape>> expected;
  int64_t params = 0;
  int64_t width = c * size / 8;  // of the 4x4 map
  if (arch == Arch::kNotebook) {
    expected = {{"fc", {n, width * 16}}, {"view", {n, width, 4, 4}}};
    params += z * width * 16 + width * 16;
  } else {
    expected = {{"view", {n, z, 1, 1}},
                {"t_conv0", {n, width, 4, 4}},
                {"bn0", {n, width, 4, 4}},
                {"relu0", {n, width, 4, 4}}};
    params += z * width * 16 + 2 * width;
  }
  int i = 1;
  for (int64_t side = 8; side <= size; side *= 2, ++i) {
    const bool last = side == size;
    const int64_t out = last ? 3 : width / 2;
    const auto k = std::to_string(i);
    expected.push_back({"t_conv" + k, {n, out, side, side}});
    params += width * out * 16;
    if (!last) {
      expected.push_back({"bn" + k, {n, out, side, side}});
      expected.push_back({"relu" + k, {n, out, side, side}});
      params += 2 * out;
    }
    width = out;
  }
  expected.push_back({"tanh", {n, 3, size, size}});
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(dcgan::models::count_parameters(*g), params);
  EXPECT_EQ(g->doublings(), static_cast<size_t>(i - 1));
}

TEST_P(EverySpec, DiscriminatorLayersShapesAndParameters) {
  const auto [arch, size] = GetParam();
  const int64_t c = 2, n = 2;
  Discriminator d(DiscriminatorOptions(c).image_size(size).arch(arch));
  std::vector<std::pair<std::string, Shape>> seen;
  d->forward(torch::randn({n, 3, size, size}),
             [&](const std::string& layer, const torch::Tensor& out) {
               seen.emplace_back(layer, out.sizes().vec());
             });
  std::vector<std::pair<std::string, Shape>> expected;
  int64_t params = 0, in = 3, width = c;
  int i = 1;
  for (int64_t side = size / 2; side >= 4; side /= 2, ++i) {
    const auto k = std::to_string(i);
    expected.push_back({"conv" + k, {n, width, side, side}});
    params += in * width * 16;
    if (i > 1) {
      expected.push_back({"bn" + k, {n, width, side, side}});
      params += 2 * width;
    }
    expected.push_back({"leaky_relu" + k, {n, width, side, side}});
    in = width;
    width *= 2;
  }
  EXPECT_EQ(in, c * size / 8);  // the 4x4 map is as wide as the generator's
  if (arch == Arch::kNotebook) {
    expected.push_back({"flatten", {n, in * 16}});
    expected.push_back({"fc", {n, 1}});
    params += in * 16 + 1;
  } else {
    expected.push_back({"conv_out", {n, 1, 1, 1}});
    expected.push_back({"flatten", {n, 1}});
    params += in * 16;
  }
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(dcgan::models::count_parameters(*d), params);
  EXPECT_EQ(dcgan::models::summarize(d).total_params, params);
}

INSTANTIATE_TEST_SUITE_P(
    ArchsAndSizes, EverySpec,
    ::testing::Values(SpecCase{Arch::kNotebook, 32}, SpecCase{Arch::kNotebook, 64},
                      SpecCase{Arch::kNotebook, 128}, SpecCase{Arch::kNotebook, 256},
                      SpecCase{Arch::kPytorchExamples, 32}, SpecCase{Arch::kPytorchExamples, 64},
                      SpecCase{Arch::kPytorchExamples, 128},
                      SpecCase{Arch::kPytorchExamples, 256}),
    [](const ::testing::TestParamInfo<SpecCase>& info) {
      return std::string(info.param.arch == Arch::kNotebook ? "notebook" : "pytorch_examples") +
             "_" + std::to_string(info.param.size);
    });

// The numbers pytorch/examples' own 64x64 networks print at ngf = ndf = 64, nz = 100, and the
// notebook's at conv_dim 32 (the latter unchanged by --image-size's generalisation).
TEST(Architecture, KnownParameterCounts) {
  Generator g(GeneratorOptions(100, 64).image_size(64).arch(Arch::kPytorchExamples));
  Discriminator d(DiscriminatorOptions(64).image_size(64).arch(Arch::kPytorchExamples));
  EXPECT_EQ(dcgan::models::count_parameters(*g), 3576704);
  EXPECT_EQ(dcgan::models::count_parameters(*d), 2765568);
  std::vector<std::string> names;
  for (const auto& child : Generator(GeneratorOptions(100, 32))->named_children())
    names.push_back(child.key());
  EXPECT_EQ(names, (std::vector<std::string>{"fc", "t_conv1", "bn1", "t_conv2", "bn2", "t_conv3"}));
  names.clear();
  for (const auto& child : Discriminator(DiscriminatorOptions(32))->named_children())
    names.push_back(child.key());
  EXPECT_EQ(names, (std::vector<std::string>{"conv1", "conv2", "bn2", "conv3", "bn3", "fc"}));
}

TEST(Architecture, RefusesUnsupportedSizesAndArchs) {
  for (int64_t size : {0, 16, 48, 96, 512}) {
    EXPECT_THROW(Generator(GeneratorOptions(10, 4).image_size(size)), std::exception) << size;
    EXPECT_THROW(Discriminator(DiscriminatorOptions(4).image_size(size)), std::exception) << size;
  }
  EXPECT_EQ(dcgan::models::parse_arch("pytorch-examples"), Arch::kPytorchExamples);
  EXPECT_EQ(dcgan::models::to_string(Arch::kNotebook), "notebook");
  EXPECT_THROW(dcgan::models::parse_arch("dcgan"), std::exception);
}

// On the CPU, pytorch-examples' z projection runs as a matrix product and the transposed
// convolutions as sub-pixel convolutions: the modules themselves must compute the same.
TEST(Generator, PytorchExamplesForwardIsItsModules) {
  torch::manual_seed(9);
  Generator g(GeneratorOptions(6, 2).image_size(64).arch(Arch::kPytorchExamples));
  const auto z = torch::randn({3, 6});
  torch::NoGradGuard no_grad;
  auto x = torch::relu(g->bn(0)(g->t_conv(0)(z.view({3, 6, 1, 1}))));
  for (size_t i = 1; i < g->doublings(); ++i) x = torch::relu(g->bn(i)(g->t_conv(i)(x)));
  x = torch::tanh(g->t_conv(g->doublings())(x));
  EXPECT_EQ(x.sizes(), (Shape{3, 3, 64, 64}));
  EXPECT_TRUE(torch::allclose(g->forward(z), x, 1e-4, 1e-5));
}

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

// The notebook's discriminator written out from its modules: leaky ReLU 0.2 after each conv (after
// BatchNorm where there is one), flatten, fc.
TEST(Discriminator, ForwardIsTheNotebookComposition) {
  torch::manual_seed(2);
  Discriminator d(DiscriminatorOptions(4));
  const auto images = torch::rand({3, 3, 32, 32}) * 2 - 1;
  torch::NoGradGuard no_grad;
  auto x = torch::leaky_relu(d->conv(1)(images), 0.2);
  x = torch::leaky_relu(d->bn(2)(d->conv(2)(x)), 0.2);
  x = torch::leaky_relu(d->bn(3)(d->conv(3)(x)), 0.2);
  x = d->fc(x.reshape({3, -1}));
  EXPECT_TRUE(torch::allclose(d->forward(images), x, 1e-5, 1e-6));
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
  EXPECT_EQ(d->bn(2)->options.num_features(), 64);
  EXPECT_EQ(d->bn(3)->options.num_features(), 128);
  EXPECT_EQ(g->bn(1)->options.num_features(), 64);
  EXPECT_EQ(g->bn(2)->options.num_features(), 32);
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

// Conditional models are summarised too: every layer's parameters (the class layers included)
// add up to the model's, and the projection term's row holds D's class embedding.
TEST(Summary, ConditionalModelsListTheirClassLayers) {
  using dcgan::models::Conditioning;
  for (const auto method : {Conditioning::kProjection, Conditioning::kAcgan}) {
    SCOPED_TRACE(dcgan::models::to_string(method));
    Generator g(GeneratorOptions(100, 32).conditioning(method).classes(10));
    Discriminator d(DiscriminatorOptions(32).conditioning(method).classes(10));
    for (const auto& s : {dcgan::models::summarize(g), dcgan::models::summarize(d)}) {
      int64_t sum = 0;
      for (const auto& layer : s.layers) sum += layer.params;
      EXPECT_EQ(sum, s.total_params);
    }
    const auto last = dcgan::models::summarize(d).layers.back();
    if (method == Conditioning::kProjection) {
      EXPECT_EQ(last.name, "projection");
      EXPECT_EQ(last.params, 10 * 128);  // an embedding of W0 = 128 per class
    } else {
      EXPECT_EQ(last.name, "classifier");
      EXPECT_EQ(last.output_shape, (Shape{1, 10}));
    }
  }
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

// Every Conv2d, ConvTranspose2d and Linear weight ~ N(0, 0.02) with zero bias, every BatchNorm
// weight ~ N(1, 0.02) with zero bias, in both networks. conv_dim 32 gives each layer enough weights
// for the estimates; PyTorch's default init has other spreads (e.g. D's fc: std 1/sqrt(3*2048) =
// 0.0128; G's t_conv3: 0.083) and BatchNorm weights of exactly 1.
TEST(WeightsInit, NormalFollowsThePaper) {
  torch::manual_seed(4);
  Discriminator d(DiscriminatorOptions(32));
  Generator g(GeneratorOptions(100, 32));
  dcgan::models::apply_weights_init(*d, dcgan::models::WeightsInit::kNormal);
  dcgan::models::apply_weights_init(*g, dcgan::models::WeightsInit::kNormal);
  int checked_weights = 0, checked_norms = 0;
  for (auto* module :
       {static_cast<torch::nn::Module*>(d.get()), static_cast<torch::nn::Module*>(g.get())}) {
    for (const auto& child : module->named_children()) {
      const auto& layer = *child.value();
      auto params = layer.named_parameters(/*recurse=*/false);
      if (layer.as<torch::nn::Conv2d>() || layer.as<torch::nn::ConvTranspose2d>() ||
          layer.as<torch::nn::Linear>()) {
        EXPECT_NEAR(params["weight"].std().item<double>(), 0.02, 0.002) << child.key();
        EXPECT_NEAR(params["weight"].mean().item<double>(), 0.0, 0.002) << child.key();
        if (auto* bias = params.find("bias")) {
          EXPECT_EQ(bias->abs().sum().item<double>(), 0.0) << child.key();
        }
        ++checked_weights;
      } else if (layer.as<torch::nn::BatchNorm2d>()) {
        EXPECT_NEAR(params["weight"].mean().item<double>(), 1.0, 0.01) << child.key();
        EXPECT_NEAR(params["weight"].std().item<double>(), 0.02, 0.01) << child.key();
        EXPECT_EQ(params["bias"].abs().sum().item<double>(), 0.0) << child.key();
        ++checked_norms;
      }
    }
  }
  EXPECT_EQ(checked_weights, 4 + 4);  // D: conv1-3, fc; G: fc, t_conv1-3
  EXPECT_EQ(checked_norms, 2 + 2);
  EXPECT_EQ(dcgan::models::parse_weights_init("normal"), dcgan::models::WeightsInit::kNormal);
  EXPECT_EQ(dcgan::models::parse_weights_init("default"), dcgan::models::WeightsInit::kDefault);
  EXPECT_THROW(dcgan::models::parse_weights_init("xavier"), std::exception);
}

TEST(WeightsInit, DefaultLeavesTheWeightsAlone) {
  torch::manual_seed(5);
  Generator g(GeneratorOptions(100, 8));
  Discriminator d(DiscriminatorOptions(8));
  for (auto* module :
       {static_cast<torch::nn::Module*>(d.get()), static_cast<torch::nn::Module*>(g.get())}) {
    std::vector<torch::Tensor> before;
    for (const auto& p : module->parameters()) before.push_back(p.clone());
    dcgan::models::apply_weights_init(*module, dcgan::models::WeightsInit::kDefault);
    const auto after = module->parameters();
    ASSERT_EQ(after.size(), before.size());
    for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(after[i], before[i])) << i;
  }
}

// ConvTranspose2d(k=4, stride 2, padding 1) by its definition: input pixel (i, j) adds
// x[i][j] * w[k][l] to output pixel (2i - 1 + k, 2j - 1 + l) when that lies inside the output.
torch::Tensor conv_transpose_by_definition(const torch::Tensor& x, const torch::Tensor& w) {
  const int64_t n = x.size(0), cin = x.size(1), side = x.size(2), cout = w.size(1);
  auto out = torch::zeros({n, cout, 2 * side, 2 * side}, torch::kFloat64);
  const auto xd = x.to(torch::kFloat64), wd = w.detach().to(torch::kFloat64);
  auto xa = xd.accessor<double, 4>();
  auto wa = wd.accessor<double, 4>();
  auto oa = out.accessor<double, 4>();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ci = 0; ci < cin; ++ci)
      for (int64_t co = 0; co < cout; ++co)
        for (int64_t i = 0; i < side; ++i)
          for (int64_t j = 0; j < side; ++j)
            for (int64_t k = 0; k < 4; ++k)
              for (int64_t l = 0; l < 4; ++l) {
                const int64_t r = 2 * i - 1 + k, c = 2 * j - 1 + l;
                if (r >= 0 && r < 2 * side && c >= 0 && c < 2 * side)
                  oa[b][co][r][c] += xa[b][ci][i][j] * wa[ci][co][k][l];
              }
  return out.to(torch::kFloat32);
}

// The generator's ConvTranspose2d modules (which the CPU forward replaces by the sub-pixel path)
// must compute the same: their padding is what the sub-pixel path assumes.
TEST(ConvTranspose, GeneratorModulesMatchTheDefinitionAndTheSubpixelPath) {
  torch::manual_seed(7);
  Generator g(GeneratorOptions(8, 4));
  // One input pixel of 1 shows the padding directly: the output is w[1:3, 1:3] (padding 0 would
  // give all 4x4 taps, padding 2 nothing).
  {
    Generator probe(GeneratorOptions(8, 4));
    torch::NoGradGuard no_grad;
    probe->t_conv(3)->weight.zero_();
    probe->t_conv(3)->weight[0][0].copy_(torch::arange(16, torch::kFloat32).view({4, 4}));
    auto pixel = torch::zeros({1, 4, 1, 1});
    pixel[0][0][0][0] = 1;
    EXPECT_TRUE(torch::equal(probe->t_conv(3)->forward(pixel)[0][0],
                             torch::tensor({5.0f, 6.0f, 9.0f, 10.0f}).view({2, 2})));
  }
  int64_t side = 4;
  for (auto* layer : {&g->t_conv(1), &g->t_conv(2), &g->t_conv(3)}) {
    EXPECT_EQ(*(*layer)->options.kernel_size(), (std::array<int64_t, 2>{4, 4}));
    const auto x = torch::randn({2, (*layer)->options.in_channels(), side, side});
    torch::NoGradGuard no_grad;
    const auto module_out = (*layer)->forward(x);
    const auto expected = conv_transpose_by_definition(x, (*layer)->weight);
    ASSERT_EQ(module_out.sizes(), expected.sizes());
    EXPECT_TRUE(torch::allclose(module_out, expected, 1e-4, 1e-4));
    EXPECT_TRUE(torch::allclose(dcgan::models::subpixel_conv_transpose(x, (*layer)->weight),
                                expected, 1e-4, 1e-4));
    side *= 2;
  }
  // The whole generator through its modules equals its forward (the sub-pixel path on the CPU).
  const auto z = torch::rand({3, 8}) * 2 - 1;
  torch::NoGradGuard no_grad;
  auto x = g->fc(z).view({-1, 16, 4, 4});
  x = torch::relu(g->bn(1)(g->t_conv(1)(x)));
  x = torch::relu(g->bn(2)(g->t_conv(2)(x)));
  x = torch::tanh(g->t_conv(3)(x));
  EXPECT_TRUE(torch::allclose(g->forward(z), x, 1e-4, 1e-5));
}

}  // namespace
