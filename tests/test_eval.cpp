// The evaluation library: Fréchet distance against closed forms, the feature net, sample quality,
// the paper's probe, and refusals of label-less data. Tiny data from the bundled SVHN-format
// sample, tiny models.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "dcgan/data/dataset.h"
#include "dcgan/data/svhn.h"
#include "dcgan/eval/feature_net.h"
#include "dcgan/eval/frechet.h"
#include "dcgan/eval/probe.h"
#include "dcgan/eval/sample_quality.h"
#include "dcgan/image/png.h"
#include "dcgan/report/pages.h"
#include "dcgan/report/run_data.h"
#include "dcgan/train/checkpoint.h"
#include "dcgan/train/trainer.h"
#include "dcgan/util/errors.h"
#include "test_helpers.h"

using dcgan::InputError;
using dcgan::test::TempDir;
namespace eval = dcgan::eval;

namespace {

// The first `n` images of the repository's 4,000-image SVHN-format sample, loaded once.
dcgan::data::ImageSet sample_images(int64_t offset, int64_t n) {
  static const auto all = dcgan::data::load_images(std::string(DCGAN_TEST_DATA_DIR) +
                                                   "/../../data/svhn_sample_32x32.mat");
  dcgan::data::ImageSet part;
  part.images = all.images.narrow(0, offset, n);
  part.labels = all.labels.narrow(0, offset, n);
  part.format = all.format;
  return part;
}

// Runs `dcgan evaluate --checkpoint CHECKPOINT ARGS`, stdout and stderr into *output (stdout alone
// with stdout_only); the exit code.
int run_evaluate(const std::string& checkpoint, const std::string& args, std::string* output,
                 bool stdout_only = false) {
  const std::string command = std::string(DCGAN_BINARY) + " evaluate --checkpoint " + checkpoint +
                              " " + args + (stdout_only ? " 2>/dev/null" : " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  char buffer[4096];
  output->clear();
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) output->append(buffer, n);
  return WEXITSTATUS(pclose(pipe));
}

eval::FeatureStats stats_of(torch::Tensor mean, torch::Tensor covariance) {
  eval::FeatureStats s;
  s.mean = mean.to(torch::kFloat64);
  s.covariance = covariance.to(torch::kFloat64);
  s.count = 100;
  return s;
}

// Four generated images' class probabilities, laid out by hand: 0.95 for a 3; 0.6 for a 3 and 0.4
// for a 7; 0.91 for a 0; exactly 0.9 for a 5 (not above the threshold, so not confident).
TEST(SampleQuality, ConfidentShareAndClassCountsOfHandMadePredictions) {
  auto p = torch::zeros({4, 10}, torch::kFloat64);
  p[0][3] = 0.95, p[0][8] = 0.05;
  p[1][3] = 0.6, p[1][7] = 0.4;
  p[2][0] = 0.91, p[2][1] = 0.09;
  p[3][5] = 0.9, p[3][6] = 0.1;
  dcgan::eval::SampleQuality quality;
  dcgan::eval::count_predictions(p, quality);
  EXPECT_DOUBLE_EQ(quality.confident_share, 0.5);
  const std::array<int64_t, 10> counts{1, 0, 0, 2, 0, 1, 0, 0, 0, 0};
  EXPECT_EQ(quality.class_counts, counts);
  // Direction: the unsure 3 made sure raises the share to 3 of 4, and the counts stay.
  p[1][3] = 0.99, p[1][7] = 0.01;
  dcgan::eval::count_predictions(p, quality);
  EXPECT_DOUBLE_EQ(quality.confident_share, 0.75);
  EXPECT_EQ(quality.class_counts, counts);
}

// Features that are the label itself (one-hot): a linear probe separates them exactly, and its
// test error is then the share of test labels that disagree with their features.
TEST(LinearProbe, ErrorIsTheShareOfTestLabelsTheFeaturesContradict) {
  const auto train_labels = torch::arange(10, torch::kInt64).repeat({6});  // 6 of each digit
  const auto test_labels = torch::arange(10, torch::kInt64).repeat({2});   // 20
  const auto one_hot = [](const torch::Tensor& labels) {
    return torch::one_hot(labels, 10).to(torch::kFloat32);
  };
  auto error_with = [&](const torch::Tensor& given_test_labels) {
    return dcgan::eval::linear_probe(one_hot(train_labels), train_labels, one_hot(test_labels),
                                     given_test_labels, /*seed=*/1)
        .test_error;
  };
  EXPECT_DOUBLE_EQ(error_with(test_labels), 0.0);
  // Direction: 5 of the 20 test labels wrong -> 0.25; all of them -> 1.
  auto some_wrong = test_labels.clone();
  some_wrong.narrow(0, 0, 5).add_(1).remainder_(10);
  EXPECT_DOUBLE_EQ(error_with(some_wrong), 0.25);
  EXPECT_DOUBLE_EQ(error_with((test_labels + 1).remainder(10)), 1.0);
  // Features that say nothing (one constant value): no better than one digit for all, 0.9.
  const auto blank_train = torch::zeros({60, 4}), blank_test = torch::zeros({20, 4});
  EXPECT_DOUBLE_EQ(dcgan::eval::linear_probe(blank_train, train_labels, blank_test, test_labels, 1)
                       .test_error,
                   0.9);
}

TEST(FrechetDistance, OfASetAgainstItselfIsZero) {
  torch::manual_seed(1);
  const auto features = torch::randn({300, 16}) * torch::linspace(0.1, 3.0, 16);
  EXPECT_NEAR(eval::frechet_distance(features, features), 0.0, 1e-8);
  // ...and not for a shifted copy: |shift|^2 = 16 * 0.25.
  EXPECT_NEAR(eval::frechet_distance(features, features + 0.5), 4.0, 1e-6);
}

TEST(FrechetDistance, MatchesClosedFormForDiagonalGaussians) {
  // For diagonal covariances: |mu1 - mu2|^2 + sum_i (sqrt(a_i) - sqrt(b_i))^2.
  const auto a =
      stats_of(torch::tensor({1.0, 2.0, 0.0}), torch::diag(torch::tensor({4.0, 1.0, 9.0})));
  const auto b =
      stats_of(torch::tensor({0.0, 2.0, 3.0}), torch::diag(torch::tensor({1.0, 1.0, 0.25})));
  const double expected = (1 + 0 + 9) + (1.0 + 0.0 + 6.25);
  EXPECT_NEAR(eval::frechet_distance(a, b), expected, 1e-9);
  EXPECT_NEAR(eval::frechet_distance(b, a), expected, 1e-9);
}

TEST(FrechetDistance, MatchesClosedFormForNonCommutingCovariances) {
  // 2x2: Tr sqrt(M) = sqrt(Tr M + 2 sqrt(det M)) for M = S1 S2 with positive eigenvalues.
  const auto s1 = torch::tensor({{2.0, 1.0}, {1.0, 2.0}}, torch::kFloat64);
  const auto s2 = torch::tensor({{3.0, 0.0}, {0.0, 1.0}}, torch::kFloat64);
  const auto m = s1.matmul(s2);
  const double trace_sqrt =
      std::sqrt(m.trace().item<double>() + 2 * std::sqrt(m.det().item<double>()));
  const double expected = 4 + 4 - 2 * trace_sqrt;  // same means
  EXPECT_NEAR(
      eval::frechet_distance(stats_of(torch::zeros({2}), s1), stats_of(torch::zeros({2}), s2)),
      expected, 1e-9);
}

TEST(FrechetDistance, OneDimensionalSamplesMatchMeanAndDeviation) {
  torch::manual_seed(2);
  const auto x = torch::randn({1000, 1}, torch::kFloat64) * 2 + 1;
  const auto y = torch::randn({1000, 1}, torch::kFloat64) * 0.5 - 1;
  const double dm = (x.mean() - y.mean()).item<double>();
  const double ds = (x.std() - y.std()).item<double>();
  EXPECT_NEAR(eval::frechet_distance(x, y), dm * dm + ds * ds, 1e-9);
}

class EvalTest : public ::testing::Test {
 protected:
  void SetUp() override { spdlog::set_level(spdlog::level::warn); }
  void TearDown() override { spdlog::set_level(spdlog::level::info); }

  // One small feature net for the whole suite: 2,000 labelled images, 3 epochs.
  static eval::FeatureNet& net() {
    static auto trained = eval::train_feature_net(sample_images(0, 2000), /*seed=*/3, /*epochs=*/3);
    return trained;
  }
  TempDir dir_;
};

TEST_F(EvalTest, FeatureNetBeatsChanceOnHeldOutImages) {
  EXPECT_GT(eval::classification_accuracy(net(), sample_images(3000, 400)), 0.3);
}

TEST_F(EvalTest, FrechetDistanceGrowsAsRealImagesAreMixedWithNoise) {
  const auto reference = eval::real_feature_stats(net(), sample_images(1000, 300).images);
  const auto real = sample_images(1300, 300).images.to(torch::kFloat64);
  torch::manual_seed(4);
  const auto noise = torch::randint(0, 256, real.sizes(), torch::kFloat64);
  double previous = -1;
  for (double t : {0.0, 0.25, 0.5, 0.75, 1.0}) {
    const auto mixed = ((1 - t) * real + t * noise).round().to(torch::kUInt8);
    const double fd = eval::image_quality(net(), mixed, reference).frechet_distance;
    EXPECT_GT(fd, previous) << "noise share " << t;
    previous = fd;
  }
}

TEST_F(EvalTest, FeatureNetIsSavedAndReusedWhenItFits) {
  const auto train = sample_images(0, 200);
  const auto test = sample_images(200, 100);
  eval::FeatureNetSource source;
  source.path = dir_.file("net.pt");
  source.train = &train;
  source.train_path = "/somewhere/train.mat";
  source.test = &test;
  source.seed = 7;
  bool trained = false;
  eval::FeatureNetInfo info;
  auto first = eval::load_or_train_feature_net(source, &info, &trained);
  EXPECT_TRUE(trained);
  EXPECT_EQ(info.data_file, "train.mat");
  EXPECT_EQ(info.data_images, 200);
  EXPECT_GE(info.test_accuracy, 0.0);
  auto again = eval::load_or_train_feature_net(source, &info, &trained);
  EXPECT_FALSE(trained);
  EXPECT_TRUE(torch::equal(eval::extract_features(first, test.images),
                           eval::extract_features(again, test.images)));
  // Without training data the saved net is used as it is.
  source.train = nullptr;
  eval::load_or_train_feature_net(source, &info, &trained);
  EXPECT_FALSE(trained);
  // Other training data: a new net.
  const auto other = sample_images(300, 200);
  source.train = &other;
  eval::load_or_train_feature_net(source, &info, &trained);
  EXPECT_TRUE(trained);
  // A corrupt file is an input error naming it.
  dcgan::test::write_bytes(source.path, "not a feature net");
  source.train = nullptr;
  try {
    eval::load_or_train_feature_net(source, &info, &trained);
    FAIL() << "accepted a corrupt feature net";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(source.path), std::string::npos) << e.what();
  }
}

TEST_F(EvalTest, LabelLessDataIsRefusedWithOneLine) {
  auto folder = sample_images(0, 50);
  folder.labels = torch::full({50}, -1, torch::kInt64);
  folder.format = "image folder";
  try {
    eval::train_feature_net(folder, 1, 1);
    FAIL() << "trained a feature net without labels";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("no digit labels"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  eval::FeatureNetSource source;
  source.path = dir_.file("absent.pt");
  source.train = &folder;
  source.train_path = "photos/";
  EXPECT_THROW(eval::load_or_train_feature_net(source, nullptr), InputError);
  EXPECT_FALSE(std::filesystem::exists(source.path));
}

TEST_F(EvalTest, SampleQualityIsSeededAndLeavesTheGeneratorAsItWas) {
  torch::manual_seed(5);
  dcgan::models::Generator generator(dcgan::models::GeneratorOptions(/*z_size=*/8, /*conv_dim=*/4));
  generator->train();
  const auto real = sample_images(0, 100).images;
  const auto a = eval::sample_quality(generator, net(), real, 64, /*seed=*/9);
  const auto b = eval::sample_quality(generator, net(), real, 64, /*seed=*/9);
  EXPECT_TRUE(generator->is_training());
  EXPECT_EQ(a.frechet_distance, b.frechet_distance);
  EXPECT_EQ(a.generated, 64);
  EXPECT_EQ(a.real, 64);
  int64_t total = 0;
  for (auto c : a.class_counts) total += c;
  EXPECT_EQ(total, 64);
  // An untrained generator's blobs are far from real digits, much farther than real from real.
  const auto floor = eval::image_quality(net(), sample_images(100, 64).images,
                                         eval::real_feature_stats(net(), real.narrow(0, 0, 64)));
  EXPECT_GT(a.frechet_distance, 2 * floor.frechet_distance);
}

TEST_F(EvalTest, ProbeBeatsChanceOnATrainedTinyModel) {
  const auto data = dir_.file("train.mat");
  // A short real training run: 600 images, conv_dim 8, 3 epochs.
  auto config = dcgan::test::tiny_config(
      std::string(DCGAN_TEST_DATA_DIR) + "/../../data/svhn_sample_32x32.mat", dir_.file("run"),
      /*epochs=*/3, /*batch_size=*/32, /*seed=*/1);
  config.limit = 600;
  config.conv_dim = 8;
  config.z_size = 16;
  config.print_every = 1000;
  dcgan::train::Trainer(config).run();
  auto discriminator =
      dcgan::train::load_discriminator(config.out_dir + "/checkpoints/last.pt", torch::kCPU);
  EXPECT_FALSE(discriminator->is_training());

  const auto train = sample_images(0, 600);
  const auto test = sample_images(2000, 400);
  const auto picked = eval::balanced_subset(train.labels, /*per_class=*/20, /*seed=*/2);
  ASSERT_EQ(picked.size(0), 200);
  const auto picked_labels = train.labels.index_select(0, picked);
  EXPECT_TRUE(torch::equal(torch::bincount(picked_labels), torch::full({10}, 20, torch::kInt64)));
  const auto train_images = train.images.index_select(0, picked);
  const auto features = eval::discriminator_features(discriminator, train_images);
  EXPECT_EQ(features.size(1), (8 + 16 + 32) * 16);
  const auto result =
      eval::linear_probe(features, picked_labels,
                         eval::discriminator_features(discriminator, test.images), test.labels, 2);
  EXPECT_LT(result.test_error, 0.8);  // chance: 0.9
  EXPECT_EQ(result.train_images, 200);
  // Shuffled labels must not beat chance by as much: the probe learns the labels, not the data.
  const auto shuffled = picked_labels.index_select(0, torch::randperm(200, torch::kInt64));
  const auto blind = eval::linear_probe(
      features, shuffled, eval::discriminator_features(discriminator, test.images), test.labels, 2);
  EXPECT_GT(blind.test_error, result.test_error);
}

// `dcgan evaluate` end to end on a tiny checkpoint: JSON output, then a label-less --train-data
// refused in one line with exit code 2.
TEST_F(EvalTest, EvaluateCommandReportsJsonAndRefusesLabelLessTraining) {
  const auto train_mat = dir_.file("train.mat");
  const auto test_mat = dir_.file("test.mat");
  torch::manual_seed(6);
  dcgan::test::write_svhn(train_mat, 60);
  dcgan::test::write_svhn(test_mat, 30);
  auto config = dcgan::test::tiny_config(train_mat, dir_.file("run"), /*epochs=*/1,
                                         /*batch_size=*/30, /*seed=*/1);
  dcgan::train::Trainer(config).run();
  const auto checkpoint = config.out_dir + "/checkpoints/last.pt";
  auto run = [&](const std::string& args, std::string* output, bool stdout_only = false) {
    return run_evaluate(checkpoint, "--data " + test_mat + " " + args, output, stdout_only);
  };
  std::string out;
  ASSERT_EQ(run("--train-data " + train_mat + " --feature-net " + dir_.file("net.pt") +
                    " --count 40 --probe-labels 20 --threads 1 --json",
                &out),
            0)
      << out;
  const auto report = nlohmann::json::parse(out.substr(out.find('{')));
  EXPECT_EQ(report["sample_quality"]["generated"], 40);
  EXPECT_TRUE(report["feature_net"]["trained_now"].get<bool>());
  EXPECT_TRUE(report["probe"].contains("random_discriminator")) << out;
  EXPECT_TRUE(std::filesystem::exists(dir_.file("net.pt")));

  const auto photos = dir_.file("photos");
  std::filesystem::create_directory(photos);
  for (int i = 0; i < 3; ++i)
    dcgan::image::write_png(photos + "/" + std::to_string(i) + ".png",
                            torch::full({3, 32, 32}, 40 * i, torch::kUInt8));
  EXPECT_EQ(run("--train-data " + photos + " --feature-net " + dir_.file("other.pt"), &out), 2);
  EXPECT_NE(out.find("no digit labels"), std::string::npos) << out;
  EXPECT_EQ(dcgan::test::lines_of(dcgan::test::without_onednn_warning(out)).size(), 1u) << out;
  // With the feature net already trained, (a) still works and (b) says why it is skipped. Its
  // warning goes to stderr: stdout is the JSON alone, for jq and scripts.
  EXPECT_EQ(
      run("--train-data " + photos + " --feature-net " + dir_.file("net.pt") + " --count 20 --json",
          &out, /*stdout_only=*/true),
      0)
      << out;
  ASSERT_TRUE(nlohmann::json::accept(out)) << out;
  EXPECT_NE(nlohmann::json::parse(out)["probe"]["skipped"].get<std::string>().find("no digit labels"),
            std::string::npos)
      << out;
}

// A 64x64 run is measured against 64x64 real images (the feature net reads them area-averaged to
// 32x32); real images of another size are refused, naming both sizes.
TEST_F(EvalTest, EvaluatesA64By64RunAndRefusesOtherSizes) {
  const auto train64 = dir_.file("train64.mat"), test64 = dir_.file("test64.mat");
  const auto test32 = dir_.file("test32.mat");
  torch::manual_seed(7);
  dcgan::test::write_svhn(train64, 60, MAT_FT_MAT5, MAT_COMPRESSION_ZLIB, /*side=*/64);
  dcgan::test::write_svhn(test64, 30, MAT_FT_MAT5, MAT_COMPRESSION_ZLIB, /*side=*/64);
  dcgan::test::write_svhn(test32, 30);
  auto config = dcgan::test::tiny_config(train64, dir_.file("run64"), /*epochs=*/1,
                                         /*batch_size=*/30, /*seed=*/1);
  config.image_size = 64;
  config.arch = "pytorch-examples";
  config.conv_dim = 2;
  dcgan::train::Trainer(config).run();
  const auto checkpoint = config.out_dir + "/checkpoints/last.pt";
  auto run = [&](const std::string& args, std::string* output) {
    return run_evaluate(checkpoint, args, output);
  };
  std::string out;
  ASSERT_EQ(run("--data " + test64 + " --train-data " + train64 + " --feature-net " +
                    dir_.file("net64.pt") + " --count 30 --probe-labels 20 --threads 1 --json",
                &out),
            0)
      << out;
  const auto report = nlohmann::json::parse(out.substr(out.find('{')));
  EXPECT_EQ(report["sample_quality"]["generated"], 30);
  EXPECT_GT(report["sample_quality"]["frechet_distance"].get<double>(), 0.0);
  EXPECT_TRUE(report["probe"].contains("random_discriminator")) << out;
  EXPECT_EQ(run("--data " + test32 + " --feature-net " + dir_.file("net64.pt"), &out), 2);
  EXPECT_NE(out.find(test32 + ": images are 32x32, but " + checkpoint + " makes 64x64"),
            std::string::npos)
      << out;
  EXPECT_EQ(dcgan::test::lines_of(dcgan::test::without_onednn_warning(out)).size(), 1u) << out;
}

}  // namespace

namespace {

// `train --eval-every`: quality.csv gets a row per measured epoch, summary.json the newest value,
// and the run's random numbers are those of a run that does not measure.
TEST_F(EvalTest, EvalEveryWritesQualityAndLeavesTrainingAsItWas) {
  const auto train_mat = dir_.file("train.mat"), test_mat = dir_.file("test.mat");
  torch::manual_seed(4);
  dcgan::test::write_svhn(train_mat, 64);
  dcgan::test::write_svhn(test_mat, 32);
  auto tiny = [&](const std::string& out) {
    return dcgan::test::tiny_config(train_mat, dir_.file(out), /*epochs=*/2, /*batch_size=*/32,
                                    /*seed=*/3);
  };
  dcgan::train::Trainer plain(tiny("plain"));
  plain.run();
  auto config = tiny("measured");
  config.eval_every = 1;
  config.eval_data = test_mat;
  config.eval_count = 16;
  config.feature_net = dir_.file("net.pt");
  dcgan::train::Trainer measured(config);
  ASSERT_EQ(measured.run().status, dcgan::train::TrainOutcome::Status::kCompleted);

  const auto csv = dcgan::test::read_bytes(config.out_dir + "/quality.csv");
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "epoch,frechet_distance,confident_share,step,class_accuracy");
  for (int epoch = 1; epoch <= 2; ++epoch) {
    ASSERT_TRUE(std::getline(lines, line)) << "no row for epoch " << epoch;
    EXPECT_EQ(line.substr(0, 2), std::to_string(epoch) + ",");
    EXPECT_GT(std::stod(line.substr(2)), 0.0) << line;
    EXPECT_EQ(line.back(), ',') << "an unconditional run has no class accuracy: " << line;
  }
  EXPECT_TRUE(std::filesystem::exists(config.feature_net));
  const auto summary =
      nlohmann::json::parse(dcgan::test::read_bytes(config.out_dir + "/summary.json"));
  EXPECT_EQ(summary.at("quality").at("epoch"), 2);
  EXPECT_TRUE(torch::equal(plain.gan().generator->fc->weight, measured.gan().generator->fc->weight));
  // The same with the feature net now on disk: loading it (building the net first) must not draw
  // from the run's random numbers either.
  config.out_dir = dir_.file("measured_again");
  dcgan::train::Trainer measured_again(config);
  ASSERT_EQ(measured_again.run().status, dcgan::train::TrainOutcome::Status::kCompleted);
  EXPECT_TRUE(
      torch::equal(plain.gan().generator->fc->weight, measured_again.gan().generator->fc->weight));
}


// A conditional run's --eval-every also asks for each class: quality.csv's class_accuracy, the
// curve in quality.png's data and the run report, and summary.json's per-class numbers all hold
// the share of the images asked for as class k that the feature net reads as k.
TEST_F(EvalTest, EvalEveryRecordsClassAccuracyOfAConditionalRun) {
  const auto train_mat = dir_.file("train.mat"), test_mat = dir_.file("test.mat");
  torch::manual_seed(5);
  dcgan::test::write_svhn(train_mat, 64);
  dcgan::test::write_svhn(test_mat, 40);
  auto config = dcgan::test::tiny_config(train_mat, dir_.file("acgan"), /*epochs=*/2,
                                         /*batch_size=*/32, /*seed=*/3);
  config.conditional = "acgan";
  config.eval_every = 1;
  config.eval_data = test_mat;
  config.eval_count = 20;
  config.feature_net = dir_.file("net.pt");
  dcgan::train::Trainer trainer(config);
  ASSERT_EQ(trainer.run().status, dcgan::train::TrainOutcome::Status::kCompleted);

  // The last measurement, redone from the saved generator with the same seed and count.
  auto net = dcgan::eval::load_feature_net(config.feature_net);
  const auto test = dcgan::data::load_svhn_mat(test_mat);
  auto generator = dcgan::train::sampling_generator(trainer.gan());
  const auto expected = dcgan::eval::class_quality(generator, net, test, 20, 3);
  double expected_mean = 0;
  for (const double a : expected.accuracy) expected_mean += a / 10;

  const auto summary =
      nlohmann::json::parse(dcgan::test::read_bytes(config.out_dir + "/summary.json"));
  const auto& classes = summary.at("quality").at("classes");
  EXPECT_DOUBLE_EQ(classes.at("mean_accuracy").get<double>(), expected_mean);
  EXPECT_DOUBLE_EQ(classes.at("accuracy").at("7").get<double>(), expected.accuracy[7]);
  EXPECT_EQ(classes.at("images_per_class"), 2);

  const auto run = dcgan::report::read_run(config.out_dir);
  ASSERT_EQ(run.quality.size(), 2u);
  ASSERT_TRUE(run.quality.back().has_class_accuracy());
  EXPECT_NEAR(run.quality.back().class_accuracy, expected_mean, 1e-6);  // 6 digits in the CSV
  const auto page = dcgan::report::run_page(run, dcgan::report::RunStatus::kDone, 0);
  EXPECT_NE(page.find("Class accuracy (higher is better)"), std::string::npos);
  EXPECT_NE(page.find("% read as the class asked for (epoch 2)"), std::string::npos);
}

}  // namespace
