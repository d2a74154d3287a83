#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <filesystem>
#include <functional>
#include <fstream>

#include "dcgan/data/scale.h"
#include "dcgan/image/grid.h"
#include "dcgan/image/png.h"
#include "dcgan/models/subpixel.h"
#include "dcgan/train/checkpoint.h"
#include "dcgan/train/cpu_convolution_check.h"
#include "dcgan/train/config.h"
#include "dcgan/train/run_folder.h"
#include "dcgan/sampling/sampling.h"
#include "dcgan/train/signals.h"
#include "dcgan/train/trainer.h"
#include "dcgan/util/compat.h"
#include "dcgan/util/errors.h"
#include "test_helpers.h"

namespace fs = std::filesystem;
using dcgan::InputError;
using dcgan::test::TempDir;
using dcgan::train::TrainConfig;
using dcgan::train::Trainer;

namespace {

class TrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    data_ = dir_.file("tiny.mat");
    torch::manual_seed(11);
    dcgan::test::write_svhn(data_, 40);
  }
  void TearDown() override { spdlog::set_level(spdlog::level::info); }

  // A tiny run: 40 images, batches of 16 (the last one partial), conv_dim 4.
  TrainConfig tiny(const std::string& out, int64_t epochs) const {
    return dcgan::test::tiny_config(data_, dir_.file(out), epochs);
  }

  TempDir dir_;
  std::string data_;
};

void expect_same_state(torch::nn::Module& a, torch::nn::Module& b) {
  const auto pa = a.named_parameters(), pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& p : pa) EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
  const auto ba = a.named_buffers(), bb = b.named_buffers();
  ASSERT_EQ(ba.size(), bb.size());
  for (const auto& buffer : ba)
    EXPECT_TRUE(torch::equal(buffer.value(), bb[buffer.key()])) << buffer.key();
}

// A 32x32 tile of a grid made with padding 2: tile `index` of a grid `per_row` tiles wide.
torch::Tensor tile(const torch::Tensor& grid, int64_t index, int64_t per_row) {
  return grid.narrow(1, (index / per_row) * 34 + 2, 32).narrow(2, (index % per_row) * 34 + 2, 32);
}

// samples/progress.png: one row per epoch (up to 20), each row that epoch's 16 samples, which are
// the tiles of samples/epoch_NNN.png (8 per row).
void expect_progress_sheet_holds_every_epoch(const std::string& run, int64_t epochs) {
  const auto sheet = dcgan::image::read_image(run + "/samples/progress.png");
  ASSERT_EQ(sheet.sizes(), (std::vector<int64_t>{3, epochs * 34 + 2, 16 * 34 + 2}));
  for (int64_t e = 1; e <= epochs; ++e) {
    char name[32];
    std::snprintf(name, sizeof(name), "/samples/epoch_%03lld.png", static_cast<long long>(e));
    const auto grid = dcgan::image::read_image(run + name);
    for (int64_t i = 0; i < 16; ++i)
      EXPECT_TRUE(torch::equal(tile(sheet, (e - 1) * 16 + i, 16), tile(grid, i, 8)))
          << name << " sample " << i;
  }
}

TEST_F(TrainTest, WritesEveryOutputWithFiniteLosses) {
  auto config = tiny("run", 2);
  Trainer trainer(config);
  const auto outcome = trainer.run();
  ASSERT_EQ(outcome.status, dcgan::train::TrainOutcome::Status::kCompleted);
  const fs::path run = config.out_dir;
  for (const char* file : {"config.json", "losses.csv", "summary.json", "samples/epoch_001.png",
                           "samples/epoch_002.png", "samples/progress.png", "checkpoints/last.pt",
                           "checkpoints/epoch_001.pt", "checkpoints/epoch_002.pt"}) {
    EXPECT_TRUE(fs::exists(run / file)) << file;
  }
  const auto lines = dcgan::test::file_lines((run / "losses.csv").string());
  ASSERT_EQ(lines.front(), "epoch,batch,d_loss,g_loss,step");
  EXPECT_EQ(lines.size(), 1u + 2 * 3);  // print_every 1: every batch of 3, two epochs
  for (size_t i = 1; i < lines.size(); ++i) {
    std::stringstream row(lines[i]);
    std::string cell;
    std::vector<double> values;
    while (std::getline(row, cell, ',')) values.push_back(std::stod(cell));
    ASSERT_EQ(values.size(), 5u) << lines[i];
    EXPECT_TRUE(std::isfinite(values[2]) && std::isfinite(values[3])) << lines[i];
  }
  // 16 samples, nrow 8, padding 2: (8*34+2) x (2*34+2).
  const auto grid = dcgan::image::read_image((run / "samples/epoch_002.png").string());
  EXPECT_EQ(grid.sizes(), (std::vector<int64_t>{3, 70, 274}));
  // Progress sheet: one row of 16 samples per epoch.
  const auto sheet = dcgan::image::read_image((run / "samples/progress.png").string());
  EXPECT_EQ(sheet.sizes(), (std::vector<int64_t>{3, 2 * 34 + 2, 16 * 34 + 2}));

  std::ifstream summary_file(run / "summary.json");
  const auto summary = nlohmann::json::parse(summary_file);
  EXPECT_EQ(summary["epochs"], 2);
  EXPECT_EQ(summary["images_seen"], 80);
  EXPECT_GT(summary["images_per_second"].get<double>(), 0.0);
  std::ifstream config_file(run / "config.json");
  const auto saved = nlohmann::json::parse(config_file);
  EXPECT_EQ(saved["conv_dim"], 4);
  EXPECT_EQ(saved["seed"], 5);
  EXPECT_TRUE(saved["versions"].contains("libtorch"));
  EXPECT_EQ(saved["device_name"], "cpu");
}

TEST_F(TrainTest, KeepsOnlyTheNewestEpochCheckpoints) {
  auto config = tiny("keep", 3);
  config.keep_checkpoints = 1;
  Trainer(config).run();
  EXPECT_FALSE(fs::exists(fs::path(config.out_dir) / "checkpoints/epoch_001.pt"));
  EXPECT_FALSE(fs::exists(fs::path(config.out_dir) / "checkpoints/epoch_002.pt"));
  EXPECT_TRUE(fs::exists(fs::path(config.out_dir) / "checkpoints/epoch_003.pt"));
}

TEST_F(TrainTest, CheckpointRoundTripRestoresEveryTensor) {
  auto config = tiny("roundtrip", 1);
  Trainer trainer(config);
  trainer.run();
  dcgan::train::GanOptions options{4, 8};
  dcgan::train::Gan restored(options, torch::kCPU);
  const auto progress =
      dcgan::train::load_checkpoint(config.out_dir + "/checkpoints/last.pt", restored);
  expect_same_state(*trainer.gan().generator, *restored.generator);
  expect_same_state(*trainer.gan().discriminator, *restored.discriminator);
  EXPECT_EQ(progress.epochs_done, 1);
  EXPECT_EQ(progress.global_step, 3);
  EXPECT_EQ(progress.batch_in_epoch, 0);
  EXPECT_EQ(progress.images_seen, 40);
  EXPECT_GT(progress.train_seconds, 0.0);
  EXPECT_FALSE(progress.epoch_order.defined()) << "no epoch in progress at an epoch's end";
  EXPECT_EQ(nlohmann::json::parse(progress.config_json)["conv_dim"], 4);
  ASSERT_EQ(progress.fixed_z.sizes(), (std::vector<int64_t>{16, 8}));
  // fixed_z and sample_history are the ones the run drew: the epoch-1 grid is G(fixed_z).
  ASSERT_TRUE(progress.sample_history.defined());
  ASSERT_EQ(progress.sample_history.sizes(), (std::vector<int64_t>{1, 16, 3, 32, 32}));
  EXPECT_TRUE(torch::equal(progress.sample_history[0],
                           dcgan::sampling::render(restored.generator, progress.fixed_z)));
  EXPECT_TRUE(torch::equal(dcgan::image::make_grid(progress.sample_history[0], config.nrow),
                           dcgan::image::read_image(config.out_dir + "/samples/epoch_001.png")));
  dcgan::test::expect_same_adam_state(*trainer.gan().g_optimizer, *restored.g_optimizer);
  // Adam state (moments and step) comes back too.
  const auto& saved_state = trainer.gan().d_optimizer->state();
  const auto& loaded_state = restored.d_optimizer->state();
  ASSERT_EQ(saved_state.size(), loaded_state.size());
  const auto& saved_params = trainer.gan().d_optimizer->param_groups()[0].params();
  const auto& loaded_params = restored.d_optimizer->param_groups()[0].params();
  for (size_t i = 0; i < saved_params.size(); ++i) {
    const auto& a = dcgan::compat::adam_state(*trainer.gan().d_optimizer, saved_params[i]);
    const auto& b = dcgan::compat::adam_state(*restored.d_optimizer, loaded_params[i]);
    EXPECT_EQ(a.step(), b.step());
    EXPECT_TRUE(torch::equal(a.exp_avg(), b.exp_avg()));
    EXPECT_TRUE(torch::equal(a.exp_avg_sq(), b.exp_avg_sq()));
  }
}

TEST_F(TrainTest, ResumeContinuesExactly) {
  auto straight = tiny("straight", 2);
  Trainer straight_trainer(straight);
  straight_trainer.run();

  auto first = tiny("resumed", 1);
  Trainer(first).run();
  auto second = tiny("resumed", 2);
  second.resume = second.out_dir;
  Trainer resumed(second);
  resumed.run();

  expect_same_state(*straight_trainer.gan().generator, *resumed.gan().generator);
  expect_same_state(*straight_trainer.gan().discriminator, *resumed.gan().discriminator);
  EXPECT_EQ(dcgan::test::file_lines(straight.out_dir + "/losses.csv"),
            dcgan::test::file_lines(second.out_dir + "/losses.csv"));
  // The samples written after the resume, and the progress sheet that holds epoch 1's samples
  // from the checkpoint, are those of the straight run.
  for (const char* png : {"samples/epoch_001.png", "samples/epoch_002.png", "samples/progress.png"})
    EXPECT_EQ(dcgan::test::read_bytes(straight.out_dir + "/" + png),
              dcgan::test::read_bytes(second.out_dir + "/" + png))
        << png;
  expect_progress_sheet_holds_every_epoch(second.out_dir, 2);
}

// A 2-epoch run straight through, and the same run interrupted in its first step and resumed,
// end with the same weights; `tiny2` makes each one's config from its folder name.
void expect_interrupted_run_resumes_exactly(const std::function<TrainConfig(const std::string&)>& tiny2) {
  auto straight = tiny2("straight");
  Trainer straight_trainer(straight);
  straight_trainer.run();

  // An interrupt after the first step of epoch 1 saves a mid-epoch checkpoint.
  auto config = tiny2("interrupted");
  {
    Trainer interrupted(config);
    // As if Ctrl-C arrived during the first step.
    dcgan::train::StopRequest::request(SIGINT);
    const auto outcome = interrupted.run();
    dcgan::train::StopRequest::reset();
    ASSERT_EQ(outcome.status, dcgan::train::TrainOutcome::Status::kInterrupted);
    EXPECT_EQ(outcome.signal, SIGINT);
  }
  const auto info = dcgan::train::read_checkpoint_info(config.out_dir + "/checkpoints/last.pt");
  EXPECT_EQ(info.epochs_done, 0);
  config.resume = config.out_dir;
  Trainer resumed(config);
  ASSERT_EQ(resumed.run().status, dcgan::train::TrainOutcome::Status::kCompleted);
  expect_same_state(*straight_trainer.gan().generator, *resumed.gan().generator);
  expect_same_state(*straight_trainer.gan().discriminator, *resumed.gan().discriminator);
}

TEST_F(TrainTest, ResumeAfterInterruptMidEpochContinuesExactly) {
  expect_interrupted_run_resumes_exactly([&](const std::string& out) { return tiny(out, 2); });
}

// Class-conditional runs of both methods: the labels drawn for G and each batch's real labels
// resume with the run's RNG and epoch order.
TEST_F(TrainTest, ConditionalRunsResumeMidEpochExactly) {
  for (const std::string method : {"projection", "acgan"}) {
    SCOPED_TRACE(method);
    expect_interrupted_run_resumes_exactly([&](const std::string& out) {
      auto c = tiny(out + "_" + method, 2);
      c.conditional = method;
      return c;
    });
  }
}

// Every lever of issue 20 at once: augmentation draws from the run's RNG, spectral norm keeps its
// power-iteration vectors in D's buffers, and both must survive the checkpoint.
TEST_F(TrainTest, ResumeWithAugmentAndEveryLeverContinuesExactly) {
  expect_interrupted_run_resumes_exactly([&](const std::string& out) {
    auto c = tiny(out, 2);
    c.augment = "color,translation,cutout";
    c.loss = "hinge";
    c.spectral_norm = true;
    c.batch_norm = false;
    c.lr_d = 4e-4;
    c.lr_g = 1e-4;
    return c;
  });
}

TEST_F(TrainTest, RefusesBadConfigurationsBeforeWritingAnything) {
  auto expect_refused = [&](TrainConfig config, const std::string& problem) {
    dcgan::test::expect_error([&] { Trainer trainer(config); }, {problem});
    EXPECT_FALSE(fs::exists(config.out_dir)) << "wrote " << config.out_dir;
  };
  auto c = tiny("bad", 1);
  c.batch_size = 41;
  expect_refused(c, "larger than the data (40 images)");
  c = tiny("bad", 1);
  c.batch_size = 0;
  expect_refused(c, "--batch-size must be at least 1");
  c = tiny("bad", 0);
  expect_refused(c, "--epochs must be at least 1");
  c = tiny("bad", 1);
  c.lr = -1;
  expect_refused(c, "--lr must be a positive number");
  c = tiny("bad", 1);
  c.device = "tpu";
  expect_refused(c, "--device must be auto, cpu, cuda or cuda:N");
  if (!torch::cuda::is_available()) {
    c = tiny("bad", 1);
    c.device = "cuda";
    expect_refused(c, "CUDA is not available");
  }
  c = tiny("bad", 1);
  c.resume = dir_.file("nothing_here");
  expect_refused(c, "no checkpoint to resume");
}

TEST_F(TrainTest, ResumeRefusesChangedOptionsButAllowsMoreEpochs) {
  auto saved = tiny("run", 1);
  auto given = saved;
  given.epochs = 5;
  given.conv_dim = 8;
  given.resume = saved.out_dir;
  EXPECT_THROW(dcgan::train::merge_for_resume(saved, given, {"resume", "epochs", "conv-dim"}),
               InputError);
  const auto merged = dcgan::train::merge_for_resume(saved, given, {"resume", "epochs"});
  EXPECT_EQ(merged.epochs, 5);
  EXPECT_EQ(merged.conv_dim, 4);
  given.conv_dim = 4;  // the same value given again is fine
  EXPECT_NO_THROW(dcgan::train::merge_for_resume(saved, given, {"resume", "epochs", "conv-dim"}));

  // A --no-X switch is named as typed (the CLI also records X for the recipe's sake).
  saved.conditional = given.conditional = "acgan";
  saved.acgan_projection = true;
  given.acgan_projection = false;
  dcgan::test::expect_error(
      [&] {
        dcgan::train::merge_for_resume(saved, given,
                                       {"resume", "no-acgan-projection", "acgan-projection"});
      },
      {"--no-acgan-projection disagrees with the resumed run, which was trained without it"});
  saved.acgan_projection = false;
  EXPECT_NO_THROW(dcgan::train::merge_for_resume(
      saved, given, {"resume", "no-acgan-projection", "acgan-projection"}));
}

// Any image size: a 64x64 run of each arch (conv_dim 2: one more layer per network than at 32)
// trains, writes 64x64 samples, records its size, and resumes exactly.
TEST_F(TrainTest, SixtyFourByRunOfEachArchResumesExactly) {
  const auto data64 = dir_.file("tiny64.mat");
  dcgan::test::write_svhn(data64, 12, MAT_FT_MAT5, MAT_COMPRESSION_ZLIB, /*side=*/64);
  for (const std::string arch : {"notebook", "pytorch-examples"}) {
    auto config = [&](const std::string& out, int64_t epochs) {
      auto c = dcgan::test::tiny_config(data64, dir_.file(arch + out), epochs, /*batch_size=*/8);
      c.image_size = 64;
      c.arch = arch;
      c.conv_dim = 2;
      c.sample_size = 4;
      return c;
    };
    const auto straight = config("straight", 2);
    Trainer straight_trainer(straight);
    ASSERT_EQ(straight_trainer.run().status, dcgan::train::TrainOutcome::Status::kCompleted);
    Trainer(config("resumed", 1)).run();
    auto second = config("resumed", 2);
    second.resume = second.out_dir;
    Trainer resumed(second);
    resumed.run();
    expect_same_state(*straight_trainer.gan().generator, *resumed.gan().generator);
    expect_same_state(*straight_trainer.gan().discriminator, *resumed.gan().discriminator);
    EXPECT_EQ(dcgan::test::file_lines(straight.out_dir + "/losses.csv"),
              dcgan::test::file_lines(second.out_dir + "/losses.csv"));

    const auto info = dcgan::train::read_checkpoint_info(second.out_dir + "/checkpoints/last.pt");
    EXPECT_EQ(info.image_size, 64);
    EXPECT_EQ(dcgan::models::to_string(info.arch), arch);
    std::ifstream config_file(second.out_dir + "/config.json");
    const auto saved = nlohmann::json::parse(config_file);
    EXPECT_EQ(saved.at("image_size"), 64);
    EXPECT_EQ(saved.at("arch"), arch);
    // 4 samples of 64x64 in a row: torchvision's padding of 2 around and between.
    const auto grid = dcgan::image::read_image(second.out_dir + "/samples/epoch_002.png");
    EXPECT_EQ(grid.sizes(), (std::vector<int64_t>{3, 68, 4 * 66 + 2})) << arch;
    EXPECT_EQ(dcgan::test::read_bytes(straight.out_dir + "/samples/epoch_002.png"),
              dcgan::test::read_bytes(second.out_dir + "/samples/epoch_002.png"));
    auto generator = dcgan::train::load_generator(second.out_dir + "/checkpoints/last.pt",
                                                  torch::kCPU);
    EXPECT_EQ(dcgan::sampling::render(generator, dcgan::sampling::seeded_z(generator, 3, 1)).sizes(),
              (std::vector<int64_t>{3, 3, 64, 64}));
  }
  // pytorch-examples draws z ~ N(0, 1) as main.py does (values beyond U(-1, 1)'s range), and
  // initialises as the DCGAN paper unless told otherwise.
  auto pe = dcgan::test::tiny_config(data64, dir_.file("pe2"), 1, 8);
  pe.arch = "pytorch-examples";
  pe.image_size = 64;
  dcgan::train::apply_recipe(pe, {"arch", "image-size"});
  EXPECT_EQ(pe.weights_init, "normal");
  dcgan::train::GanOptions options;
  options.arch = dcgan::models::Arch::kPytorchExamples;
  torch::manual_seed(1);
  EXPECT_GT(dcgan::train::sample_z(options, 64, torch::kCPU).abs().max().item<double>(), 1.0);
  options.arch = dcgan::models::Arch::kNotebook;
  EXPECT_LE(dcgan::train::sample_z(options, 64, torch::kCPU).abs().max().item<double>(), 1.0);
}

// Data of one size and a model of another: refused before anything is written, naming both.
TEST_F(TrainTest, RefusesDataOfAnotherImageSize) {
  auto c = tiny("wrong_size", 1);
  c.image_size = 64;
  dcgan::test::expect_error([&] { Trainer trainer(c); },
                            {data_, "images are 32x32", "the model makes 64x64", "--image-size 32"});
  EXPECT_FALSE(fs::exists(c.out_dir));
  c.image_size = 48;
  dcgan::test::expect_error([&] { Trainer trainer(c); },
                            {"--image-size must be 32, 64, 128 or 256, got 48"});
  c.image_size = 32;
  c.arch = "dcgan";
  dcgan::test::expect_error([&] { Trainer trainer(c); },
                            {"--arch must be notebook or pytorch-examples, got 'dcgan'"});
  // A resumed run keeps its size and arch: giving others is refused.
  auto saved = tiny("run", 1);
  auto given = saved;
  given.image_size = 64;
  given.resume = saved.out_dir;
  dcgan::test::expect_error(
      [&] { dcgan::train::merge_for_resume(saved, given, {"resume", "image-size"}); },
      {"--image-size 64 disagrees with the resumed run's 32"});
  // A checkpoint of another architecture is refused by name.
  Trainer(tiny("small", 1)).run();
  dcgan::train::GanOptions other;
  other.conv_dim = 4;
  other.z_size = 8;
  other.image_size = 64;
  dcgan::train::Gan gan(other, torch::kCPU);
  dcgan::test::expect_error(
      [&] { dcgan::train::load_checkpoint(dir_.file("small") + "/checkpoints/last.pt", gan); },
      {"checkpoint is of another architecture (notebook, 32x32, conv_dim 4, z_size 8; expected "
       "notebook, 64x64, conv_dim 4, z_size 8)"});
}

// `dcgan train` keeps the notebook's defaults; --recipe improved and high-lr fill the options
// docs/QUALITY.md measured, and only those the user did not give.
// A resumed run drops the CSV rows written after its checkpoint's step. quality.csv's rows have a
// class_accuracy after the step (empty when unconditional); rows of older runs have none.
TEST(RunFolderResume, KeepsQualityRowsUpToTheCheckpointsStepWithOrWithoutClassAccuracy) {
  dcgan::test::TempDir tmp;
  const auto folder = tmp.file("run");
  fs::create_directories(folder);
  const std::string header = "epoch,frechet_distance,confident_share,step,class_accuracy\n";
  dcgan::test::write_bytes(folder + "/quality.csv", header +
                                                       "1,90,0.4,3\n"           // an older run's row
                                                       "2,80,0.5,6,\n"          // unconditional
                                                       "3,70,0.5,9,0.625\n"     // conditional
                                                       "4,60,0.6,12,0.75\n");   // after the step
  dcgan::train::RunFolder run(folder, /*checkpoint_bytes=*/0, /*owner=*/true);
  run.prepare(nlohmann::json::object(), /*resuming=*/true, /*resumed_step=*/9);
  EXPECT_EQ(dcgan::test::read_bytes(folder + "/quality.csv"),
            header + "1,90,0.4,3\n2,80,0.5,6,\n3,70,0.5,9,0.625\n");
  run.append_quality(4, 65.5, 0.5, 12, 0.5);
  run.append_quality(5, 64.5, 0.5, 15);
  EXPECT_EQ(dcgan::test::file_lines(folder + "/quality.csv").back(), "5,64.5,0.5,15,");
  EXPECT_EQ(dcgan::test::file_lines(folder + "/quality.csv").end()[-2], "4,65.5,0.5,12,0.5");
}

TEST(Recipe, ImprovedFillsOnlyTheOptionsNotGiven) {
  TrainConfig notebook;
  dcgan::train::apply_recipe(notebook, {});
  EXPECT_EQ(dcgan::train::to_json(notebook), dcgan::train::to_json(TrainConfig{}));
  EXPECT_EQ(notebook.weights_init, "default");
  EXPECT_EQ(notebook.g_ema, 0.0);
  EXPECT_FALSE(notebook.smooth_labels);

  TrainConfig improved;
  improved.recipe = "improved";
  dcgan::train::apply_recipe(improved, {"recipe"});
  EXPECT_EQ(improved.weights_init, "normal");
  EXPECT_EQ(improved.g_ema, 0.995);
  EXPECT_EQ(improved.batch_size, 64);
  EXPECT_EQ(dcgan::train::recipe_flags("improved"),
            "--weights-init normal --g-ema 0.995 --batch-size 64");

  TrainConfig given;
  given.recipe = "improved";
  given.g_ema = 0.9;
  dcgan::train::apply_recipe(given, {"recipe", "g-ema"});
  EXPECT_EQ(given.g_ema, 0.9);
  EXPECT_EQ(given.weights_init, "normal");
  EXPECT_EQ(given.batch_size, 64);

  TrainConfig high_lr;
  high_lr.recipe = "high-lr";
  dcgan::train::apply_recipe(high_lr, {"recipe", "batch-size"});
  EXPECT_EQ(high_lr.lr, 0.001);
  EXPECT_EQ(high_lr.g_ema, 0.995);
  EXPECT_EQ(high_lr.batch_size, TrainConfig{}.batch_size);  // given
  EXPECT_EQ(high_lr.weights_init, "default");
  EXPECT_EQ(high_lr.lr_d, 0.0);  // D and G both follow --lr
  EXPECT_EQ(high_lr.lr_g, 0.0);
  EXPECT_EQ(dcgan::train::recipe_flags("high-lr"), "--lr 0.001 --g-ema 0.995 --batch-size 64");
  EXPECT_EQ(dcgan::train::recipe_flags("notebook"), "");
  EXPECT_EQ(dcgan::train::recipe_names(/*with_flags=*/true),  // --help's list
            "notebook, improved (--weights-init normal --g-ema 0.995 --batch-size 64) or high-lr "
            "(--lr 0.001 --g-ema 0.995 --batch-size 64)");

  TrainConfig unknown;
  unknown.recipe = "best";
  dcgan::test::expect_error([&] { dcgan::train::validate(unknown); },
                            {"--recipe must be notebook, improved or high-lr", "'best'"});
  EXPECT_EQ(dcgan::train::config_from_json(dcgan::train::to_json(improved)).recipe, "improved");
}

// A run from before --g-class-weight trained AC-GAN's G at full class weight; resumed, it goes on so
// (exactly), whatever the default of new runs.
TEST(TrainConfigJson, ARunFromBeforeTheClassWeightResumesAtFullWeight) {
  TrainConfig config;
  config.conditional = "acgan";
  auto json = dcgan::train::to_json(config);
  EXPECT_EQ(json.at("g_class_weight"), TrainConfig{}.g_class_weight);
  json.erase("g_class_weight");
  const auto resumed = dcgan::train::config_from_json(json);
  EXPECT_EQ(resumed.g_class_weight, 1.0);
  EXPECT_EQ(dcgan::train::gan_options(resumed).g_class_weight, 1.0);
}

TEST_F(TrainTest, RefusesCheckpointOfAnotherArchitectureOrCorrupt) {
  auto config = tiny("arch", 1);
  Trainer(config).run();
  const auto last = config.out_dir + "/checkpoints/last.pt";
  dcgan::train::Gan other(dcgan::train::GanOptions{8, 8}, torch::kCPU);
  EXPECT_THROW(dcgan::train::load_checkpoint(last, other), InputError);

  const auto bytes = dcgan::test::read_bytes(last);
  const auto cut = dir_.file("cut.pt");
  dcgan::test::write_bytes(cut, bytes.substr(0, bytes.size() / 2));
  EXPECT_THROW(dcgan::train::read_checkpoint_info(cut), InputError);
  EXPECT_THROW(dcgan::train::load_generator(cut, torch::kCPU), InputError);
  dcgan::test::write_bytes(cut, "not a checkpoint at all");
  EXPECT_THROW(dcgan::train::load_generator(cut, torch::kCPU), InputError);
  // One flipped byte in the middle of the tensor data: LibTorch would load it; the checksum must
  // not.
  auto flipped = bytes;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x10);
  dcgan::test::write_bytes(cut, flipped);
  EXPECT_THROW(dcgan::train::load_generator(cut, torch::kCPU), InputError);
  EXPECT_THROW(dcgan::train::load_checkpoint(cut, other), InputError);
}

TEST_F(TrainTest, GenerateIsReproducibleBySeed) {
  auto config = tiny("gen", 1);
  Trainer trainer(config);
  trainer.run();
  auto generator =
      dcgan::train::load_generator(config.out_dir + "/checkpoints/last.pt", torch::kCPU);
  EXPECT_EQ(generator->options().conv_dim(), 4);
  const auto a = dcgan::sampling::render(generator, dcgan::sampling::seeded_z(6, 8, 42));
  const auto b = dcgan::sampling::render(generator, dcgan::sampling::seeded_z(6, 8, 42));
  const auto c = dcgan::sampling::render(generator, dcgan::sampling::seeded_z(6, 8, 43));
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{6, 3, 32, 32}));
  EXPECT_EQ(a.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
  // The loaded generator is the trained one: same weights and buffers, same images.
  expect_same_state(*trainer.gan().generator, *generator);
  EXPECT_TRUE(torch::equal(
      a, dcgan::sampling::render(trainer.gan().generator, dcgan::sampling::seeded_z(6, 8, 42))));
  EXPECT_FALSE(generator->is_training()) << "load_generator returns it in eval mode";
}

TEST(LatentWalk, RowsRunStraightBetweenTheirEnds) {
  const auto z = dcgan::sampling::latent_walk(3, 5, 7, 9);
  ASSERT_EQ(z.sizes(), (std::vector<int64_t>{15, 7}));
  const auto ends = dcgan::sampling::seeded_z(6, 7, 9).view({3, 2, 7});
  for (int64_t r = 0; r < 3; ++r) {
    EXPECT_TRUE(torch::allclose(z[r * 5], ends[r][0]));
    EXPECT_TRUE(torch::allclose(z[r * 5 + 4], ends[r][1]));
    EXPECT_TRUE(torch::allclose(z[r * 5 + 2], (ends[r][0] + ends[r][1]) / 2, 1e-5, 1e-6));
  }
}

TEST(Grid, MatchesTorchvisionLayout) {
  auto images = torch::full({3, 3, 2, 2}, 255, torch::kUInt8);
  images[1].fill_(100);
  const auto grid = dcgan::image::make_grid(images, /*nrow=*/2, /*padding=*/1);
  EXPECT_EQ(grid.sizes(), (std::vector<int64_t>{3, 2 * 3 + 1, 2 * 3 + 1}));
  EXPECT_EQ(grid[0][0][0].item<int>(), 0);    // padding
  EXPECT_EQ(grid[0][1][1].item<int>(), 255);  // image 0 at (1,1)
  EXPECT_EQ(grid[0][1][4].item<int>(), 100);  // image 1 at (1,4)
  EXPECT_EQ(grid[0][4][1].item<int>(), 255);  // image 2 on the second row
  EXPECT_EQ(grid[0][4][4].item<int>(), 0);    // no image 3: padding colour
  EXPECT_EQ(dcgan::image::make_grid(torch::zeros({16, 3, 32, 32}, torch::kUInt8)).sizes(),
            (std::vector<int64_t>{3, 70, 274}));
  // Every pixel of a small grid, laid out by hand: three 1x2 images a, b, c, two per row,
  // padding 1 of colour 9 around and between them.
  const auto small = torch::tensor({1, 2, 3, 4, 5, 6}, torch::kUInt8).view({3, 1, 1, 2});
  const auto expected = torch::tensor({9, 9, 9, 9, 9, 9, 9,  //
                                       9, 1, 2, 9, 3, 4, 9,  // a, b
                                       9, 9, 9, 9, 9, 9, 9,  //
                                       9, 5, 6, 9, 9, 9, 9,  // c
                                       9, 9, 9, 9, 9, 9, 9},
                                      torch::kUInt8)
                            .view({1, 5, 7});
  EXPECT_TRUE(torch::equal(dcgan::image::make_grid(small, /*nrow=*/2, /*padding=*/1, 9), expected));
}

TEST(Png, WritesWhatItReadsBack) {
  TempDir dir;
  auto image = torch::randint(0, 256, {3, 7, 5}, torch::kUInt8);
  dcgan::image::write_png(dir.file("x.png"), image);
  EXPECT_TRUE(torch::equal(dcgan::image::read_image(dir.file("x.png")), image));
  EXPECT_THROW(dcgan::image::write_png(dir.file("missing/x.png"), image), std::runtime_error);
}

// The test programs' main() runs the guard, as dcgan does: after it, the convolutions every model
// here uses are right, on any LibTorch (Debian 13's 2.6 fails the check without it).
TEST(CpuConvolutionCheck, PassesOnceGuarded) {
  const auto check = dcgan::train::check_cpu_convolutions();
  EXPECT_TRUE(check.passed) << check.worst_case << ": error " << check.worst_error;
  EXPECT_LT(check.worst_error, 1e-3);
  EXPECT_FALSE(check.worst_case.empty());  // it compared something
}

TEST(CpuConvolutionCheck, LeavesTheGlobalRandomStreamAlone) {
  torch::manual_seed(3);
  const auto expected = torch::randn({4});
  torch::manual_seed(3);
  (void)dcgan::train::check_cpu_convolutions();
  EXPECT_TRUE(torch::equal(torch::randn({4}), expected));
}

class SubpixelTest : public ::testing::TestWithParam<std::tuple<int64_t, int64_t, int64_t>> {};

TEST_P(SubpixelTest, EqualsConvTranspose2dWithGradients) {
  const auto [in, out, side] = GetParam();
  torch::manual_seed(6);
  auto x = torch::randn({3, in, side, side}, torch::requires_grad());
  auto w = torch::randn({in, out, 4, 4}, torch::requires_grad());
  const auto reference = torch::conv_transpose2d(x, w, {}, /*stride=*/2, /*padding=*/1);
  const auto fast = dcgan::models::subpixel_conv_transpose(x, w);
  ASSERT_EQ(fast.sizes(), reference.sizes());
  EXPECT_TRUE(torch::allclose(fast, reference, 1e-4, 1e-4));
  const auto g = torch::randn_like(reference);
  const auto ref_grads = torch::autograd::grad({reference}, {x, w}, {g});
  const auto fast_grads = torch::autograd::grad({fast}, {x, w}, {g});
  EXPECT_TRUE(torch::allclose(fast_grads[0], ref_grads[0], 1e-4, 1e-4));
  EXPECT_TRUE(torch::allclose(fast_grads[1], ref_grads[1], 1e-3, 1e-3));
}

INSTANTIATE_TEST_SUITE_P(Layers, SubpixelTest,
                         ::testing::Values(std::make_tuple(8, 4, 4), std::make_tuple(4, 3, 8),
                                           std::make_tuple(5, 2, 1), std::make_tuple(2, 6, 16)));

}  // namespace

namespace {

TEST_F(TrainTest, DivergenceStopsAndKeepsTheLastGoodCheckpoint) {
  auto config = tiny("diverge", 2);
  Trainer(config).run();
  const auto last = config.out_dir + "/checkpoints/last.pt";
  const auto good = dcgan::test::read_bytes(last);

  config.epochs = 3;
  config.resume = config.out_dir;
  Trainer trainer(config);
  {
    torch::NoGradGuard no_grad;
    trainer.gan().discriminator->fc->weight.fill_(std::numeric_limits<float>::quiet_NaN());
  }
  const auto outcome = trainer.run();
  EXPECT_EQ(outcome.status, dcgan::train::TrainOutcome::Status::kDiverged);
  EXPECT_EQ(dcgan::test::read_bytes(last), good) << "last good checkpoint was overwritten";
  EXPECT_FALSE(fs::exists(config.out_dir + "/checkpoints/epoch_003.pt"));
}

TEST_F(TrainTest, TwoRunsCannotShareAFolder) {
  auto config = tiny("shared", 1);
  Trainer first(config);
  auto again = config;
  EXPECT_THROW(Trainer second(again), InputError);
}

// The per-epoch grid is G(fixed_z) in eval mode (BatchNorm on its running statistics), the same
// images that `generate` makes from the saved generator.
TEST_F(TrainTest, EpochSamplesAreTheSavedGeneratorInEvalMode) {
  auto config = tiny("eval", 1);
  Trainer(config).run();
  const auto last = config.out_dir + "/checkpoints/last.pt";
  dcgan::train::Gan restored(dcgan::train::GanOptions{4, 8}, torch::kCPU);
  const auto fixed_z = dcgan::train::load_checkpoint(last, restored).fixed_z;
  auto generator = dcgan::train::load_generator(last, torch::kCPU);
  torch::Tensor eval_images;
  {
    torch::NoGradGuard no_grad;
    generator->eval();
    eval_images = dcgan::data::unscale(generator->forward(fixed_z));
  }
  EXPECT_TRUE(torch::equal(dcgan::image::make_grid(eval_images, config.nrow),
                           dcgan::image::read_image(config.out_dir + "/samples/epoch_001.png")));
}

// serialize_checkpoint + load_checkpoint on a hand-made mid-epoch state: every field, both Adam
// states and the CPU RNG come back.
TEST_F(TrainTest, CheckpointRestoresEveryFieldOfAMidEpochState) {
  torch::manual_seed(3);
  dcgan::train::Gan gan(dcgan::train::GanOptions{4, 8}, torch::kCPU);
  for (int i = 0; i < 2; ++i)
    dcgan::train::train_step(gan, torch::randint(0, 256, {4, 3, 32, 32}, torch::kUInt8), false);
  dcgan::train::TrainingProgress saved;
  saved.epochs_done = 2;
  saved.batch_in_epoch = 5;
  saved.global_step = 17;
  saved.images_seen = 123;
  saved.train_seconds = 4.25;
  saved.epoch_order = torch::randperm(40, torch::kInt64);
  saved.fixed_z = torch::rand({16, 8});
  saved.sample_history = torch::randint(0, 256, {2, 16, 3, 32, 32}, torch::kUInt8);
  saved.config_json = R"({"conv_dim":4})";
  const auto bytes = dcgan::train::serialize_checkpoint(gan, saved);
  const auto next_draws = torch::rand({5});  // what the RNG gives after the saved state
  const auto path = dir_.file("mid.pt");
  dcgan::test::write_bytes(path, bytes);

  torch::manual_seed(99);
  dcgan::train::Gan restored(dcgan::train::GanOptions{4, 8}, torch::kCPU);
  const auto loaded = dcgan::train::load_checkpoint(path, restored);
  EXPECT_TRUE(torch::equal(torch::rand({5}), next_draws)) << "RNG state not restored";
  EXPECT_EQ(loaded.epochs_done, 2);
  EXPECT_EQ(loaded.batch_in_epoch, 5);
  EXPECT_EQ(loaded.global_step, 17);
  EXPECT_EQ(loaded.images_seen, 123);
  EXPECT_DOUBLE_EQ(loaded.train_seconds, 4.25);
  ASSERT_TRUE(loaded.epoch_order.defined());
  EXPECT_TRUE(torch::equal(loaded.epoch_order, saved.epoch_order));
  EXPECT_TRUE(torch::equal(loaded.fixed_z, saved.fixed_z));
  ASSERT_TRUE(loaded.sample_history.defined());
  EXPECT_TRUE(torch::equal(loaded.sample_history, saved.sample_history));
  EXPECT_EQ(loaded.config_json, saved.config_json);
  expect_same_state(*gan.generator, *restored.generator);
  expect_same_state(*gan.discriminator, *restored.discriminator);
  dcgan::test::expect_same_adam_state(*gan.g_optimizer, *restored.g_optimizer);
  dcgan::test::expect_same_adam_state(*gan.d_optimizer, *restored.d_optimizer);
  const auto info = dcgan::train::read_checkpoint_info(path);
  EXPECT_EQ(info.epochs_done, 2);
  EXPECT_EQ(info.conv_dim, 4);
  EXPECT_EQ(info.z_size, 8);
  EXPECT_EQ(info.format_version, dcgan::train::kCheckpointFormatVersion);
}

// A run killed after its last checkpoint leaves loss rows past that checkpoint (possibly torn) and
// *.tmp.PID files; resuming drops both, so the run continues as if it had never been killed.
TEST_F(TrainTest, ResumeTrimsLossRowsAndRemovesStaleTempFiles) {
  auto straight = tiny("straight", 2);
  Trainer(straight).run();

  auto config = tiny("killed", 1);
  Trainer(config).run();
  const auto csv = config.out_dir + "/losses.csv";
  std::ofstream(csv, std::ios::app) << "2,1,0.5,0.7,4\n2,2,0.5,0.6,5\n2,3,0.4";  // torn last row
  for (const char* stale :
       {"checkpoints/last.pt.tmp.99999", "samples/progress.png.tmp.1", "losses.csv.tmp.42"})
    dcgan::test::write_bytes(config.out_dir + "/" + stale, "half-written");
  config.epochs = 2;
  config.resume = config.out_dir;
  Trainer(config).run();
  EXPECT_EQ(dcgan::test::file_lines(csv),
            dcgan::test::file_lines(straight.out_dir + "/losses.csv"));
  EXPECT_EQ(dcgan::test::file_lines(csv).size(), 1u + 2 * 3);
  for (const auto& entry : fs::recursive_directory_iterator(config.out_dir))
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
}

// --smooth-labels reaches the training step: the real target 0.9 changes D's first loss.
TEST_F(TrainTest, SmoothLabelsChangeTheLosses) {
  auto plain = tiny("plain", 1);
  Trainer(plain).run();
  auto smooth = tiny("smooth", 1);
  smooth.smooth_labels = true;
  Trainer(smooth).run();
  const auto a = dcgan::test::file_lines(plain.out_dir + "/losses.csv");
  const auto b = dcgan::test::file_lines(smooth.out_dir + "/losses.csv");
  ASSERT_EQ(a.size(), b.size());
  EXPECT_NE(a[1], b[1]) << "first loss row unchanged by smooth labels";
}

}  // namespace
