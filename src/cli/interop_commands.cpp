#include "dcgan/cli/interop_commands.h"

#include <spdlog/spdlog.h>

#include <cxxopts.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "dcgan/cli/options.h"
#include "dcgan/interop/transfer.h"
#include "dcgan/models/minibatch_std.h"
#include "dcgan/util/errors.h"

namespace dcgan::cli {
namespace {

std::string optional_string(const cxxopts::ParseResult& args, const std::string& name) {
  return args.count(name) ? args[name].as<std::string>() : std::string();
}

}  // namespace

int export_command(int argc, char** argv) {
  cxxopts::Options options("dcgan export",
                           "Write a checkpoint's generator or discriminator as a PyTorch "
                           "state_dict that the notebook's classes (or, for --arch "
                           "pytorch-examples runs, pytorch/examples' dcgan classes) load, or as "
                           "a TorchScript module that torch.jit.load runs with no model code.");
  // clang-format off: one option per line reads as a table
  options.add_options()("checkpoint",
                        "A dcgan checkpoint (run/checkpoints/last.pt or epoch_NNN.pt)",
                        cxxopts::value<std::string>())(
      "out",
      "PyTorch file to write (state_dict: torch.load + load_state_dict; torchscript: "
      "torch.jit.load)",
      cxxopts::value<std::string>())("net", "generator or discriminator",
                                     cxxopts::value<std::string>()->default_value("generator"))(
      "format", "state_dict or torchscript",
      cxxopts::value<std::string>()->default_value("state_dict"));
  // clang-format on
  const auto parsed = parse_options(options, argc, argv);
  if (!parsed) return 0;
  const auto& args = *parsed;
  interop::ExportOptions o;
  o.checkpoint = optional_string(args, "checkpoint");
  o.out = optional_string(args, "out");
  o.net = args["net"].as<std::string>();
  o.format = args["format"].as<std::string>();
  const auto what = interop::export_model(o);
  spdlog::info(
      "wrote {}: {} as a {}", o.out, what,
      o.format == "torchscript" ? "TorchScript module (torch.jit.load)" : "PyTorch state_dict");
  return 0;
}

int import_command(int argc, char** argv) {
  const train::TrainConfig d;  // defaults shown by --help
  cxxopts::Options options("dcgan import",
                           "Make a run folder from the notebook's or pytorch/examples' dcgan "
                           "state_dicts (architecture, image size and class conditioning read "
                           "from them), for generate, interpolate and train --resume. Adam "
                           "starts fresh.");
  // clang-format off: one option per line reads as a table
  options.add_options()("generator",
                        "torch.save(G.state_dict(), ...) of the notebook's or pytorch/examples' "
                        "Generator, or a TorchScript module of either (or of dcgan export)",
                        cxxopts::value<std::string>())(
      "discriminator",
      "The matching Discriminator's state_dict or TorchScript module (default: a fresh one)",
      cxxopts::value<std::string>())("out", "Run folder to create", cxxopts::value<std::string>())(
      "data", "Data for a later train --resume, comma-separated",
      cxxopts::value<std::vector<std::string>>()->default_value(d.data.front()))(
      "batch-size", "Images per step for a later train --resume",
      cxxopts::value<int64_t>()->default_value(std::to_string(d.batch_size)))(
      "smooth-labels", "Train on with real labels 0.9 (default: off)",
      cxxopts::value<bool>()->default_value("false"))(
      "seed", "Seed of a fresh discriminator and of the sample grid's z (default: random)",
      cxxopts::value<uint64_t>())(
      "acgan-classes",
      "The generator is AC-GAN's, z followed by a one-hot label of this many classes (needed "
      "only for its state_dict without --discriminator)",
      cxxopts::value<int64_t>()->default_value("0"))(
      "minibatch-std",
      "The discriminator's minibatch std group size (needed only for the state_dict of one with "
      "that layer); without --discriminator, the fresh one's (default: " +
          std::to_string(models::kAcganMinibatchStd) + " for an AC-GAN generator, else none)",
      cxxopts::value<int64_t>()->default_value("0"));
  // clang-format on
  const auto parsed = parse_options(options, argc, argv);
  if (!parsed) return 0;
  const auto& args = *parsed;
  interop::ImportOptions o;
  o.generator = optional_string(args, "generator");
  o.discriminator = optional_string(args, "discriminator");
  o.config.out_dir = optional_string(args, "out");
  o.config.data = args["data"].as<std::vector<std::string>>();
  o.config.batch_size = args["batch-size"].as<int64_t>();
  o.config.smooth_labels = args["smooth-labels"].as<bool>();
  o.acgan_classes = args["acgan-classes"].as<int64_t>();
  o.minibatch_std = args["minibatch-std"].as<int64_t>();
  models::check_minibatch_std_option(o.minibatch_std);
  if (args.count("seed")) {
    o.config.seed = args["seed"].as<uint64_t>();
    o.config.seed_given = true;
  }
  interop::import_models(o);
  spdlog::info("wrote run {} ({}{}); Adam starts fresh", o.config.out_dir, o.generator,
               o.discriminator.empty() ? ", fresh discriminator" : ", " + o.discriminator);
  spdlog::info(
      "use it: dcgan generate --checkpoint {}/checkpoints/last.pt, or train on with "
      "dcgan train --resume {} --epochs N",
      o.config.out_dir, o.config.out_dir);
  return 0;
}

}  // namespace dcgan::cli
