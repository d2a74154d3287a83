// The port checked against the notebook, number for number (llm.c's test_gpt2 style): the
// notebook's own classes in Python (tests/notebook_reference.py, run by CTest as a fixture) write
// their state_dicts, inputs and results; here dcgan imports them and must compute the same. The
// other way round, models dcgan trained are exported and the Python script checks them. Also the
// import/export commands and their one-line errors.
#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <type_traits>

#include "dcgan/data/scale.h"
#include "dcgan/interop/state_dict_layout.h"
#include "dcgan/interop/torchscript.h"
#include "dcgan/interop/transfer.h"
#include "dcgan/serialization/torch_file.h"
#include "dcgan/train/checkpoint.h"
#include "dcgan/train/config.h"
#include "dcgan/train/gan.h"
#include "dcgan/util/compat.h"
#include "dcgan/util/errors.h"
#include "dcgan/util/files.h"
#include "test_helpers.h"

namespace fs = std::filesystem;
using dcgan::InputError;
using dcgan::serialization::TensorDict;
using dcgan::test::TempDir;

namespace {

// Made by the notebook_reference and pytorch_examples_reference fixtures (tests/CMakeLists.txt).
std::string reference_in(const std::string& dir, const std::string& script,
                         const std::string& name) {
  const std::string path = dir + "/" + name;
  if (!fs::exists(path)) {
    ADD_FAILURE() << path << " is missing: run through ctest, or first run " << DCGAN_TEST_PYTHON
                  << " " << script << " generate " << dir;
  }
  return path;
}

std::string reference(const std::string& name) {
  return reference_in(DCGAN_NOTEBOOK_REFERENCE_DIR, DCGAN_NOTEBOOK_SCRIPT, name);
}

std::string examples_reference(const std::string& name) {
  return reference_in(DCGAN_PYTORCH_EXAMPLES_REFERENCE_DIR, DCGAN_PYTORCH_EXAMPLES_SCRIPT, name);
}

std::map<std::string, torch::Tensor> expected(const std::string& path) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, tensor] : dcgan::serialization::read_state_dict(path)) out[name] = tensor;
  return out;
}

std::map<std::string, torch::Tensor> expected() {
  return expected(reference("expected.pt"));
}

// Float rounding differs between the libraries' kernels (and our sub-pixel transposed
// convolutions); a wrong formula differs by orders of magnitude more than this.
void expect_close(const std::string& name, const torch::Tensor& actual,
                  const torch::Tensor& expected, double rtol = 2e-4) {
  ASSERT_TRUE(expected.defined()) << name << ": no such tensor in expected.pt";
  ASSERT_TRUE(actual.defined()) << name << ": dcgan has no such tensor";
  ASSERT_EQ(actual.sizes(), expected.sizes()) << name;
  const auto a = actual.detach().cpu().to(torch::kFloat64);
  const auto b = expected.to(torch::kFloat64);
  const double diff = a.numel() ? (a - b).abs().max().item<double>() : 0.0;
  const double tolerance = b.numel() ? rtol * b.abs().max().item<double>() + 1e-9 : 0.0;
  EXPECT_LE(diff, tolerance) << name << ": largest difference " << diff << " (tolerance "
                             << tolerance << ")";
}

dcgan::models::Generator notebook_generator() {
  const auto state = dcgan::serialization::read_state_dict(reference("G.pt"));
  dcgan::models::Generator generator(dcgan::interop::generator_options(state, "G.pt"));
  dcgan::interop::load_pytorch_state_dict(generator, state, "G.pt");
  return generator;
}

dcgan::models::Discriminator notebook_discriminator() {
  const auto state = dcgan::serialization::read_state_dict(reference("D.pt"));
  dcgan::models::Discriminator discriminator(dcgan::interop::discriminator_options(state, "D.pt"));
  dcgan::interop::load_pytorch_state_dict(discriminator, state, "D.pt");
  return discriminator;
}

struct CommandResult {
  int code = -1;
  std::string output;
};

// Runs a shell command, stdout and stderr together.
CommandResult run(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

CommandResult dcgan_cli(const std::string& args) {
  return run(std::string(DCGAN_BINARY) + " " + args);
}

// A network's state after one training step against the reference's "step.NET.KEY" (weights and
// buffers), "step.grad.NET.KEY" and "step.adam.NET.KEY.exp_avg(_sq)"; `buffers` false skips the
// BatchNorm statistics.
void expect_step_state(const std::map<std::string, torch::Tensor>& e, const std::string& net,
                       const TensorDict& state, torch::optim::Adam& adam, bool buffers = true) {
  int parameters = 0;
  for (const auto& [key, tensor] : state) {
    if (!tensor.requires_grad()) {  // a buffer
      if (buffers) expect_close("step." + net + "." + key, tensor, e.at("step." + net + "." + key));
      continue;
    }
    ++parameters;
    expect_close("step." + net + "." + key, tensor, e.at("step." + net + "." + key));
    expect_close("step.grad." + net + "." + key, tensor.grad(),
                 e.at("step.grad." + net + "." + key));
    const auto& moments = dcgan::compat::adam_state(adam, tensor);
    const auto prefix = "step.adam." + net + "." + key;
    expect_close(prefix + ".exp_avg", moments.exp_avg(), e.at(prefix + ".exp_avg"));
    expect_close(prefix + ".exp_avg_sq", moments.exp_avg_sq(), e.at(prefix + ".exp_avg_sq"));
  }
  EXPECT_GT(parameters, 0) << net;
}

void expect_input_error(const std::function<void()>& action, const std::string& part) {
  try {
    action();
    ADD_FAILURE() << "no error; expected one containing: " << part;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

// exported_G.pt / exported_D.pt (state_dicts) and exported_G.ts / exported_D.ts (TorchScript) in
// `dir`, for the reference scripts' `check`.
void export_both_formats(const std::string& checkpoint, const TempDir& dir) {
  for (const std::string net : {"generator", "discriminator"}) {
    const std::string stem = dir.file(net == "generator" ? "exported_G" : "exported_D");
    dcgan::interop::export_model({checkpoint, stem + ".pt", net});
    dcgan::interop::export_model({checkpoint, stem + ".ts", net, "torchscript"});
  }
}

// A run folder's config.json for a tiny run on the bundled test data, so that `train --resume DIR`
// gets as far as reading DIR/checkpoints/last.pt.
void write_run_config(const std::string& run_dir) {
  dcgan::train::TrainConfig config;
  config.conv_dim = 4;
  config.z_size = 8;
  config.batch_size = 4;
  config.data = {dcgan::test::data_path("tiny_v5_compressed.mat")};
  config.out_dir = run_dir;
  fs::create_directories(run_dir + "/checkpoints");
  dcgan::write_file_atomically(run_dir + "/config.json", dcgan::train::to_json(config).dump(2));
}

// A checkpoint of a tiny GAN two training steps in (so BatchNorm's running statistics are its own).
std::string tiny_checkpoint(const TempDir& dir, dcgan::train::GanOptions options,
                            const std::string& name = "last.pt") {
  torch::manual_seed(9);
  dcgan::train::Gan gan(options, torch::kCPU);
  const auto images =
      torch::randint(0, 256, {6, 3, options.image_size, options.image_size}, torch::kUInt8);
  for (int step = 0; step < 2; ++step) dcgan::train::train_step(gan, images, false);
  dcgan::train::TrainingProgress progress;
  progress.fixed_z = dcgan::train::sample_z(options, 4, torch::kCPU);
  progress.config_json = "{}";
  const auto checkpoint = dir.file(name);
  dcgan::write_file_atomically(checkpoint, dcgan::train::serialize_checkpoint(gan, progress));
  return checkpoint;
}

}  // namespace

TEST(NotebookParity, ForwardInTrainAndEvalMode) {
  const auto e = expected();
  const auto real = dcgan::data::scale(e.at("images"));
  torch::NoGradGuard no_grad;
  for (const std::string mode : {"train", "eval"}) {
    auto generator = notebook_generator();
    auto discriminator = notebook_discriminator();
    generator->train(mode == "train");
    discriminator->train(mode == "train");
    // On the CPU the generator runs its transposed convolutions as sub-pixel convolutions.
    expect_close("g_" + mode + ".out", generator(e.at("z")), e.at("g_" + mode + ".out"));
    expect_close("d_" + mode + ".out", discriminator(real), e.at("d_" + mode + ".out"));
    if (mode != "train") continue;
    // BatchNorm's running statistics after one batch
    for (const auto& [key, tensor] : dcgan::interop::pytorch_state_dict(generator))
      expect_close("g_train." + key, tensor, e.at("g_train." + key));
    for (const auto& [key, tensor] : dcgan::interop::pytorch_state_dict(discriminator))
      expect_close("d_train." + key, tensor, e.at("d_train." + key));
  }
}

// The same generator through LibTorch's own ConvTranspose2d layers, the path CUDA takes.
TEST(NotebookParity, GeneratorWithPlainTransposedConvolutions) {
  const auto e = expected();
  auto g = notebook_generator();
  g->eval();
  torch::NoGradGuard no_grad;
  const int64_t c = g->options().conv_dim();
  auto x = g->fc(e.at("z")).view({-1, 4 * c, 4, 4});
  x = torch::relu(g->bn(1)(g->t_conv(1)(x)));
  x = torch::relu(g->bn(2)(g->t_conv(2)(x)));
  expect_close("g_eval.out (ConvTranspose2d)", torch::tanh(g->t_conv(3)(x)), e.at("g_eval.out"));
}

TEST(NotebookParity, OneTrainingStep) {
  const auto e = expected();
  auto generator = notebook_generator();
  dcgan::train::GanOptions options;
  options.conv_dim = generator->options().conv_dim();
  options.z_size = generator->options().z_size();
  dcgan::train::Gan gan(options, torch::kCPU);
  dcgan::interop::load_pytorch_state_dict(
      gan.generator, dcgan::serialization::read_state_dict(reference("G.pt")), "G.pt");
  dcgan::interop::load_pytorch_state_dict(
      gan.discriminator, dcgan::serialization::read_state_dict(reference("D.pt")), "D.pt");

  const auto losses = dcgan::train::train_step(gan, e.at("images"), e.at("z_for_d"),
                                               e.at("z_for_g"), /*smooth_labels=*/false);
  expect_close("step.d_loss", losses.d_loss, e.at("step.d_loss"));
  expect_close("step.g_loss", losses.g_loss, e.at("step.g_loss"));

  // Weights and BatchNorm buffers after the step; gradients; Adam's moments. D's first moments
  // are half its d_loss gradients, so they check that backward pass too.
  expect_step_state(e, "G", dcgan::interop::pytorch_state_dict(gan.generator), *gan.g_optimizer);
  expect_step_state(e, "D", dcgan::interop::pytorch_state_dict(gan.discriminator),
                    *gan.d_optimizer);
}

// The other way: a model trained by dcgan, exported, loaded by the notebook's classes in Python.
TEST(NotebookParity, ExportedModelsComputeTheSameInTheNotebook) {
  TempDir dir;
  torch::manual_seed(5);
  dcgan::train::GanOptions options;
  options.conv_dim = 4;
  options.z_size = 8;
  dcgan::train::Gan gan(options, torch::kCPU);
  const auto images = torch::randint(0, 256, {6, 3, 32, 32}, torch::kUInt8);
  for (int step = 0; step < 2; ++step) dcgan::train::train_step(gan, images, false);
  dcgan::train::TrainingProgress progress;
  progress.fixed_z = dcgan::train::sample_z(4, options.z_size, torch::kCPU);
  progress.config_json = "{}";
  const auto checkpoint = dir.file("last.pt");
  dcgan::write_file_atomically(checkpoint, dcgan::train::serialize_checkpoint(gan, progress));
  export_both_formats(checkpoint, dir);

  gan.generator->eval();
  gan.discriminator->eval();
  torch::NoGradGuard no_grad;
  const auto z = dcgan::train::sample_z(5, options.z_size, torch::kCPU);
  const TensorDict outputs = {{"z", z},
                              {"images", images},
                              {"g_eval.out", gan.generator(z)},
                              {"d_eval.out", gan.discriminator(dcgan::data::scale(images))}};
  dcgan::write_file_atomically(dir.file("cpp_outputs.pt"),
                               dcgan::serialization::state_dict_bytes(outputs));
  const auto result = run(std::string(DCGAN_TEST_PYTHON) + " " + DCGAN_NOTEBOOK_SCRIPT + " check " +
                          dir.path().string());
  EXPECT_EQ(result.code, 0) << result.output;
}

// pytorch/examples' DCGAN (tests/pytorch_examples_reference.py), at 64x64: their netG.pt (saved
// through nn.DataParallel) and netD.pt read into dcgan's --arch pytorch-examples networks compute
// what their classes compute, in both modes and over one iteration of main.py's loop.
dcgan::train::Gan examples_gan() {
  const auto g_state = dcgan::serialization::read_state_dict(examples_reference("netG.pt"));
  const auto d_state = dcgan::serialization::read_state_dict(examples_reference("netD.pt"));
  const auto g_options = dcgan::interop::generator_options(g_state, "netG.pt");
  const auto d_options = dcgan::interop::discriminator_options(d_state, "netD.pt");
  EXPECT_EQ(g_options.arch(), dcgan::models::Arch::kPytorchExamples);
  EXPECT_EQ(g_options.image_size(), 64);
  EXPECT_EQ(g_options.conv_dim(), 4);  // their ngf
  EXPECT_EQ(g_options.z_size(), 8);    // their nz
  EXPECT_EQ(d_options.arch(), dcgan::models::Arch::kPytorchExamples);
  EXPECT_EQ(d_options.image_size(), 64);
  EXPECT_EQ(d_options.conv_dim(), 4);  // their ndf
  dcgan::train::GanOptions options;
  options.conv_dim = 4;
  options.z_size = 8;
  options.image_size = 64;
  options.arch = dcgan::models::Arch::kPytorchExamples;
  dcgan::train::Gan gan(options, torch::kCPU);
  dcgan::interop::load_pytorch_state_dict(gan.generator, g_state, "netG.pt");
  dcgan::interop::load_pytorch_state_dict(gan.discriminator, d_state, "netD.pt");
  return gan;
}

TEST(PytorchExamplesParity, ForwardInTrainAndEvalMode) {
  const auto e = expected(examples_reference("expected.pt"));
  const auto real = dcgan::data::scale(e.at("images"));
  torch::NoGradGuard no_grad;
  for (const std::string mode : {"train", "eval"}) {
    auto gan = examples_gan();
    gan.generator->train(mode == "train");
    gan.discriminator->train(mode == "train");
    expect_close("g_" + mode + ".out", gan.generator(e.at("noise")), e.at("g_" + mode + ".out"));
    // Their D ends in a Sigmoid; ours returns the logit and leaves the sigmoid to the loss.
    expect_close("d_" + mode + ".prob", gan.discriminator->probability(real).flatten(),
                 e.at("d_" + mode + ".prob"));
    if (mode != "train") continue;
    for (const auto& [key, tensor] : dcgan::interop::pytorch_state_dict(gan.generator))
      expect_close("g_train." + key, tensor, e.at("g_train." + key));
    for (const auto& [key, tensor] : dcgan::interop::pytorch_state_dict(gan.discriminator))
      expect_close("d_train." + key, tensor, e.at("d_train." + key));
  }
}

TEST(PytorchExamplesParity, OneTrainingIteration) {
  const auto e = expected(examples_reference("expected.pt"));
  auto gan = examples_gan();
  // main.py's G step reuses the D step's fake images: the same noise for both steps here. BCELoss
  // on their Sigmoid is our BCE-with-logits on the logit.
  const auto noise = e.at("noise");
  const auto losses = dcgan::train::train_step(gan, e.at("images"), noise, noise, false);
  expect_close("step.d_loss", losses.d_loss, e.at("step.d_loss"));
  expect_close("step.g_loss", losses.g_loss, e.at("step.g_loss"));
  // G's BatchNorm statistics are left out: main.py runs G once per iteration, our step twice on
  // the same batch (once per step), so they move twice.
  expect_step_state(e, "G", dcgan::interop::pytorch_state_dict(gan.generator), *gan.g_optimizer,
                    /*buffers=*/false);
  expect_step_state(e, "D", dcgan::interop::pytorch_state_dict(gan.discriminator),
                    *gan.d_optimizer);
}

// The other way: networks dcgan trained at 64x64, exported, loaded by their classes (strictly).
TEST(PytorchExamplesParity, ExportedModelsComputeTheSameInTheirClasses) {
  TempDir dir;
  torch::manual_seed(6);
  dcgan::train::GanOptions options;
  options.conv_dim = 4;
  options.z_size = 8;
  options.image_size = 64;
  options.arch = dcgan::models::Arch::kPytorchExamples;
  dcgan::train::Gan gan(options, torch::kCPU);
  const auto images = torch::randint(0, 256, {6, 3, 64, 64}, torch::kUInt8);
  for (int step = 0; step < 2; ++step) dcgan::train::train_step(gan, images, false);
  dcgan::train::TrainingProgress progress;
  progress.fixed_z = dcgan::train::sample_z(options, 4, torch::kCPU);
  progress.config_json = "{}";
  const auto checkpoint = dir.file("last.pt");
  dcgan::write_file_atomically(checkpoint, dcgan::train::serialize_checkpoint(gan, progress));
  export_both_formats(checkpoint, dir);
  const auto exported = dcgan::serialization::read_state_dict(dir.file("exported_G.pt"));
  EXPECT_EQ(exported.front().first, "main.0.weight");
  EXPECT_EQ(exported.back().first, "main.12.weight");

  gan.generator->eval();
  gan.discriminator->eval();
  torch::NoGradGuard no_grad;
  const auto z = dcgan::train::sample_z(options, 5, torch::kCPU);
  const TensorDict outputs = {
      {"z", z},
      {"images", images},
      {"g_eval.out", gan.generator(z)},
      {"d_eval.prob", gan.discriminator->probability(dcgan::data::scale(images))}};
  dcgan::write_file_atomically(dir.file("cpp_outputs.pt"),
                               dcgan::serialization::state_dict_bytes(outputs));
  const auto result = run(std::string(DCGAN_TEST_PYTHON) + " " + DCGAN_PYTORCH_EXAMPLES_SCRIPT +
                          " check " + dir.path().string());
  EXPECT_EQ(result.code, 0) << result.output;
}

// Their files through the command line: import reads arch, size and widths from the shapes; the
// run generates 64x64 images; export writes their layout back, without DataParallel's prefix.
TEST(PytorchExamplesParity, ImportGenerateAndExportBack) {
  TempDir dir;
  const auto run_dir = dir.file("run");
  auto r = dcgan_cli("import --generator " + examples_reference("netG.pt") + " --discriminator " +
                     examples_reference("netD.pt") + " --out " + run_dir + " --seed 3");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto last = run_dir + "/checkpoints/last.pt";
  const auto info = dcgan::train::read_checkpoint_info(last);
  EXPECT_EQ(info.arch, dcgan::models::Arch::kPytorchExamples);
  EXPECT_EQ(info.image_size, 64);
  EXPECT_EQ(info.conv_dim, 4);
  r = dcgan_cli("generate --checkpoint " + last + " --count 2 --nrow 2 --seed 1 --out " +
                dir.file("grid.png"));
  ASSERT_EQ(r.code, 0) << r.output;
  // Two 64x64 images with torchvision's 2-pixel padding: 2 + 2 * (64 + 2) wide, 2 + 66 high.
  EXPECT_EQ(dcgan::test::png_size(dcgan::test::read_bytes(dir.file("grid.png"))),
            (std::pair<uint32_t, uint32_t>{134, 68}));

  r = dcgan_cli("export --checkpoint " + last + " --out " + dir.file("G.pt"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("main.N"), std::string::npos) << r.output;
  const auto original = dcgan::serialization::read_state_dict(examples_reference("netG.pt"));
  const auto back = dcgan::serialization::read_state_dict(dir.file("G.pt"));
  ASSERT_EQ(back.size(), original.size());
  for (size_t i = 0; i < original.size(); ++i) {
    EXPECT_EQ("module." + back[i].first, original[i].first);
    EXPECT_TRUE(torch::equal(back[i].second, original[i].second)) << original[i].first;
  }
}

// A state_dict of another image size or channel count is refused with the reason.
TEST(PytorchExamplesParity, RefusesWhatDcganCannotBuild) {
  auto state = dcgan::serialization::read_state_dict(examples_reference("netD.pt"));
  auto gray = state;
  gray.front().second = torch::zeros({4, 1, 4, 4});  // an MNIST discriminator: nc = 1
  expect_input_error([&] { dcgan::interop::discriminator_options(gray, "netD.pt"); },
                     "netD.pt: key 'main.0.weight' has 1 image channels");
  TensorDict shallow;  // one halving before the 4x4 conv: 8x8 images
  shallow.emplace_back("main.0.weight", torch::zeros({4, 3, 4, 4}));
  shallow.emplace_back("main.2.weight", torch::zeros({1, 4, 4, 4}));
  expect_input_error([&] { dcgan::interop::discriminator_options(shallow, "netD.pt"); },
                     "make 8x8 images; dcgan builds 32, 64, 128 or 256");
  expect_input_error([&] { dcgan::interop::generator_options(state, "netD.pt"); },
                     "netD.pt: holds a Discriminator state_dict, expected a Generator's");
}

TEST(TorchFile, WritesWhatItReadsBitForBit) {
  TempDir dir;
  const auto original = dcgan::serialization::read_state_dict(reference("G.pt"));
  ASSERT_EQ(original.front().first, "fc.weight");
  dcgan::write_file_atomically(dir.file("copy.pt"),
                               dcgan::serialization::state_dict_bytes(original));
  const auto copy = dcgan::serialization::read_state_dict(dir.file("copy.pt"));
  ASSERT_EQ(copy.size(), original.size());
  for (size_t i = 0; i < copy.size(); ++i) {
    EXPECT_EQ(copy[i].first, original[i].first);
    EXPECT_EQ(copy[i].second.scalar_type(), original[i].second.scalar_type()) << copy[i].first;
    EXPECT_TRUE(torch::equal(copy[i].second, original[i].second)) << copy[i].first;
  }
}

TEST(TorchFile, RefusesWhatIsNotAStateDict) {
  using dcgan::serialization::read_state_dict;
  expect_input_error([] { read_state_dict(reference("whole_model.pt")); },
                     "not a state_dict: the file pickles a Python object (__main__.Generator)");
  expect_input_error([] { read_state_dict(reference("list.pt")); },
                     "not a state_dict (the file holds a list)");
  expect_input_error([] { read_state_dict(reference("nested.pt")); },
                     "not a state_dict ('G' holds a dict, not a tensor)");
  TempDir dir;
  dcgan::test::write_bytes(dir.file("text.pt"), "hello");
  expect_input_error([&] { read_state_dict(dir.file("text.pt")); }, "not a PyTorch file");
  // A truncated file is refused, not read past its end.
  const auto bytes = dcgan::test::read_bytes(reference("G.pt"));
  dcgan::test::write_bytes(dir.file("cut.pt"), bytes.substr(0, bytes.size() / 2));
  EXPECT_THROW(read_state_dict(dir.file("cut.pt")), InputError);
}

// torch.save's zip holding `pickle` as its data.pkl.
void write_pickle(const std::string& path, const std::string& pickle) {
  std::string bytes;
  caffe2::serialize::PyTorchStreamWriter zip([&bytes](const void* data, size_t size) {
    bytes.append(static_cast<const char*>(data), size);
    return size;
  });
  zip.writeRecord("data.pkl", pickle.data(), pickle.size());
  zip.writeEndOfFile();
  dcgan::test::write_bytes(path, bytes);
}

TEST(TorchFile, SurvivesCraftedPickles) {
  TempDir dir;
  auto refused = [&](const std::string& pickle, const std::string& part) {
    write_pickle(dir.file("crafted.pt"), pickle);
    expect_input_error([&] { dcgan::serialization::read_state_dict(dir.file("crafted.pt")); },
                       part);
  };
  using namespace std::string_literals;  // "..."s keeps the NUL bytes
  const auto proto = "\x80\x02"s;
  refused(proto +
              "cos\nsystem\nX\x02\x00\x00\x00"
              "ls\x85R."s,
          "Python object (os.system)");
  refused(proto + ")" + std::string(1000000, '\x85') + ".", "the file holds a tuple");
  refused(proto +
              "}X\xff\xff\xff\x7f"
              "ab",
          "data.pkl ends early");
  refused(proto + "}s.", "stack underflow");
  refused(proto + "h\x05.", "unknown memo entry");
}

TEST(NotebookStateDict, NamesTheKeyAndBothShapes) {
  auto state = dcgan::serialization::read_state_dict(reference("G.pt"));
  auto generator = notebook_generator();
  auto with = [&](const std::string& key, torch::Tensor tensor) {
    auto changed = state;
    for (auto& [name, t] : changed) {
      if (name == key) t = tensor;
    }
    return changed;
  };
  expect_input_error(
      [&] {
        dcgan::interop::load_pytorch_state_dict(
            generator, with("t_conv2.1.running_mean", torch::zeros({3})), "G.pt");
      },
      "G.pt: key 't_conv2.1.running_mean' has shape [3], expected [4]");
  auto missing = state;
  missing.pop_back();
  expect_input_error([&] { dcgan::interop::load_pytorch_state_dict(generator, missing, "G.pt"); },
                     "G.pt: missing key 't_conv3.0.weight' (expected shape [4, 3, 4, 4])");
  auto extra = state;
  extra.emplace_back("t_conv3.0.bias", torch::zeros({3}));
  expect_input_error([&] { dcgan::interop::load_pytorch_state_dict(generator, extra, "G.pt"); },
                     "G.pt: unexpected key 't_conv3.0.bias' of shape [3]");
  expect_input_error(
      [&] {
        dcgan::interop::generator_options(dcgan::serialization::read_state_dict(reference("D.pt")),
                                          "D.pt");
      },
      "D.pt: holds a Discriminator state_dict, expected a Generator's");
}

TEST(InteropCommands, ImportThenGenerateResumeAndExportBack) {
  TempDir dir;
  const auto run_dir = dir.file("run");
  auto r = dcgan_cli("import --generator " + reference("G.pt") + " --discriminator " +
                     reference("D.pt") + " --out " + run_dir + " --seed 3 --batch-size 4 --data " +
                     dcgan::test::data_path("tiny_v5_compressed.mat"));
  ASSERT_EQ(r.code, 0) << r.output;
  const auto last = run_dir + "/checkpoints/last.pt";
  r = dcgan_cli("generate --checkpoint " + last + " --count 4 --seed 1 --out " +
                dir.file("grid.png"));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir.file("grid.png")));

  // What comes back out is what went in, bit for bit.
  r = dcgan_cli("export --checkpoint " + last + " --out " + dir.file("G.pt"));
  ASSERT_EQ(r.code, 0) << r.output;
  r = dcgan_cli("export --checkpoint " + last + " --net discriminator --out " + dir.file("D.pt"));
  ASSERT_EQ(r.code, 0) << r.output;
  for (const std::string net : {"G.pt", "D.pt"}) {
    const auto original = dcgan::serialization::read_state_dict(reference(net));
    const auto exported = dcgan::serialization::read_state_dict(dir.file(net));
    ASSERT_EQ(exported.size(), original.size()) << net;
    for (size_t i = 0; i < original.size(); ++i) {
      EXPECT_EQ(exported[i].first, original[i].first) << net;
      EXPECT_TRUE(torch::equal(exported[i].second, original[i].second)) << original[i].first;
    }
  }

  r = dcgan_cli("train --resume " + run_dir + " --epochs 1 --progress log --no-plot");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(dcgan::train::read_checkpoint_info(last).epochs_done, 1);
}

TEST(InteropCommands, PointToTheRightCommand) {
  TempDir dir;
  const auto run_dir = dir.file("run");
  auto r = dcgan_cli("import --generator " + reference("G.pt") + " --out " + run_dir);
  ASSERT_EQ(r.code, 0) << r.output;
  const auto last = run_dir + "/checkpoints/last.pt";

  r = dcgan_cli("import --generator " + last + " --out " + dir.file("other"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("is a dcgan checkpoint, not a PyTorch state_dict"), std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(dir.file("other")));

  r = dcgan_cli("generate --checkpoint " + reference("G.pt") + " --out " + dir.file("g.png"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("dcgan import --generator"), std::string::npos) << r.output;

  r = dcgan_cli("import --generator " + reference("D.pt") + " --out " + dir.file("other"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("holds a Discriminator state_dict"), std::string::npos) << r.output;

  r = dcgan_cli("import --generator " + reference("G.pt") + " --out " + run_dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("already holds a run"), std::string::npos) << r.output;
}

// `dcgan export --format torchscript`: the module torch::jit::load gives back computes what
// `generate` computes from the same checkpoint, and the discriminator what `evaluate` reads.
TEST(TorchScriptExport, ComputesWhatGenerateComputesAtEverySizeAndArch) {
  using dcgan::models::Arch;
  struct Case {
    Arch arch;
    int64_t image_size;
    bool batch_norm, spectral_norm;
  };
  for (const auto& c :
       {Case{Arch::kNotebook, 32, true, false}, Case{Arch::kNotebook, 64, true, false},
        Case{Arch::kPytorchExamples, 32, true, false},
        Case{Arch::kPytorchExamples, 64, true, false}, Case{Arch::kNotebook, 32, false, true}}) {
    SCOPED_TRACE(dcgan::models::to_string(c.arch) + " " + std::to_string(c.image_size) +
                 (c.batch_norm ? "" : " no-batch-norm spectral-norm"));
    TempDir dir;
    dcgan::train::GanOptions options;
    options.conv_dim = 4;
    options.z_size = 8;
    options.image_size = c.image_size;
    options.arch = c.arch;
    options.batch_norm = c.batch_norm;
    options.spectral_norm = c.spectral_norm;
    const auto checkpoint = tiny_checkpoint(dir, options);
    export_both_formats(checkpoint, dir);

    torch::NoGradGuard no_grad;
    auto generator = dcgan::train::load_generator(checkpoint, torch::kCPU);  // as generate does
    auto discriminator = dcgan::train::load_discriminator(checkpoint, torch::kCPU);
    auto g = torch::jit::load(dir.file("exported_G.ts"));
    auto d = torch::jit::load(dir.file("exported_D.ts"));
    const auto z = dcgan::train::sample_z(options, 5, torch::kCPU);
    const auto images = g.forward({z}).toTensor();
    const auto expected = generator(z);
    ASSERT_EQ(images.sizes(), expected.sizes());
    EXPECT_LE((images - expected).abs().max().item<double>(), 1e-6);
    EXPECT_EQ(g.attr("z_size").toInt(), 8);
    EXPECT_EQ(g.attr("image_size").toInt(), c.image_size);
    EXPECT_EQ(g.attr("arch").toStringRef(), dcgan::models::to_string(c.arch));
    EXPECT_FALSE(g.is_training());
    const auto sampled = g.get_method("sample")({int64_t{3}}).toTensor();
    EXPECT_EQ(sampled.sizes(), (std::vector<int64_t>{3, 3, c.image_size, c.image_size}));
    EXPECT_LE(sampled.abs().max().item<double>(), 1.0);

    const auto logits = d.forward({expected}).toTensor();
    EXPECT_LE((logits - discriminator(expected)).abs().max().item<double>(), 1e-5);
    EXPECT_LE((d.get_method("probability")({expected}).toTensor() - torch::sigmoid(logits))
                  .abs()
                  .max()
                  .item<double>(),
              1e-7);
    EXPECT_EQ(d.get_method("features")({expected}).toTensor().sizes(),
              (std::vector<int64_t>{5, 4 * c.image_size / 8 * 16}));
  }
}

// A TorchScript module dcgan exported reads back into a run with the same weights.
TEST(TorchScriptExport, ImportReadsItBack) {
  TempDir dir;
  dcgan::train::GanOptions options;
  options.conv_dim = 4;
  options.z_size = 8;
  options.image_size = 64;
  options.arch = dcgan::models::Arch::kPytorchExamples;
  const auto checkpoint = tiny_checkpoint(dir, options);
  export_both_formats(checkpoint, dir);
  const auto run_dir = dir.file("run");
  const auto r = dcgan_cli("import --generator " + dir.file("exported_G.ts") + " --discriminator " +
                           dir.file("exported_D.ts") + " --out " + run_dir + " --seed 1");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto original = dcgan::serialization::read_state_dict(dir.file("exported_G.pt"));
  auto generator = dcgan::train::load_generator(run_dir + "/checkpoints/last.pt", torch::kCPU);
  const auto imported = dcgan::interop::pytorch_state_dict(generator);
  ASSERT_EQ(imported.size(), original.size());
  for (size_t i = 0; i < original.size(); ++i) {
    EXPECT_EQ(imported[i].first, original[i].first);
    EXPECT_TRUE(torch::equal(imported[i].second, original[i].second)) << original[i].first;
  }
}

// Every command that reads a model names the kind of file it was given and what to do with it.
TEST(ModelFiles, EveryCommandNamesTheKindOfFile) {
  TempDir dir;
  const auto scripted = reference("G_scripted.pt");  // torch.jit.script(G).save(...)
  const auto legacy = reference("G_legacy.pt");      // torch.save(..., zipfile off)
  const auto state_dict = reference("G.pt");
  using dcgan::serialization::FileKind;
  EXPECT_EQ(dcgan::serialization::file_kind(scripted), FileKind::kTorchScript);
  EXPECT_EQ(dcgan::serialization::file_kind(legacy), FileKind::kLegacyTorchSave);
  EXPECT_EQ(dcgan::serialization::file_kind(state_dict), FileKind::kTorchSave);

  // The notebook's G as TorchScript: import reads its weights, those of G.pt.
  auto r = dcgan_cli("import --generator " + scripted + " --out " + dir.file("run") + " --seed 2");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto last = dir.file("run") + "/checkpoints/last.pt";
  EXPECT_EQ(dcgan::serialization::file_kind(last), FileKind::kDcganCheckpoint);
  auto generator = dcgan::train::load_generator(last, torch::kCPU);
  const auto original = dcgan::serialization::read_state_dict(state_dict);
  for (const auto& [key, tensor] : dcgan::interop::pytorch_state_dict(generator)) {
    for (const auto& [original_key, original_tensor] : original) {
      if (key == original_key) {
        EXPECT_TRUE(torch::equal(tensor, original_tensor)) << key;
      }
    }
  }

  struct Refusal {
    std::string command, says;
  };
  const auto out = " --out " + dir.file("x");
  for (const auto& [command, says] : std::vector<Refusal>{
           {"generate --checkpoint " + scripted + out + ".png",
            "is a TorchScript module (torch.jit.save), not a dcgan checkpoint"},
           {"interpolate --checkpoint " + scripted + out + ".png", "dcgan import --generator"},
           {"export --checkpoint " + scripted + out + ".pt", "is a TorchScript module"},
           {"train --resume " + dir.file("ts_run") + " --epochs 1", "is a TorchScript module"},
           {"generate --checkpoint " + legacy + out + ".png", "legacy torch.save format"},
           {"import --generator " + legacy + out, "legacy torch.save format"},
           {"import --generator " + reference("linear_scripted.pt") + out,
            "is a TorchScript module whose weights match neither the notebook's nor "
            "pytorch/examples' layout"},
           {"import --generator " + last + out, "is a dcgan checkpoint, not a PyTorch state_dict"},
           {"inspect --data " + scripted, "is a model file, not images: a TorchScript module"},
           {"inspect --data " + last, "is a model file, not images: a dcgan checkpoint"},
           {"inspect --data " + state_dict, "is a model file, not images: a PyTorch file"},
       }) {
    if (command.rfind("train --resume", 0) == 0) {
      write_run_config(dir.file("ts_run"));
      fs::copy_file(scripted, dir.file("ts_run") + "/checkpoints/last.pt",
                    fs::copy_options::overwrite_existing);
    }
    r = dcgan_cli(command);
    EXPECT_EQ(r.code, 2) << command << "\n" << r.output;
    EXPECT_NE(r.output.find(says), std::string::npos) << command << "\n" << r.output;
    EXPECT_FALSE(fs::exists(dir.file("x")) || fs::exists(dir.file("x.png")) ||
                 fs::exists(dir.file("x.pt")))
        << command;
  }
}

// A model whose training diverged is refused by every command that reads it: one line naming the
// tensor and how many of its values are not finite, exit 2, nothing written.
TEST(ModelFiles, NonFiniteWeightsAreRefused) {
  TempDir dir;
  auto state = dcgan::serialization::read_state_dict(reference("G.pt"));
  for (auto& [key, tensor] : state) {
    if (key == "t_conv2.0.weight") {
      tensor = tensor.clone();
      tensor.view(-1)[3] = std::nan("");
      tensor.view(-1)[4] = INFINITY;
    }
  }
  dcgan::write_file_atomically(dir.file("nan_G.pt"), dcgan::serialization::state_dict_bytes(state));
  auto r = dcgan_cli("import --generator " + dir.file("nan_G.pt") + " --out " + dir.file("run"));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("nan_G.pt: tensor 't_conv2.0.weight' holds 2 non-finite values"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(dir.file("run")));

  // A checkpoint whose generator holds NaN (a run that diverged).
  dcgan::train::GanOptions options;
  options.conv_dim = 4;
  options.z_size = 8;
  {
    torch::NoGradGuard no_grad;
    dcgan::train::Gan gan(options, torch::kCPU);
    gan.generator->bns[1]->running_var[0] = std::nan("");
    dcgan::train::TrainingProgress progress;
    progress.fixed_z = dcgan::train::sample_z(options, 4, torch::kCPU);
    progress.config_json = "{}";
    write_run_config(dir.file("diverged"));
    dcgan::write_file_atomically(dir.file("diverged/checkpoints/last.pt"),
                                 dcgan::train::serialize_checkpoint(gan, progress));
  }
  const auto last = dir.file("diverged/checkpoints/last.pt");
  const auto tiny = dcgan::test::data_path("tiny_v5_compressed.mat");
  const auto out = " --out " + dir.file("x");
  for (const auto& command : {"generate --checkpoint " + last + out + ".png",
                              "interpolate --checkpoint " + last + out + ".png",
                              "export --checkpoint " + last + out + ".pt",
                              "export --format torchscript --checkpoint " + last + out + ".pt",
                              "evaluate --checkpoint " + last + " --data " + tiny +
                                  " --train-data " + tiny + " --feature-net " + dir.file("x.pt"),
                              "train --resume " + dir.file("diverged") + " --epochs 1"}) {
    r = dcgan_cli(command);
    EXPECT_EQ(r.code, 2) << command << "\n" << r.output;
    EXPECT_NE(r.output.find("tensor 'generator.bn1.running_var' holds 1 non-finite value (NaN or "
                            "Inf) of 8"),
              std::string::npos)
        << command << "\n"
        << r.output;
    EXPECT_FALSE(fs::exists(dir.file("x.png")) || fs::exists(dir.file("x.pt"))) << command;
  }
}

// --- class-conditional networks ------------------------------------------------------------------
// tests/conditional_reference.py writes, for each arch and conditioning, the state_dicts of its
// PyTorch classes and what they compute; dcgan imports them and must compute the same, and what
// dcgan exports must load strictly into those classes and compute the same there.

namespace {

using dcgan::models::Arch;
using dcgan::models::Conditioning;

struct ConditionalCase {
  Arch arch;
  Conditioning conditioning;
  int64_t minibatch_std = 0;  // D's group size (--minibatch-std)
  bool acgan_projection = false;  // D's logit has the projection term too (acgan's default)
  // The reference's folder: notebook_projection, pytorch_examples_acgan_mbstd4_proj, ...
  std::string folder() const {
    return (arch == Arch::kNotebook ? "notebook_" : "pytorch_examples_") +
           dcgan::models::to_string(conditioning) +
           (minibatch_std ? "_mbstd" + std::to_string(minibatch_std) : "") +
           (acgan_projection ? "_proj" : "");
  }
};

// The reference's batches of 6 take the group size of 4 down to 3.
const std::vector<ConditionalCase> kConditionalCases = {
    {Arch::kNotebook, Conditioning::kProjection},
    {Arch::kNotebook, Conditioning::kAcgan},
    {Arch::kPytorchExamples, Conditioning::kProjection},
    {Arch::kPytorchExamples, Conditioning::kAcgan},
    {Arch::kNotebook, Conditioning::kAcgan, 4},
    {Arch::kPytorchExamples, Conditioning::kAcgan, 4},
    {Arch::kNotebook, Conditioning::kAcgan, 4, true},
    {Arch::kPytorchExamples, Conditioning::kAcgan, 4, true},
};

std::string conditional_reference(const ConditionalCase& c, const std::string& name) {
  return reference_in(DCGAN_CONDITIONAL_REFERENCE_DIR, DCGAN_CONDITIONAL_SCRIPT,
                      c.folder() + "/" + name);
}

// The reference's G.pt and D.pt read into a conditional GAN: arch, sizes, conditioning and
// classes from their keys and shapes (AC-GAN's generator from its discriminator's classifier).
dcgan::train::Gan conditional_gan(const ConditionalCase& c) {
  const auto g_state = dcgan::serialization::read_state_dict(conditional_reference(c, "G.pt"));
  const auto d_state = dcgan::serialization::read_state_dict(conditional_reference(c, "D.pt"));
  auto g_options = dcgan::interop::generator_options(g_state, "G.pt");
  const auto d_options = dcgan::interop::discriminator_options(d_state, "D.pt");
  EXPECT_EQ(d_options.conditioning(), c.conditioning);
  EXPECT_EQ(d_options.acgan_projection(), c.acgan_projection);
  EXPECT_EQ(d_options.classes(), 3);
  if (c.conditioning == Conditioning::kAcgan) {
    EXPECT_EQ(g_options.conditioning(), Conditioning::kNone);  // its keys cannot tell
    EXPECT_EQ(g_options.z_size(), 8 + 3);
    g_options = dcgan::interop::as_acgan_generator(g_options, d_options.classes(), "G.pt");
  }
  EXPECT_EQ(g_options.conditioning(), c.conditioning);
  EXPECT_EQ(g_options.classes(), 3);
  EXPECT_EQ(g_options.z_size(), 8);
  EXPECT_EQ(g_options.arch(), c.arch);
  EXPECT_EQ(d_options.arch(), c.arch);
  EXPECT_EQ(g_options.conv_dim(), 4);
  EXPECT_EQ(g_options.image_size(), 32);
  EXPECT_EQ(dcgan::interop::has_minibatch_std_channel(d_state, d_options), c.minibatch_std > 0);
  dcgan::train::GanOptions options;
  options.conv_dim = 4;
  options.z_size = 8;
  options.arch = c.arch;
  options.conditioning = c.conditioning;
  options.classes = 3;
  options.minibatch_std = c.minibatch_std;
  options.acgan_projection = c.acgan_projection;
  dcgan::train::Gan gan(options, torch::kCPU);
  dcgan::interop::load_pytorch_state_dict(gan.generator, g_state, "G.pt");
  dcgan::interop::load_pytorch_state_dict(gan.discriminator, d_state, "D.pt");
  return gan;
}

std::vector<std::string> numbered(int64_t classes) {
  std::vector<std::string> names;
  for (int64_t k = 0; k < classes; ++k) names.push_back(std::to_string(k));
  return names;
}

// A conditional checkpoint of a tiny GAN two training steps in, with labels.
std::string tiny_conditional_checkpoint(const TempDir& dir, dcgan::train::GanOptions options,
                                        const std::vector<std::string>& class_names) {
  options.classes = static_cast<int64_t>(class_names.size());
  torch::manual_seed(9);
  dcgan::train::Gan gan(options, torch::kCPU);
  const auto images = torch::randint(0, 256, {6, 3, 32, 32}, torch::kUInt8);
  const auto labels = torch::arange(6, torch::kInt64).remainder(options.classes);
  for (int step = 0; step < 2; ++step) {
    dcgan::train::train_step(gan, images, dcgan::train::draw_step_noise(gan, 6, torch::kCPU), false,
                             dcgan::train::Precision::kFp32, labels);
  }
  dcgan::train::TrainingProgress progress;
  progress.fixed_z = dcgan::train::sample_z(options, 4, torch::kCPU);
  progress.class_names = class_names;
  progress.config_json = "{}";
  const auto checkpoint = dir.file("last.pt");
  dcgan::write_file_atomically(checkpoint, dcgan::train::serialize_checkpoint(gan, progress));
  return checkpoint;
}

dcgan::train::GanOptions tiny_options(const ConditionalCase& c) {
  dcgan::train::GanOptions options;
  options.conv_dim = 4;
  options.z_size = 8;
  options.arch = c.arch;
  options.conditioning = c.conditioning;
  options.minibatch_std = c.minibatch_std;
  options.acgan_projection = c.acgan_projection;
  return options;
}

double largest_difference(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return a.sizes() == b.sizes() ? (a - b).abs().max().item<double>() : INFINITY;
}

}  // namespace

TEST(ConditionalParity, ForwardInTrainAndEvalMode) {
  for (const auto& c : kConditionalCases) {
    SCOPED_TRACE(c.folder());
    const auto e = expected(conditional_reference(c, "expected.pt"));
    const auto real = dcgan::data::scale(e.at("images"));
    torch::NoGradGuard no_grad;
    for (const std::string mode : {"train", "eval"}) {
      auto gan = conditional_gan(c);
      gan.generator->train(mode == "train");
      gan.discriminator->train(mode == "train");
      expect_close("g_" + mode + ".out",
                   gan.generator->forward_with_labels(e.at("z"), e.at("z_labels")),
                   e.at("g_" + mode + ".out"));
      const auto judgement = gan.discriminator->judge(real, e.at("labels"));
      expect_close("d_" + mode + ".logit", judgement.logit, e.at("d_" + mode + ".logit"));
      if (c.conditioning == Conditioning::kAcgan) {
        expect_close("d_" + mode + ".class_logits", judgement.class_logits,
                     e.at("d_" + mode + ".class_logits"));
      }
      if (mode != "train") continue;
      // Running statistics after one batch (conditional BatchNorm's under bn.), and the rest.
      for (const auto& [key, tensor] : dcgan::interop::pytorch_state_dict(gan.generator))
        expect_close("g_train." + key, tensor, e.at("g_train." + key));
      for (const auto& [key, tensor] : dcgan::interop::pytorch_state_dict(gan.discriminator))
        expect_close("d_train." + key, tensor, e.at("d_train." + key));
    }
  }
}

// One training step with the reference's z, images and labels: both losses (with AC-GAN's
// cross-entropies), every gradient, the weights and buffers after Adam's step and its moments.
TEST(ConditionalParity, OneTrainingStep) {
  for (const auto& c : kConditionalCases) {
    SCOPED_TRACE(c.folder());
    const auto e = expected(conditional_reference(c, "expected.pt"));
    auto gan = conditional_gan(c);
    dcgan::train::StepNoise noise;
    noise.z_for_d = e.at("z_for_d");
    noise.z_for_g = e.at("z_for_g");
    noise.labels_for_d = e.at("labels_for_d");
    noise.labels_for_g = e.at("labels_for_g");
    const auto losses = dcgan::train::train_step(gan, e.at("images"), noise, false,
                                                 dcgan::train::Precision::kFp32, e.at("labels"));
    expect_close("step.d_loss", losses.d_loss, e.at("step.d_loss"));
    expect_close("step.g_loss", losses.g_loss, e.at("step.g_loss"));
    const auto g_state = dcgan::interop::pytorch_state_dict(gan.generator);
    const auto d_state = dcgan::interop::pytorch_state_dict(gan.discriminator);
    expect_step_state(e, "G", g_state, *gan.g_optimizer);
    expect_step_state(e, "D", d_state, *gan.d_optimizer);
    // The class layers are among what was checked, by their PyTorch names.
    const std::string class_key =
        c.conditioning == Conditioning::kProjection ? "embed.weight" : "classifier.weight";
    EXPECT_TRUE(std::any_of(d_state.begin(), d_state.end(),
                            [&](const auto& entry) { return entry.first == class_key; }));
    if (c.conditioning == Conditioning::kProjection) {
      const auto gain = c.arch == Arch::kNotebook ? "t_conv1.1.gain.weight" : "main.1.gain.weight";
      EXPECT_TRUE(std::any_of(g_state.begin(), g_state.end(),
                              [&](const auto& entry) { return entry.first == gain; }));
    }
  }
}

// The other way: conditional networks dcgan trained, exported in both formats. The reference
// loads the state_dicts strictly into its classes and runs the TorchScript modules with no model
// code; here the modules must compute what load_generator / load_discriminator compute.
TEST(ConditionalParity, ExportedModelsComputeTheSameInTheirClasses) {
  for (const auto& c : kConditionalCases) {
    SCOPED_TRACE(c.folder());
    TempDir dir;
    const std::vector<std::string> names = {"cat", "dog", "owl"};
    const auto checkpoint = tiny_conditional_checkpoint(dir, tiny_options(c), names);
    export_both_formats(checkpoint, dir);

    torch::NoGradGuard no_grad;
    auto generator = dcgan::train::load_generator(checkpoint, torch::kCPU);
    auto discriminator = dcgan::train::load_discriminator(checkpoint, torch::kCPU);
    torch::manual_seed(3);
    // Six images: groups of 3 for a minibatch std of 4.
    const auto z = dcgan::train::sample_z(tiny_options(c), 6, torch::kCPU);
    const auto labels = torch::tensor({2, 0, 1, 1, 2, 0}, torch::kInt64);
    const auto images = torch::randint(0, 256, {6, 3, 32, 32}, torch::kUInt8);
    const auto made = generator->forward_with_labels(z, labels);
    const auto judgement = discriminator->judge(dcgan::data::scale(images), labels);
    TensorDict outputs = {{"z", z},
                          {"labels", labels},
                          {"images", images},
                          {"g_eval.out", made},
                          {"d_eval.logit", judgement.logit}};
    if (judgement.class_logits.defined())
      outputs.emplace_back("d_eval.class_logits", judgement.class_logits);
    dcgan::write_file_atomically(dir.file("cpp_outputs.pt"),
                                 dcgan::serialization::state_dict_bytes(outputs));
    const auto result = run(std::string(DCGAN_TEST_PYTHON) + " " + DCGAN_CONDITIONAL_SCRIPT +
                            " check " + dir.path().string());
    EXPECT_EQ(result.code, 0) << result.output;

    auto g = torch::jit::load(dir.file("exported_G.ts"));
    auto d = torch::jit::load(dir.file("exported_D.ts"));
    EXPECT_LE(largest_difference(g.forward({z, labels}).toTensor(), made), 1e-6);
    EXPECT_EQ(g.attr("conditioning").toStringRef(), dcgan::models::to_string(c.conditioning));
    EXPECT_EQ(g.attr("classes").toInt(), 3);
    std::vector<std::string> said;
    const auto class_names = g.attr("class_names");  // held: the list lives in this IValue
    for (const auto& name : class_names.toListRef()) said.push_back(name.toStringRef());
    EXPECT_EQ(said, names);
    EXPECT_EQ(g.attr("z_size").toInt(), 8);
    const auto sampled = g.get_method("sample")({int64_t{7}}).toTensor();
    EXPECT_EQ(sampled.sizes(), (std::vector<int64_t>{7, 3, 32, 32}));
    EXPECT_LE(sampled.abs().max().item<double>(), 1.0);
    EXPECT_EQ(g.get_method("sample_class")({int64_t{2}, int64_t{1}}).toTensor().sizes(),
              (std::vector<int64_t>{2, 3, 32, 32}));
    EXPECT_THROW(g.get_method("sample_class")({int64_t{2}, int64_t{3}}), std::exception);
    const auto real = dcgan::data::scale(images);
    EXPECT_LE(largest_difference(d.forward({real, labels}).toTensor(), judgement.logit), 1e-5);
    if (c.conditioning == Conditioning::kAcgan) {
      EXPECT_LE(
          largest_difference(d.get_method("classify")({real}).toTensor(), judgement.class_logits),
          1e-5);
    } else {
      // The class term is there: other labels, another logit.
      EXPECT_GT(largest_difference(d.forward({real, (labels + 1).remainder(3)}).toTensor(),
                                   judgement.logit),
                1e-6);
    }

    // dcgan import reads the module back alone: its classes (names and all) from its attributes.
    const auto run_dir = dir.file("run");
    const auto r = dcgan_cli("import --generator " + dir.file("exported_G.ts") + " --out " +
                             run_dir + " --seed 1");
    ASSERT_EQ(r.code, 0) << r.output;
    dcgan::train::CheckpointInfo info;
    auto imported =
        dcgan::train::load_generator(run_dir + "/checkpoints/last.pt", torch::kCPU, &info);
    EXPECT_EQ(info.conditioning, c.conditioning);
    EXPECT_EQ(info.class_names, names);
    EXPECT_EQ(largest_difference(imported->forward_with_labels(z, labels), made), 0.0);

    // With its discriminator: the TorchScript module says its minibatch std group size; a
    // state_dict cannot, so --minibatch-std must say it.
    auto pair = dcgan_cli("import --generator " + dir.file("exported_G.ts") + " --discriminator " +
                          dir.file("exported_D.ts") + " --out " + dir.file("pair") + " --seed 1");
    ASSERT_EQ(pair.code, 0) << pair.output;
    const auto pair_checkpoint = dir.file("pair") + "/checkpoints/last.pt";
    EXPECT_EQ(dcgan::train::read_checkpoint_info(pair_checkpoint).minibatch_std, c.minibatch_std);
    EXPECT_LE(largest_difference(dcgan::train::load_discriminator(pair_checkpoint, torch::kCPU)
                                     ->judge(real, labels)
                                     .logit,
                                 judgement.logit),
              1e-6);
    const auto state_dicts = "import --generator " + dir.file("exported_G.pt") +
                             " --discriminator " + dir.file("exported_D.pt") + " --seed 1 --out ";
    if (c.minibatch_std > 0) {
      const auto refused = dcgan_cli(state_dicts + dir.file("unsaid"));
      EXPECT_EQ(refused.code, 2) << refused.output;
      EXPECT_NE(refused.output.find(dir.file("exported_D.pt") +
                                    ": has a minibatch standard deviation channel"),
                std::string::npos)
          << refused.output;
      pair = dcgan_cli(state_dicts + dir.file("said") + " --minibatch-std " +
                       std::to_string(c.minibatch_std));
      ASSERT_EQ(pair.code, 0) << pair.output;
      EXPECT_EQ(dcgan::train::read_checkpoint_info(dir.file("said") + "/checkpoints/last.pt")
                    .minibatch_std,
                c.minibatch_std);
    } else {
      const auto refused = dcgan_cli(state_dicts + dir.file("unsaid") + " --minibatch-std 4");
      EXPECT_EQ(refused.code, 2) << refused.output;
      EXPECT_NE(refused.output.find("has no minibatch standard deviation channel"),
                std::string::npos)
          << refused.output;
    }
  }
}

// Unconditional modules stay as they were: no class attributes, forward(z) and forward(images).
TEST(ConditionalParity, UnconditionalModulesHaveNoClassAttributes) {
  TempDir dir;
  dcgan::train::GanOptions options;
  options.conv_dim = 4;
  options.z_size = 8;
  export_both_formats(tiny_checkpoint(dir, options), dir);
  for (const auto* name : {"exported_G.ts", "exported_D.ts"}) {
    auto module = torch::jit::load(dir.file(name));
    EXPECT_FALSE(module.hasattr("conditioning")) << name;
    EXPECT_FALSE(module.hasattr("class_names")) << name;
    EXPECT_EQ(module.get_method("forward").function().getSchema().arguments().size(), 2u) << name;
  }
}

// An SVHN-digit conditional run through the command line: export, import of the state_dicts
// (classes "0".."9", as SVHN's labels are named), the same images from the same z and labels, and
// train --resume on SVHN data.
TEST(ConditionalImport, ExportImportGivesBackTheSameGeneratorAndResumesOnSvhn) {
  for (const auto conditioning : {Conditioning::kProjection, Conditioning::kAcgan}) {
    SCOPED_TRACE(dcgan::models::to_string(conditioning));
    TempDir dir;
    const auto checkpoint = tiny_conditional_checkpoint(
        dir, tiny_options({Arch::kNotebook, conditioning}), numbered(10));
    auto r = dcgan_cli("export --checkpoint " + checkpoint + " --out " + dir.file("G.pt"));
    ASSERT_EQ(r.code, 0) << r.output;
    r = dcgan_cli("export --checkpoint " + checkpoint + " --net discriminator --out " +
                  dir.file("D.pt"));
    ASSERT_EQ(r.code, 0) << r.output;
    const auto run_dir = dir.file("run");
    r = dcgan_cli("import --generator " + dir.file("G.pt") + " --discriminator " +
                  dir.file("D.pt") + " --out " + run_dir + " --seed 3 --batch-size 4 --data " +
                  dcgan::test::data_path("tiny_v5_compressed.mat"));
    ASSERT_EQ(r.code, 0) << r.output;
    const auto last = run_dir + "/checkpoints/last.pt";
    dcgan::train::CheckpointInfo info;
    auto imported = dcgan::train::load_generator(last, torch::kCPU, &info);
    EXPECT_EQ(info.conditioning, conditioning);
    EXPECT_EQ(info.class_names, numbered(10));
    EXPECT_EQ(info.z_size, 8);
    auto original = dcgan::train::load_generator(checkpoint, torch::kCPU);
    torch::NoGradGuard no_grad;
    const auto z = dcgan::train::sample_z(5, 8, torch::kCPU);
    const auto labels = torch::tensor({9, 0, 4, 4, 7}, torch::kInt64);
    EXPECT_EQ(largest_difference(imported->forward_with_labels(z, labels),
                                 original->forward_with_labels(z, labels)),
              0.0);
    auto discriminator = dcgan::train::load_discriminator(last, torch::kCPU);
    auto original_d = dcgan::train::load_discriminator(checkpoint, torch::kCPU);
    const auto images = original->forward_with_labels(z, labels);
    EXPECT_EQ(largest_difference(discriminator->judge(images, labels).logit,
                                 original_d->judge(images, labels).logit),
              0.0);

    // The AC-GAN generator's state_dict alone needs its class count.
    if (conditioning == Conditioning::kAcgan) {
      r = dcgan_cli("import --generator " + dir.file("G.pt") + " --acgan-classes 10 --out " +
                    dir.file("alone") + " --seed 3");
      ASSERT_EQ(r.code, 0) << r.output;
      auto alone = dcgan::train::load_generator(dir.file("alone") + "/checkpoints/last.pt",
                                                torch::kCPU, &info);
      EXPECT_EQ(info.conditioning, Conditioning::kAcgan);
      EXPECT_EQ(largest_difference(alone->forward_with_labels(z, labels), images), 0.0);
    }

    r = dcgan_cli("train --resume " + run_dir + " --epochs 1 --progress log --no-plot");
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(dcgan::train::read_checkpoint_info(last).epochs_done, 1);
  }
}

// A pair that disagrees, or a state_dict dcgan cannot build, is refused in one line naming the file
// and the problem (exit 2, no run written).
TEST(ConditionalImport, RefusesPairsThatDisagreeAndBadInput) {
  TempDir dir;
  const ConditionalCase projection{Arch::kNotebook, Conditioning::kProjection};
  const ConditionalCase acgan{Arch::kNotebook, Conditioning::kAcgan};
  auto changed = [&](const std::string& path, const std::string& name,
                     const std::map<std::string, torch::Tensor>& replace,
                     const std::string& drop = "") {
    TensorDict state;
    for (const auto& [key, tensor] : dcgan::serialization::read_state_dict(path)) {
      if (key == drop) continue;
      state.emplace_back(key, replace.count(key) ? replace.at(key) : tensor);
    }
    dcgan::write_file_atomically(dir.file(name), dcgan::serialization::state_dict_bytes(state));
    return dir.file(name);
  };
  const auto g_projection = conditional_reference(projection, "G.pt");
  const auto d_projection = conditional_reference(projection, "D.pt");
  const auto d_acgan = conditional_reference(acgan, "D.pt");
  const auto d_four = changed(d_projection, "D_four.pt", {{"embed.weight", torch::zeros({4, 16})}});
  const auto d_eight = changed(
      d_acgan, "D_eight.pt",
      {{"classifier.weight", torch::zeros({8, 256})}, {"classifier.bias", torch::zeros({8})}});
  const auto g_one = changed(g_projection, "G_one.pt",
                             {{"t_conv1.1.gain.weight", torch::ones({1, 8})},
                              {"t_conv1.1.bias.weight", torch::zeros({1, 8})}});
  const auto g_missing = changed(g_projection, "G_missing.pt", {}, "t_conv2.1.bias.weight");
  struct Refusal {
    std::string args, says;
  };
  for (const auto& [args, says] : std::vector<Refusal>{
           {"--generator " + g_projection + " --discriminator " + d_acgan,
            d_acgan + ": conditioning acgan differs from the generator's projection (" +
                g_projection + ")"},
           {"--generator " + g_projection + " --discriminator " + d_four,
            d_four + ": class count 4 differs from the generator's 3"},
           {"--generator " + reference("G.pt") + " --discriminator " + d_projection,
            d_projection + ": conditioning projection differs from the generator's none"},
           {"--generator " + reference("G.pt") + " --discriminator " + d_eight,
            reference("G.pt") + ": its first layer takes 8 inputs, too few for z and a one-hot "
                                "label of 8 classes (AC-GAN)"},
           {"--generator " + g_one,
            g_one + ": key 't_conv1.1.gain.weight' has shape [1, 8]; a conditional layer holds one "
                    "row per class"},
           {"--generator " + g_missing,
            g_missing + ": missing key 't_conv2.1.bias.weight' (expected shape [3, 4])"},
           {"--generator " + g_projection + " --acgan-classes 3",
            g_projection + ": a generator with projection conditioning (3 classes), not AC-GAN's"},
           {"--generator " + g_projection + " --acgan-classes 1", "--acgan-classes must be 2-1000"},
       }) {
    const auto r = dcgan_cli("import " + args + " --out " + dir.file("run"));
    EXPECT_EQ(r.code, 2) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(says), std::string::npos) << args << "\n" << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_FALSE(fs::exists(dir.file("run"))) << args;
  }
}
