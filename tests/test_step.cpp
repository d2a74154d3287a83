// The training steps: CapturableAdam against torch::optim::Adam, the static-buffer step (what a
// CUDA graph captures) against the eager step, checkpoints crossing between them, and on CUDA the
// graphed step itself (skipped without a GPU).
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <torch/cuda.h>

#include <csignal>
#include <set>

#include "dcgan/models/conditioning.h"
#include "dcgan/train/capturable_adam.h"
#include "dcgan/train/checkpoint.h"
#include "dcgan/sampling/sampling.h"
#include "dcgan/train/signals.h"
#include "dcgan/train/step.h"
#include "dcgan/train/trainer.h"
#include "dcgan/util/compat.h"
#include "test_helpers.h"

using dcgan::models::Conditioning;
using dcgan::test::TempDir;
using namespace dcgan::train;

namespace {

// Largest difference between two tensors, relative to the largest magnitude in `expected`.
double relative_difference(const torch::Tensor& actual, const torch::Tensor& expected) {
  const auto a = actual.detach().cpu().to(torch::kFloat64);
  const auto e = expected.detach().cpu().to(torch::kFloat64);
  const double scale = std::max(e.abs().max().item<double>(), 1e-12);
  return (a - e).abs().max().item<double>() / scale;
}

// The share of elements of `actual` that are more than `tolerance` away from `expected`.
double share_apart(const torch::Tensor& actual, const torch::Tensor& expected, double tolerance) {
  const auto a = actual.detach().cpu().to(torch::kFloat64);
  const auto e = expected.detach().cpu().to(torch::kFloat64);
  return ((a - e).abs() > tolerance).to(torch::kFloat64).mean().item<double>();
}

void expect_buffers_close(torch::nn::Module& actual, torch::nn::Module& expected, double tolerance,
                          const std::string& what) {
  const auto ba = actual.named_buffers(), be = expected.named_buffers();
  for (const auto& b : be) {
    EXPECT_LE(relative_difference(ba[b.key()], b.value()), tolerance) << what << " " << b.key();
  }
}

void expect_modules_close(torch::nn::Module& actual, torch::nn::Module& expected, double tolerance,
                          const std::string& what) {
  const auto pa = actual.named_parameters(), pe = expected.named_parameters();
  ASSERT_EQ(pa.size(), pe.size());
  for (const auto& p : pe) {
    EXPECT_LE(relative_difference(pa[p.key()], p.value()), tolerance) << what << " " << p.key();
  }
  expect_buffers_close(actual, expected, tolerance, what);
}

// Two networks trained by two kinds of step from the same start, compared. Weights are held to a
// tenth of one Adam step (lr / 10) in all but 1% of each tensor's elements: a step that is wrong
// (not applied, a stale buffer, another gradient) moves nearly every weight about a whole step
// away, while rounding differences leave a few weights a fraction of a step apart, more on some
// platforms than on others (up to 7e-4 of a tensor's largest weight, about lr / 9, with PyTorch
// 2.11's CPU kernels and on an H200). Buffers (BatchNorm's running statistics) are held to 1e-4 of
// their largest magnitude.
void expect_trained_alike(torch::nn::Module& actual, torch::nn::Module& expected, double lr,
                          const std::string& what) {
  const auto pa = actual.named_parameters(), pe = expected.named_parameters();
  ASSERT_EQ(pa.size(), pe.size());
  for (const auto& p : pe) {
    EXPECT_LE(share_apart(pa[p.key()], p.value(), lr / 10), 0.01)
        << what << " " << p.key() << " (largest difference "
        << (pa[p.key()] - p.value()).abs().max().item<double>() << ", lr " << lr << ")";
  }
  expect_buffers_close(actual, expected, 1e-4, what);
}

GanOptions notebook_options() {
  GanOptions options;
  options.conv_dim = 32;  // the notebook's model
  return options;
}

torch::Tensor random_images(int64_t count, torch::Device device = torch::kCPU) {
  return torch::randint(0, 256, {count, 3, 32, 32}, torch::kUInt8).to(device);
}

// The notebook's model conditioned on 10 classes by `method`.
GanOptions conditional_options(Conditioning method) {
  auto options = notebook_options();
  options.conditioning = method;
  options.classes = 10;
  return options;
}

StepOptions batch_of(int64_t batch_size) {
  StepOptions options;
  options.batch_size = batch_size;
  return options;
}

TEST(CapturableAdam, MatchesTorchAdamAfterFiveSteps) {
  torch::manual_seed(1);
  Gan reference(notebook_options(), torch::kCPU);
  torch::manual_seed(1);
  Gan capturable(notebook_options(), torch::kCPU);
  CapturableAdam d_adam(*capturable.d_optimizer), g_adam(*capturable.g_optimizer);

  // The same gradients for both, so only the optimizers differ.
  auto apply = [](torch::optim::Adam& torch_adam, CapturableAdam& adam, int step) {
    std::vector<torch::Tensor> grads;
    auto& params = torch_adam.param_groups()[0].params();
    for (size_t i = 0; i < params.size(); ++i) {
      torch::manual_seed(100 * step + static_cast<int64_t>(i));
      grads.push_back(torch::randn(params[i].sizes()) * 0.1);
      params[i].mutable_grad() = grads.back().clone();
    }
    torch_adam.step();
    adam.step(grads);
  };
  for (int step = 1; step <= 5; ++step) {
    apply(*reference.d_optimizer, d_adam, step);
    apply(*reference.g_optimizer, g_adam, step);
  }
  expect_modules_close(*capturable.discriminator, *reference.discriminator, 1e-6, "D");
  expect_modules_close(*capturable.generator, *reference.generator, 1e-6, "G");

  // The moments are the wrapped optimizer's own tensors, and the step count syncs back to it.
  d_adam.sync_to_optimizer();
  const auto p = capturable.discriminator->parameters().front();
  const auto p_reference = reference.discriminator->parameters().front();
  const auto* state = dcgan::compat::find_adam_state(*capturable.d_optimizer, p);
  const auto* expected = dcgan::compat::find_adam_state(*reference.d_optimizer, p_reference);
  ASSERT_NE(state, nullptr);
  EXPECT_EQ(state->step(), 5);
  EXPECT_LE(relative_difference(state->exp_avg(), expected->exp_avg()), 1e-6);
  EXPECT_LE(relative_difference(state->exp_avg_sq(), expected->exp_avg_sq()), 1e-6);
}

// Two kinds of step round differently (backward() into .grad against autograd::grad), and
// BatchNorm's backward leaves some of G's gradients at rounding level; Adam with eps 1e-8 turns such
// a gradient into a whole step of either sign (seen on an AMD EPYC: hundreds of weights 2 lr apart
// after one step, chaos after three). With eps 1e-5 a rounding-level gradient moves its weight by
// next to nothing, while every real gradient still takes its Adam step, so a comparison checks the
// step and not the rounding.
void adam_eps_for_comparison(Gan& gan) {
  for (auto* optimizer : {gan.d_optimizer.get(), gan.g_optimizer.get()}) {
    for (auto& group : optimizer->param_groups())
      static_cast<torch::optim::AdamOptions&>(group.options()).eps(1e-5);
  }
}

// Runs `steps` steps of `kind` from seed 3 on a fixed dataset and order; returns the losses.
std::vector<std::pair<double, double>> run_steps(StepKind kind, Gan& gan,
                                                 const torch::Tensor& images, int steps,
                                                 int64_t batch, const torch::Tensor& labels = {}) {
  auto step = make_train_step(kind, gan, images, batch_of(batch), labels);
  step->start_epoch(torch::arange(images.size(0)).flip(0));
  torch::manual_seed(3);
  std::vector<std::pair<double, double>> losses;
  for (int i = 0; i < steps; ++i) {
    const auto l = step->step(i * batch, batch);
    losses.emplace_back(l.d_loss.item<double>(), l.g_loss.item<double>());
  }
  step->sync_optimizer_state();
  return losses;
}

// `steps` steps of the static step and of the eager step, from the same weights and seed; G is
// compared at the end unless `compare_g` is false.
void expect_static_step_matches_eager(const GanOptions& options, int steps = 3,
                                      bool compare_g = true) {
  torch::manual_seed(0);
  const auto images = random_images(48);
  const auto labels = options.conditional() ? torch::randint(0, options.classes, {48}, torch::kInt64)
                                            : torch::Tensor();
  torch::manual_seed(1);
  Gan eager(options, torch::kCPU);
  torch::manual_seed(1);
  Gan fixed(options, torch::kCPU);
  adam_eps_for_comparison(eager);
  adam_eps_for_comparison(fixed);
  const auto eager_losses = run_steps(StepKind::kEager, eager, images, steps, 16, labels);
  const auto static_losses = run_steps(StepKind::kStatic, fixed, images, steps, 16, labels);
  for (size_t i = 0; i < eager_losses.size(); ++i) {
    EXPECT_NEAR(static_losses[i].first, eager_losses[i].first, 1e-5) << "d_loss, step " << i + 1;
    EXPECT_NEAR(static_losses[i].second, eager_losses[i].second, 1e-5) << "g_loss, step " << i + 1;
  }
  // Not a trivially equal pair: the steps moved the weights.
  torch::manual_seed(1);
  Gan untouched(options, torch::kCPU);
  EXPECT_GT(relative_difference(eager.generator->fc->weight, untouched.generator->fc->weight),
            1e-4);
  // The two optimizers round in a different order (and LibTorch 2.x's Adam differs from 1.13's in
  // its own order); Adam divides by sqrt(v) + eps, which magnifies that for weights whose gradient
  // is near zero. CapturableAdam alone is held to 1e-6 above.
  expect_trained_alike(*fixed.discriminator, *eager.discriminator, options.d_lr(), "D");
  if (compare_g) expect_trained_alike(*fixed.generator, *eager.generator, options.g_lr(), "G");
}

TEST(StaticStep, MatchesTheEagerStepForThreeSteps) { expect_static_step_matches_eager(notebook_options()); }

// The step that CUDA graphs capture draws and applies the augmentation as the eager one does.
TEST(StaticStep, MatchesTheEagerStepWithEveryLever) {
  auto options = notebook_options();
  options.augment = dcgan::train::parse_augment_policy("color,translation,cutout", 1.0);
  options.loss = dcgan::train::LossKind::kHinge;
  options.spectral_norm = true;
  options.batch_norm = false;
  options.lr_d = 4e-4;
  expect_static_step_matches_eager(options);
}

// A conditional GAN's labels reach the static step with their images, and the classes asked of
// G are drawn as the eager step draws them: a label routed wrongly changes a loss of the first
// step. AC-GAN is held to three steps like the unconditional step. The projection discriminator at
// its initial weights makes G's gradient react to D's weights at the last bit: the two Adams round
// D's first update 1-2e-9 apart, and G's gradients then differ by up to 3.5e-4 (seen on LibTorch
// 1.13; copying one D's weights into the other makes them equal again), so a few G weights take
// their first Adam step with the other sign (up to 7% of a BatchNorm bias's first step). Projection
// is held to the losses of one step (G's loss checks the classes asked of G) and to D's weights.
TEST(StaticStep, MatchesTheEagerStepWhenConditional) {
  for (const auto method : {Conditioning::kAcgan, Conditioning::kProjection}) {
    SCOPED_TRACE(dcgan::models::to_string(method));
    const auto options = conditional_options(method);
    if (method == Conditioning::kAcgan) {
      expect_static_step_matches_eager(options);
    } else {
      expect_static_step_matches_eager(options, /*steps=*/1, /*compare_g=*/false);
    }
  }
}

class StepResumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    data_ = dir_.file("tiny.mat");
    torch::manual_seed(11);
    dcgan::test::write_svhn(data_, 40);
  }
  void TearDown() override { spdlog::set_level(spdlog::level::info); }

  TrainConfig tiny(const std::string& out, int64_t epochs, const std::string& step) const {
    auto c = dcgan::test::tiny_config(data_, dir_.file(out), epochs);
    c.device = torch::cuda::is_available() && step == "graph" ? "cuda" : "cpu";
    c.step = step;
    return c;
  }

  // Trains 1 epoch with `first`, then resumes for a second with `second`; returns the resumed
  // trainer's final state compared against 2 uninterrupted epochs of `first`.
  void expect_resume_close(const std::string& first, const std::string& second, double tolerance) {
    Trainer straight(tiny("straight", 2, first));
    ASSERT_EQ(straight.run().status, TrainOutcome::Status::kCompleted);
    {
      Trainer one_epoch(tiny("switched", 1, first));
      ASSERT_EQ(one_epoch.run().status, TrainOutcome::Status::kCompleted);
    }
    auto config = tiny("switched", 2, second);
    config.resume = config.out_dir;
    Trainer resumed(config);
    ASSERT_EQ(resumed.run().status, TrainOutcome::Status::kCompleted);
    EXPECT_EQ(read_checkpoint_info(config.out_dir + "/checkpoints/last.pt").epochs_done, 2);
    expect_modules_close(*resumed.gan().generator, *straight.gan().generator, tolerance,
                         first + " then " + second);
    expect_modules_close(*resumed.gan().discriminator, *straight.gan().discriminator, tolerance,
                         first + " then " + second);
  }

  TempDir dir_;
  std::string data_;
};

TEST_F(StepResumeTest, EagerCheckpointResumesUnderTheStaticStep) {
  expect_resume_close("eager", "static", 1e-5);
}

TEST_F(StepResumeTest, StaticCheckpointResumesUnderTheEagerStep) {
  expect_resume_close("static", "eager", 1e-5);
}

TEST_F(StepResumeTest, ConfigRecordsTheStepUsed) {
  Trainer trainer(tiny("recorded", 1, "static"));
  trainer.run();
  const auto config =
      nlohmann::json::parse(dcgan::test::read_bytes(dir_.file("recorded/config.json")));
  EXPECT_EQ(config.at("step_used"), "static");
  EXPECT_EQ(config.at("precision"), "fp32");
}

TEST(StepKinds, AutoIsEagerOnTheCpuAndGraphNeedsCuda) {
  EXPECT_EQ(resolve_step_kind("auto", torch::kCPU), StepKind::kEager);
  EXPECT_EQ(resolve_step_kind("eager", torch::kCPU), StepKind::kEager);
  EXPECT_THROW(resolve_step_kind("graph", torch::kCPU), dcgan::InputError);
  EXPECT_THROW(resolve_step_kind("fast", torch::kCPU), dcgan::InputError);
  if (cuda_graphs_available()) {
    EXPECT_EQ(resolve_step_kind("auto", torch::Device(torch::kCUDA, 0)), StepKind::kGraph);
  } else {
    EXPECT_EQ(resolve_step_kind("auto", torch::Device(torch::kCUDA, 0)), StepKind::kEager);
  }
}

// --- CUDA only ---------------------------------------------------------------------------------

#define REQUIRE_CUDA_GRAPHS()                                                   \
  if (!torch::cuda::is_available() || !cuda_graphs_available()) {               \
    GTEST_SKIP() << "needs a CUDA device and a build with the CUDA-graph step"; \
  }

// cuDNN set up for comparing two steps: one fixed algorithm per convolution, and fp32 (cuDNN's
// convolutions run in TF32 by default on Ampere and later: rounding at 1e-3, ten times the
// tolerances of the comparison). The settings in place before come back on destruction, also when
// an assertion returns early.
class CudnnForComparison {
 public:
  CudnnForComparison()
      : benchmark_(at::globalContext().benchmarkCuDNN()),
        deterministic_(at::globalContext().deterministicCuDNN()),
        tf32_(at::globalContext().allowTF32CuDNN()) {
    at::globalContext().setBenchmarkCuDNN(false);
    at::globalContext().setDeterministicCuDNN(true);
    at::globalContext().setAllowTF32CuDNN(false);
  }
  ~CudnnForComparison() {
    at::globalContext().setBenchmarkCuDNN(benchmark_);
    at::globalContext().setDeterministicCuDNN(deterministic_);
    at::globalContext().setAllowTF32CuDNN(tf32_);
  }
  CudnnForComparison(const CudnnForComparison&) = delete;
  CudnnForComparison& operator=(const CudnnForComparison&) = delete;

 private:
  bool benchmark_, deterministic_, tf32_;
};

// `steps` steps of the graph step and of the eager step on the GPU, from the same weights and
// seed, with the same Adam eps; a conditional GAN's images get random labels. G is compared unless
// `compare_g` is false, as in expect_static_step_matches_eager.
void expect_graph_step_matches_eager(const GanOptions& options, int steps = 3,
                                     bool compare_g = true) {
  const torch::Device cuda(torch::kCUDA, 0);
  const CudnnForComparison cudnn;
  torch::manual_seed(0);
  const auto images = random_images(512, cuda);
  const auto labels = options.conditional()
                          ? torch::randint(0, options.classes, {512}, torch::kInt64).to(cuda)
                          : torch::Tensor();
  torch::manual_seed(1);
  Gan eager(options, cuda);
  torch::manual_seed(1);
  Gan graphed(options, cuda);
  adam_eps_for_comparison(eager);
  adam_eps_for_comparison(graphed);
  const auto eager_losses = run_steps(StepKind::kEager, eager, images, steps, 128, labels);
  const auto graph_losses = run_steps(StepKind::kGraph, graphed, images, steps, 128, labels);
  for (size_t i = 0; i < eager_losses.size(); ++i) {
    EXPECT_NEAR(graph_losses[i].first, eager_losses[i].first, 1e-4) << "d_loss, step " << i + 1;
    EXPECT_NEAR(graph_losses[i].second, eager_losses[i].second, 1e-4) << "g_loss, step " << i + 1;
  }
  expect_trained_alike(*graphed.discriminator, *eager.discriminator, options.d_lr(), "D");
  if (compare_g) expect_trained_alike(*graphed.generator, *eager.generator, options.g_lr(), "G");
}

TEST(GraphStep, AgreesWithTheEagerStepInFp32_CUDA) {
  REQUIRE_CUDA_GRAPHS();
  expect_graph_step_matches_eager(notebook_options());
}

// The classes asked of G are inputs of the captured step, refilled before every replay, and the
// real labels are gathered on the device with their images. Projection is held to one step's
// losses and D, for the reason StaticStep.MatchesTheEagerStepWhenConditional gives.
TEST(GraphStep, AgreesWithTheEagerStepWhenConditional_CUDA) {
  REQUIRE_CUDA_GRAPHS();
  for (const auto method : {Conditioning::kAcgan, Conditioning::kProjection}) {
    SCOPED_TRACE(dcgan::models::to_string(method));
    const auto options = conditional_options(method);
    if (method == Conditioning::kAcgan) {
      expect_graph_step_matches_eager(options);
    } else {
      expect_graph_step_matches_eager(options, /*steps=*/1, /*compare_g=*/false);
    }
  }
}

TEST(GraphStep, Bf16ChannelsLastTrainsWithFiniteLossesAndChangingSamples_CUDA) {
  REQUIRE_CUDA_GRAPHS();
  const torch::Device cuda(torch::kCUDA, 0);
  torch::manual_seed(0);
  const auto images = random_images(1024, cuda);
  Gan gan(notebook_options(), cuda);
  const auto z = dcgan::sampling::seeded_z(16, gan.options.z_size, 7);
  const auto before = dcgan::sampling::render(gan.generator, z);
  StepOptions options = batch_of(128);
  options.precision = Precision::kBf16;
  options.channels_last = true;
  auto step = make_train_step(StepKind::kGraph, gan, images, options);
  step->start_epoch(torch::randperm(images.size(0)));
  for (int i = 0; i < 8; ++i) {
    const auto losses = step->step(i * 128, 128);
    EXPECT_TRUE(std::isfinite(losses.d_loss.item<double>())) << "step " << i;
    EXPECT_TRUE(std::isfinite(losses.g_loss.item<double>())) << "step " << i;
  }
  const auto after = dcgan::sampling::render(gan.generator, z);
  EXPECT_FALSE(torch::equal(before, after));
}

TEST_F(StepResumeTest, GraphRunResumesAfterAnInterrupt_CUDA) {
  REQUIRE_CUDA_GRAPHS();
  auto config = tiny("graph_interrupted", 2, "graph");
  {
    Trainer interrupted(config);
    StopRequest::request(SIGINT);  // as if Ctrl-C arrived during the first step
    const auto outcome = interrupted.run();
    StopRequest::reset();
    ASSERT_EQ(outcome.status, TrainOutcome::Status::kInterrupted);
  }
  config.resume = config.out_dir;
  Trainer resumed(config);
  ASSERT_EQ(resumed.run().status, TrainOutcome::Status::kCompleted);
  EXPECT_EQ(read_checkpoint_info(config.out_dir + "/checkpoints/last.pt").epochs_done, 2);
  // Against an uninterrupted graphed run: the same to cuDNN's float reordering.
  Trainer straight(tiny("graph_straight", 2, "graph"));
  ASSERT_EQ(straight.run().status, TrainOutcome::Status::kCompleted);
  expect_modules_close(*resumed.gan().generator, *straight.gan().generator, 1e-3, "G");
}

// --device cuda:N given explicitly, through the trainer: the device set-up makes that GPU current,
// and the graph step captures and replays there. cuda:0, and the last GPU when there are several.
TEST_F(StepResumeTest, GraphRunOnTheDeviceGivenExplicitly_CUDA) {
  REQUIRE_CUDA_GRAPHS();
  const auto* cuda_guard = c10::impl::getDeviceGuardImpl(c10::DeviceType::CUDA);
  const auto last = static_cast<c10::DeviceIndex>(torch::cuda::device_count() - 1);
  for (const c10::DeviceIndex index : std::set<c10::DeviceIndex>{0, last}) {
    const std::string name = "cuda:" + std::to_string(index);
    auto config = tiny("explicit_" + std::to_string(index), 1, "graph");
    config.device = name;
    Trainer trainer(config);
    EXPECT_EQ(cuda_guard->getDevice().index(), index) << name;
    ASSERT_EQ(trainer.run().status, TrainOutcome::Status::kCompleted) << name;
    const auto written =
        nlohmann::json::parse(dcgan::test::read_bytes(config.out_dir + "/config.json"));
    EXPECT_EQ(written.at("step_used"), "graph") << name;
    const auto weight = trainer.gan().generator->fc->weight;
    EXPECT_EQ(weight.device(), torch::Device(torch::kCUDA, index)) << name;
    EXPECT_TRUE(torch::isfinite(weight).all().item<bool>()) << name;
  }
  cuda_guard->setDevice(torch::Device(torch::kCUDA, 0));
}

}  // namespace

namespace {

// A tiny CPU GAN that keeps a G-EMA with `decay`, its weights drawn after seeding with `seed`.
GanOptions tiny_ema_options(uint64_t seed, double decay) {
  torch::manual_seed(seed);
  GanOptions options;
  options.conv_dim = 4;
  options.z_size = 8;
  options.g_ema_decay = decay;
  return options;
}

TEST(GEma, MovesTowardTheGeneratorByOneMinusTheDecay) {
  Gan gan(tiny_ema_options(/*seed=*/2, /*decay=*/0.75), torch::kCPU);
  const auto before = gan.generator->fc->weight.detach().clone();
  EXPECT_TRUE(torch::equal(gan.g_ema->fc->weight, before));  // starts as a copy
  train_step(gan, random_images(8), /*smooth_labels=*/false);
  const auto after = gan.generator->fc->weight.detach();
  ASSERT_FALSE(torch::equal(after, before));
  // 0.75 * old + 0.25 * new, worked out here rather than by the code under test.
  EXPECT_TRUE(torch::allclose(gan.g_ema->fc->weight, before * 0.75 + after * 0.25, 1e-6, 1e-7));
  EXPECT_TRUE(torch::equal(gan.g_ema->bn(1)->running_mean, gan.generator->bn(1)->running_mean));
}

// After recalibration, g_ema's BatchNorm statistics are those of its own weights: measured here on
// fresh z through the layer observer, not by the code under test.
TEST(GEma, RecalibrationFitsTheStatisticsToTheAveragedWeights) {
  Gan gan(tiny_ema_options(/*seed=*/3, /*decay=*/0.5), torch::kCPU);
  train_step(gan, random_images(8), /*smooth_labels=*/false);
  {
    torch::NoGradGuard no_grad;
    gan.g_ema->fc->weight.mul_(3);  // weights far from G's, whose statistics g_ema holds now
  }
  torch::Tensor pre_norm;
  {
    torch::NoGradGuard no_grad;
    gan.g_ema->eval();
    gan.g_ema->forward(torch::rand({4096, 8}) * 2 - 1,
                       [&](const std::string& layer, const torch::Tensor& x) {
                         if (layer == "t_conv1") pre_norm = x;
                       });
  }
  const auto mean = pre_norm.mean({0, 2, 3}), var = pre_norm.var({0, 2, 3});
  auto off_by = [&] {
    return std::max((gan.g_ema->bn(1)->running_mean - mean).abs().max().item<double>(),
                    ((gan.g_ema->bn(1)->running_var - var).abs() / var).max().item<double>());
  };
  ASSERT_GT(off_by(), 0.3) << "the test needs statistics that do not fit at first";

  torch::manual_seed(9);
  const auto next_draw = torch::rand({4});
  torch::manual_seed(9);
  recalibrate_g_ema(gan);
  EXPECT_LT(off_by(), 0.08);
  EXPECT_TRUE(torch::equal(torch::rand({4}), next_draw)) << "drew from the run's RNG";
  EXPECT_EQ(gan.g_ema->bn(1)->options.momentum(), c10::optional<double>(0.1));
  EXPECT_FALSE(gan.g_ema->is_training());
}

TEST_F(StepResumeTest, GEmaIsCheckpointedAndSampledFrom) {
  auto config = tiny("ema", 1, "eager");
  config.g_ema = 0.9;
  Trainer trainer(config);
  ASSERT_EQ(trainer.run().status, TrainOutcome::Status::kCompleted);
  auto loaded = load_generator(config.out_dir + "/checkpoints/last.pt", torch::kCPU);
  auto& gan = trainer.gan();
  EXPECT_TRUE(torch::equal(loaded->fc->weight, gan.g_ema->fc->weight));
  EXPECT_FALSE(torch::equal(loaded->fc->weight, gan.generator->fc->weight));
  // Saved with statistics recalibrated for the averaged weights, not the generator's copied ones.
  EXPECT_TRUE(torch::equal(loaded->bn(1)->running_var, gan.g_ema->bn(1)->running_var));
  EXPECT_FALSE(torch::allclose(loaded->bn(1)->running_var, gan.generator->bn(1)->running_var));
}

}  // namespace
