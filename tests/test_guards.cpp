// Guards seen firing: each check that protects a result or a file gets its fault planted here, and
// the test asserts the guard's exact reaction (its message, what it turns off). docs/TESTING.md
// lists every guard with its fault and test; scripts/mutation_test.sh weakens each one.
#include <ATen/Context.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "dcgan/data/folder_cache.h"
#include "dcgan/train/checkpoint.h"
#include "dcgan/train/cpu_convolution_check.h"
#include "dcgan/util/archive_values.h"
#include "dcgan/train/gan.h"
#include "folder_cache_bytes.h"
#include "test_helpers.h"

namespace {

using dcgan::test::expect_error;
using dcgan::test::TempDir;
using dcgan::test::write_bytes;
using dcgan::train::check_cpu_convolutions;
using dcgan::train::kCpuConvolutionTolerance;
using dcgan::train::PlantedConvolutionFault;

// --- the start-up float32-vs-float64 convolution check -----------------------------------------

PlantedConvolutionFault planted_error(double times_tolerance) {
  PlantedConvolutionFault fault;
  fault.relative_error = times_tolerance * kCpuConvolutionTolerance;
  return fault;
}

// The correct convolutions of this LibTorch (oneDNN off when the test binary's start-up found it
// wrong) pass, and an error planted in one output element fails the check exactly when it is above
// the tolerance: float32's own rounding (about 1e-6 of the scale) is far inside the 1% margin.
TEST(CpuConvolutionGuard, FiresJustAboveTheToleranceAndNotJustBelow) {
  const auto correct = check_cpu_convolutions();
  EXPECT_TRUE(correct.passed) << correct.worst_case << ": " << correct.worst_error;

  const auto below = check_cpu_convolutions(planted_error(0.99));
  EXPECT_TRUE(below.passed) << below.worst_case << ": " << below.worst_error;
  const auto above = check_cpu_convolutions(planted_error(1.01));
  EXPECT_FALSE(above.passed);
  // The planted element is the worst one, and it is named.
  EXPECT_EQ(above.worst_case, "conv 2->24 3x3 on 16x16, output");
  EXPECT_GT(above.worst_error, below.worst_error);
}

TEST(CpuConvolutionGuard, ANaNFailsTheCheck) {
  PlantedConvolutionFault fault;
  fault.nan = true;
  const auto check = check_cpu_convolutions(fault);
  EXPECT_FALSE(check.passed);
  EXPECT_EQ(check.worst_error, std::numeric_limits<double>::infinity());
  EXPECT_EQ(check.worst_case, "conv 2->24 3x3 on 16x16, output");
}

// A failed check turns oneDNN off for the process and says so; a passed one changes nothing.
TEST(CpuConvolutionGuard, AFailedCheckTurnsOneDnnOffWithItsWarning) {
  auto& context = at::globalContext();
  const bool was_enabled = context.userEnabledMkldnn();
  context.setUserEnabledMkldnn(true);

  EXPECT_EQ(dcgan::train::act_on_cpu_convolution_check(check_cpu_convolutions()), std::nullopt);
  EXPECT_TRUE(context.userEnabledMkldnn()) << "a passed check turned oneDNN off";

  const auto warning =
      dcgan::train::act_on_cpu_convolution_check(check_cpu_convolutions(planted_error(2)));
  const bool enabled_after = context.userEnabledMkldnn();
  context.setUserEnabledMkldnn(was_enabled);
  EXPECT_FALSE(enabled_after) << "a failed check left oneDNN on";
  ASSERT_TRUE(warning.has_value());
  EXPECT_EQ(warning->rfind("this LibTorch's oneDNN computes some float32 CPU convolutions wrongly "
                           "(error ",
                           0),
            0u)
      << *warning;
  EXPECT_NE(warning->find("in conv 2->24 3x3 on 16x16, output, against float64); oneDNN is off "
                          "for this run"),
            std::string::npos)
      << *warning;
  EXPECT_EQ(warning->find('\n'), std::string::npos);
}

// --- the checkpoint's format and integrity ------------------------------------------------------

using dcgan::int_tensor;
using dcgan::string_tensor;

// A generator-only checkpoint like the ones `dcgan import` writes, with one field changed or left
// out: "conv_dim=0" sets it, "-conv_dim" leaves it out.
std::string planted_checkpoint(const std::string& fault) {
  torch::serialize::OutputArchive archive, generator_archive;
  std::vector<std::pair<std::string, torch::Tensor>> fields = {
      {"format_version", int_tensor(dcgan::train::kCheckpointFormatVersion)},
      {"conv_dim", int_tensor(4)},
      {"z_size", int_tensor(8)},
      {"image_size", int_tensor(32)},
      {"epochs_done", int_tensor(1)},
      {"arch", string_tensor("notebook")}};
  for (auto& [name, value] : fields) {
    if (fault == "-" + name) continue;
    if (fault.rfind(name + "=", 0) == 0) {
      const auto text = fault.substr(name.size() + 1);
      value = name == "arch" ? string_tensor(text) : int_tensor(std::stoll(text));
    }
    archive.write(name, value);
  }
  if (fault != "-generator") {
    dcgan::models::Generator generator(dcgan::models::GeneratorOptions(8, 4));
    generator->save(generator_archive);
    archive.write("generator", generator_archive);
  }
  std::ostringstream payload;
  archive.save_to(payload);
  return dcgan::train::seal_checkpoint(payload.str());
}

struct CheckpointFault {
  const char* fault;
  const char* message;  // after "PATH: "
};

class CheckpointGuard : public ::testing::TestWithParam<CheckpointFault> {};

TEST_P(CheckpointGuard, RefusesThePlantedFaultInOneLine) {
  TempDir tmp;
  const auto path = tmp.file("planted.pt");
  write_bytes(path, planted_checkpoint(GetParam().fault));
  const auto message = expect_error(
      [&] { dcgan::train::load_generator(path, torch::kCPU); }, {path + ": " + GetParam().message});
  EXPECT_EQ(message.rfind(path, 0), 0u) << message;
}

// The first case is the control: the crafted file loads when nothing is planted.
TEST(CheckpointGuard, ThePlantedCheckpointLoadsWithoutAFault) {
  TempDir tmp;
  write_bytes(tmp.file("whole.pt"), planted_checkpoint(""));
  EXPECT_EQ(dcgan::train::load_generator(tmp.file("whole.pt"), torch::kCPU)->options().conv_dim(),
            4);
}

INSTANTIATE_TEST_SUITE_P(
    Planted, CheckpointGuard,
    ::testing::Values(
        CheckpointFault{"-conv_dim", "not a dcgan checkpoint (no model sizes)"},
        CheckpointFault{"conv_dim=0", "checkpoint has invalid model sizes"},
        CheckpointFault{"z_size=-3", "checkpoint has invalid model sizes"},
        CheckpointFault{"image_size=48", "checkpoint has invalid model sizes"},
        CheckpointFault{"arch=resnet", "checkpoint has an unknown architecture 'resnet'"},
        CheckpointFault{"-generator", "checkpoint's generator is incomplete or corrupt ("}),
    [](const auto& info) {
      std::string name = info.param.fault;
      for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return name;
    });

// The envelope: a checksum that does not match its payload, and an envelope without a version.
TEST(CheckpointGuard, AChecksumMismatchIsCorruptAndAMissingVersionIsNotACheckpoint) {
  TempDir tmp;
  dcgan::models::Generator generator(dcgan::models::GeneratorOptions(8, 4));
  torch::serialize::OutputArchive payload_archive, g;
  generator->save(g);
  payload_archive.write("generator", g);
  std::ostringstream payload;
  payload_archive.save_to(payload);
  const auto sealed = [&](bool with_version, int64_t checksum_change) {
    torch::serialize::OutputArchive envelope;
    if (with_version)
      envelope.write("format_version", int_tensor(dcgan::train::kCheckpointFormatVersion));
    envelope.write("payload", string_tensor(payload.str()));
    // The checksum seal_checkpoint writes, read back from its envelope.
    torch::serialize::InputArchive reference;
    const auto reference_bytes = dcgan::train::seal_checkpoint(payload.str());
    reference.load_from(reference_bytes.data(), reference_bytes.size());
    torch::Tensor checksum;
    reference.read("payload_checksum", checksum);
    envelope.write("payload_checksum", checksum + checksum_change);
    std::ostringstream bytes;
    envelope.save_to(bytes);
    return bytes.str();
  };
  write_bytes(tmp.file("flipped.pt"), sealed(true, 1));
  expect_error([&] { dcgan::train::read_checkpoint_info(tmp.file("flipped.pt")); },
               {tmp.file("flipped.pt") + ": checkpoint is corrupt (checksum mismatch)"});
  write_bytes(tmp.file("unversioned.pt"), sealed(false, 0));
  expect_error([&] { dcgan::train::read_checkpoint_info(tmp.file("unversioned.pt")); },
               {tmp.file("unversioned.pt") + ": ", "not a dcgan checkpoint"});
}

// Resume: a checkpoint of another image size, and one whose fixed z is not of the model's z size.
TEST(CheckpointGuard, ResumeRefusesAnotherArchitectureAndAFixedZOfAnotherSize) {
  TempDir tmp;
  dcgan::train::GanOptions options;
  options.conv_dim = 4;
  options.z_size = 8;
  dcgan::train::Gan gan(options, torch::kCPU);
  dcgan::train::TrainingProgress progress;
  progress.fixed_z = torch::zeros({4, 8});
  write_bytes(tmp.file("good.pt"), dcgan::train::serialize_checkpoint(gan, progress));
  EXPECT_EQ(dcgan::train::load_checkpoint(tmp.file("good.pt"), gan).fixed_z.size(1), 8);

  auto wider = options;
  wider.image_size = 64;
  dcgan::train::Gan other(wider, torch::kCPU);
  expect_error([&] { dcgan::train::load_checkpoint(tmp.file("good.pt"), other); },
               {tmp.file("good.pt") + ": checkpoint is of another architecture (notebook, 32x32, "
                                      "conv_dim 4, z_size 8; expected notebook, 64x64, conv_dim 4, "
                                      "z_size 8)"});

  progress.fixed_z = torch::zeros({4, 7});
  write_bytes(tmp.file("z7.pt"), dcgan::train::serialize_checkpoint(gan, progress));
  expect_error([&] { dcgan::train::load_checkpoint(tmp.file("z7.pt"), gan); },
               {tmp.file("z7.pt") + ": checkpoint's fixed_z does not match z_size 8"});
}

// --- the image-folder cache's keys and checksums --------------------------------------------------

// A cache is used only for the listing and size it was made from: each part of its key, changed,
// refuses it (it is then rebuilt) with the reason a user is shown.
TEST(FolderCacheGuard, EachChangeOfItsKeyRefusesTheCacheAndSaysWhy) {
  using dcgan::data::FolderListing;
  TempDir tmp;
  torch::manual_seed(31);
  FolderListing listing;
  listing.root = "/guards/pets";
  listing.classes = {"cat", "dog"};
  listing.files = {{"cat/a.png", 10, 100, 0}, {"cat/b.png", 20, 200, 0}, {"dog/c.png", 30, 300, 1}};
  const std::string valid = dcgan::test::valid_cache(tmp, listing);
  auto read = [&](const std::string& bytes, const FolderListing& now, int64_t side) {
    write_bytes(tmp.file("planted.u8cache"), bytes);
    dcgan::data::DecodeOutcome outcome;
    std::string why;
    const auto set =
        dcgan::data::read_folder_cache(tmp.file("planted.u8cache"), now, side, outcome, why);
    EXPECT_EQ(set.has_value(), why.empty()) << why;
    return why;
  };
  ASSERT_EQ(read(valid, listing, 8), "") << "the control: an unchanged listing reads the cache";

  auto changed = [&](auto&& change) {
    auto now = listing;
    change(now);
    return read(valid, now, 8);
  };
  EXPECT_EQ(changed([](FolderListing& l) { l.files[1].mtime_ns += 1; }),
            "0 files added, 0 removed, 1 changed (cat/b.png changed)");
  EXPECT_EQ(changed([](FolderListing& l) { l.files[2].size += 1; }),
            "0 files added, 0 removed, 1 changed (dog/c.png changed)");
  EXPECT_EQ(changed([](FolderListing& l) { l.files.push_back({"dog/d.png", 40, 400, 1}); }),
            "1 files added, 0 removed, 0 changed (dog/d.png added)");
  EXPECT_EQ(changed([](FolderListing& l) { l.files.erase(l.files.begin() + 1); }),
            "0 files added, 1 removed, 0 changed (cat/b.png removed)");
  EXPECT_EQ(changed([](FolderListing& l) { l.classes[1] = "dogs"; }),
            "the class subfolders changed");
  EXPECT_EQ(read(valid, listing, 16), "it holds 8px images, 16px wanted");

  // Made by another version of the decoder (the version in the header and the key, CRCs right).
  auto other_decoder = valid;
  dcgan::test::put_u64(other_decoder, dcgan::test::kCacheManifestAt,
                       dcgan::test::get_u64(valid, dcgan::test::kCacheManifestAt) + 1);
  other_decoder[dcgan::test::kCacheDecoderVersionAt] += 1;
  dcgan::test::fix_crcs(other_decoder);
  EXPECT_EQ(read(other_decoder, listing, 8), "it was made by another version of the decoder");

  // Each part's checksum: one flipped bit in the pixels, the manifest, the header.
  auto flipped = [&](size_t at) {
    auto bytes = valid;
    bytes[at] = static_cast<char>(bytes[at] ^ 0x04);
    return read(bytes, listing, 8);
  };
  EXPECT_EQ(flipped(valid.size() - 1), "its pixels are corrupt (checksum mismatch)");
  EXPECT_EQ(flipped(dcgan::test::kCacheManifestAt + 20), "its manifest is corrupt");
  EXPECT_EQ(flipped(dcgan::test::kCacheSideAt + 7), "its header is corrupt");
}

// --- the G-EMA BatchNorm recalibration ---------------------------------------------------------

// After recalibration, every BatchNorm of the averaged generator holds exactly the batch statistics
// of its 2,048 fixed z (8 batches of 256 from a generator seeded 0x5EED, in training mode): the
// mean of the batch means and of the batch variances (unbiased), recomputed here from the layers'
// inputs, for both archs (uniform and normal z).
TEST(GEmaRecalibrationGuard, RunningStatisticsAreTheBatchStatisticsOfTheFixedZ) {
  for (const auto arch : {dcgan::models::Arch::kNotebook, dcgan::models::Arch::kPytorchExamples}) {
    SCOPED_TRACE(dcgan::models::to_string(arch));
    torch::manual_seed(5);
    dcgan::train::GanOptions options;
    options.conv_dim = 4;
    options.z_size = 8;
    options.arch = arch;
    options.g_ema_decay = 0.5;
    dcgan::train::Gan gan(options, torch::kCPU);
    {
      torch::NoGradGuard no_grad;
      for (auto& p : gan.g_ema->parameters()) p.mul_(1.5);  // weights G's statistics do not fit
    }
    dcgan::train::recalibrate_g_ema(gan);
    auto& g = gan.g_ema;
    std::vector<std::pair<std::string, torch::nn::BatchNorm2d>> norms;
    for (size_t i = 0; i < g->bns.size(); ++i)
      if (!g->bns[i].is_empty()) norms.emplace_back("t_conv" + std::to_string(i), g->bns[i]);
    ASSERT_EQ(norms.size(), arch == dcgan::models::Arch::kNotebook ? 2u : 3u);
    std::vector<torch::Tensor> running_mean, running_var, mean_sum, var_sum;
    for (auto& [layer, norm] : norms) {
      running_mean.push_back(norm->running_mean.clone());
      running_var.push_back(norm->running_var.clone());
      mean_sum.push_back(torch::zeros_like(norm->running_mean));
      var_sum.push_back(torch::zeros_like(norm->running_var));
    }
    auto z_source = at::make_generator<at::CPUGeneratorImpl>(0x5EED);
    torch::NoGradGuard no_grad;
    g->train();
    for (int batch = 0; batch < 8; ++batch) {
      const auto z = arch == dcgan::models::Arch::kNotebook
                         ? torch::rand({256, 8}, z_source) * 2 - 1
                         : torch::randn({256, 8}, z_source);
      g->forward(z, [&](const std::string& layer, const torch::Tensor& x) {
        for (size_t k = 0; k < norms.size(); ++k) {
          if (norms[k].first != layer) continue;
          mean_sum[k] += x.mean({0, 2, 3});
          var_sum[k] += x.var({0, 2, 3}, /*unbiased=*/true);
        }
      });
    }
    for (size_t k = 0; k < norms.size(); ++k) {
      SCOPED_TRACE(norms[k].first);
      EXPECT_TRUE(torch::allclose(running_mean[k], mean_sum[k] / 8, 1e-4, 1e-5))
          << running_mean[k] << mean_sum[k] / 8;
      EXPECT_TRUE(torch::allclose(running_var[k], var_sum[k] / 8, 1e-4, 1e-5))
          << running_var[k] << var_sum[k] / 8;
    }
  }
}

}  // namespace
