#include "dcgan/cli/train_command.h"

#include <chrono>
#include <cstdlib>
#include <cxxopts.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "dcgan/cli/data_options.h"
#include "dcgan/cli/lever_options.h"
#include "dcgan/cli/options.h"
#include "dcgan/distributed/launcher.h"
#include "dcgan/train/config.h"
#include "dcgan/train/signals.h"
#include "dcgan/train/trainer.h"
#include "dcgan/util/errors.h"
#include "dcgan/util/progress_mode.h"

namespace dcgan::cli {
namespace {

// The command as typed (argv from the command's name on), shell-quoted where needed, for
// config.json and report.html.
std::string command_line(int argc, char** argv) {
  std::string line = "dcgan";
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool plain = !arg.empty() && arg.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                             "0123456789-_./=:,+@%") ==
                                           std::string::npos;
    std::string quoted = "'";
    for (const char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    line += " " + (plain ? arg : quoted + "'");
  }
  return line;
}

// --nproc-per-node N: this command line, less that option, in N local ranks.
int launch_workers(int64_t nproc, int64_t dist_timeout, int argc, char** argv) {
  if (nproc > 1024)
    throw InputError("--nproc-per-node must be in 0-1024, got " + std::to_string(nproc));
  if (std::getenv("WORLD_SIZE") != nullptr) {
    throw InputError(
        "--nproc-per-node with WORLD_SIZE set (torchrun or srun starts the ranks already): use "
        "one or the other");
  }
  distributed::LaunchOptions launch;
  launch.nproc = static_cast<int>(nproc);
  launch.grace = std::chrono::seconds(dist_timeout + 5);
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--nproc-per-node") {
      ++i;  // and its value
      continue;
    }
    if (arg.rfind("--nproc-per-node=", 0) == 0) continue;
    launch.args.push_back(arg);
  }
  return distributed::launch_local(launch);
}

}  // namespace

int train_command(int argc, char** argv) {
  train::stop_at_once_during_start_up();
  const train::TrainConfig d;  // defaults shown by --help
  cxxopts::Options options(
      "dcgan train", "Train the DCGAN (the notebook's training loop) and write a run folder.");
  // clang-format off: one option per line reads as a table
  options.add_options()("data",
                        "SVHN .mat file(s) or image folder(s), comma-separated; default falls back "
                        "to the bundled sample",
                        cxxopts::value<std::vector<std::string>>()->default_value(d.data.front()))(
      "out", "Run folder (default runs/<timestamp>)", cxxopts::value<std::string>())(
      "epochs", "Total epochs (when resuming: the new total)",
      cxxopts::value<int64_t>()->default_value(std::to_string(d.epochs)))(
      "batch-size", "Images per step",
      cxxopts::value<int64_t>()->default_value(std::to_string(d.batch_size)))(
      "conv-dim", "Model width (32 is the notebook's model)",
      cxxopts::value<int64_t>()->default_value(std::to_string(d.conv_dim)))(
      "z-size", "Latent vector length",
      cxxopts::value<int64_t>()->default_value(std::to_string(d.z_size)))(
      "image-size", "Image side: 32, 64, 128 or 256 (one more layer per doubling in each network)",
      cxxopts::value<int64_t>()->default_value(std::to_string(d.image_size)))(
      "arch",
      "notebook (z -> Linear; D ends in Linear) or pytorch-examples (all-convolutional, as "
      "pytorch/examples/dcgan: z ~ N(0,1), --weights-init normal unless given)",
      cxxopts::value<std::string>()->default_value(d.arch))(
      "lr", "Adam learning rate", cxxopts::value<double>()->default_value("0.0002"))(
      "beta1", "Adam beta1", cxxopts::value<double>()->default_value("0.5"))(
      "beta2", "Adam beta2", cxxopts::value<double>()->default_value("0.999"))(
      "smooth-labels", "Real labels 0.9 instead of 1, the notebook's smooth=True (default: off)",
      cxxopts::value<bool>()->default_value("false"))(
      "g-ema",
      "Keep a moving average of G's weights with this decay (e.g. 0.999) and sample from "
      "it; 0: off",
      cxxopts::value<double>()->default_value("0"))(
      "weights-init",
      "default (PyTorch's, as the notebook) or normal (DCGAN paper: N(0,0.02) convs, N(1,0.02) BN)",
      cxxopts::value<std::string>()->default_value(d.weights_init))(
      "recipe",
      train::recipe_names(/*with_flags=*/true) +
          ". notebook is the notebook's training (every option's default); the others had lower "
          "Frechet distances, see docs/QUALITY.md. Flags given still win",
      cxxopts::value<std::string>()->default_value(d.recipe))(
      "sample-size", "Fixed-z samples in each epoch's grid",
      cxxopts::value<int64_t>()->default_value(std::to_string(d.sample_size)))(
      "nrow", "Images per row of the sample grids",
      cxxopts::value<int64_t>()->default_value(std::to_string(d.nrow)))(
      "print-every", "Log losses every N batches",
      cxxopts::value<int64_t>()->default_value(std::to_string(d.print_every)))(
      "seed", "Random seed (default: drawn at random and recorded in config.json)",
      cxxopts::value<uint64_t>())("device", "auto, cpu, cuda or cuda:N",
                                  cxxopts::value<std::string>()->default_value(d.device))(
      "resume", "Continue the run in DIR from DIR/checkpoints/last.pt",
      cxxopts::value<std::string>())(
      "checkpoint-every", "Epochs between checkpoints/epoch_NNN.pt",
      cxxopts::value<int64_t>()->default_value(std::to_string(d.checkpoint_every)))(
      "keep-checkpoints", "Epoch checkpoints kept (last.pt is always kept)",
      cxxopts::value<int64_t>()->default_value(std::to_string(d.keep_checkpoints)))(
      "limit", "Use only the first N images (0: all)",
      cxxopts::value<int64_t>()->default_value("0"))(
      "threads", "CPU threads (0: OMP_NUM_THREADS if set, else every core)",
      cxxopts::value<int64_t>()->default_value("0"))(
      "progress", kProgressModesHelp, cxxopts::value<std::string>()->default_value(d.progress))(
      "no-plot", "Do not draw losses.png (default: off, i.e. plot with gnuplot)",
      cxxopts::value<bool>()->default_value("false"))(
      "step",
      "auto (a CUDA graph per step on CUDA with LibTorch 2.x, else eager), eager, graph, or "
      "static (the graph's step without capture, any device)",
      cxxopts::value<std::string>()->default_value(d.step))(
      "precision", "fp32, or bf16 (autocast on CUDA; weights, optimizer and losses stay fp32)",
      cxxopts::value<std::string>()->default_value(d.precision))(
      "eval-every",
      "Measure sample quality (Frechet distance, see `dcgan evaluate`) every N epochs "
      "into quality.csv/quality.png; 0: off",
      cxxopts::value<int64_t>()->default_value(std::to_string(d.eval_every)))(
      "eval-data", "Labelled real images (e.g. test_32x32.mat) that --eval-every compares with",
      cxxopts::value<std::string>())(
      "feature-net",
      "Feature net file for --eval-every (default: beside the training data, "
      "NAME.featnet.pt, trained on first use)",
      cxxopts::value<std::string>())(
      "eval-count", "Generated images per --eval-every measurement",
      cxxopts::value<int64_t>()->default_value(std::to_string(d.eval_count)))(
      "channels-last",
      "NHWC convolution weights (faster tensor-core kernels on CUDA) (default: off)",
      cxxopts::value<bool>()->default_value("false"))(
      "backend",
      "Data-parallel runs (torchrun, --nproc-per-node): auto (nccl on CUDA where built, else "
      "gloo), gloo or nccl",
      cxxopts::value<std::string>()->default_value(d.backend))(
      "dist-timeout", "Seconds a data-parallel run waits for a rank before it stops",
      cxxopts::value<int64_t>()->default_value(std::to_string(d.dist_timeout)))(
      "nproc-per-node",
      "Start N local ranks (data-parallel, as torchrun does; --batch-size is per rank); 0: one "
      "process, or the ranks torchrun's variables describe",
      cxxopts::value<int64_t>()->default_value("0"));
  // clang-format on
  add_lever_options(options, d);
  add_folder_options(options);
  auto typed = with_default_conditional_method(argc, argv);
  std::vector<char*> typed_argv;
  for (auto& arg : typed) typed_argv.push_back(arg.data());
  auto parsed = parse_options(options, static_cast<int>(typed_argv.size()), typed_argv.data());
  if (!parsed) return 0;
  const auto& args = *parsed;
  if (const auto nproc = args["nproc-per-node"].as<int64_t>(); nproc > 0) {
    return launch_workers(nproc, args["dist-timeout"].as<int64_t>(), argc, argv);
  }

  train::TrainConfig config;
  read_lever_options(args, config);
  const auto folder = folder_options(args);
  config.folder_cache = folder.use_cache;
  config.cache_dir = folder.cache_dir;
  config.strict_data = folder.strict;
  config.data = args["data"].as<std::vector<std::string>>();
  if (args.count("out")) config.out_dir = args["out"].as<std::string>();
  config.epochs = args["epochs"].as<int64_t>();
  config.batch_size = args["batch-size"].as<int64_t>();
  config.conv_dim = args["conv-dim"].as<int64_t>();
  config.z_size = args["z-size"].as<int64_t>();
  config.image_size = args["image-size"].as<int64_t>();
  config.arch = args["arch"].as<std::string>();
  config.lr = args["lr"].as<double>();
  config.beta1 = args["beta1"].as<double>();
  config.beta2 = args["beta2"].as<double>();
  config.smooth_labels = args["smooth-labels"].as<bool>();
  config.g_ema = args["g-ema"].as<double>();
  config.weights_init = args["weights-init"].as<std::string>();
  config.sample_size = args["sample-size"].as<int64_t>();
  config.nrow = args["nrow"].as<int64_t>();
  config.print_every = args["print-every"].as<int64_t>();
  if (args.count("seed")) {
    config.seed = args["seed"].as<uint64_t>();
    config.seed_given = true;
  }
  config.device = args["device"].as<std::string>();
  config.checkpoint_every = args["checkpoint-every"].as<int64_t>();
  config.keep_checkpoints = args["keep-checkpoints"].as<int64_t>();
  config.limit = args["limit"].as<int64_t>();
  config.threads = args["threads"].as<int64_t>();
  config.progress = args["progress"].as<std::string>();
  config.plot = !args["no-plot"].as<bool>();
  config.step = args["step"].as<std::string>();
  config.precision = args["precision"].as<std::string>();
  config.channels_last = args["channels-last"].as<bool>();
  config.eval_every = args["eval-every"].as<int64_t>();
  if (args.count("eval-data")) config.eval_data = args["eval-data"].as<std::string>();
  if (args.count("feature-net")) config.feature_net = args["feature-net"].as<std::string>();
  config.eval_count = args["eval-count"].as<int64_t>();
  config.recipe = args["recipe"].as<std::string>();
  config.backend = args["backend"].as<std::string>();
  config.dist_timeout = args["dist-timeout"].as<int64_t>();

  std::set<std::string> given;  // the options typed, which a recipe or a resumed run never overrides
  for (const auto& kv : args.arguments()) given.insert(kv.key());
  if (given.count("no-plot")) given.insert("plot");
  if (given.count("no-batch-norm")) given.insert("batch-norm");
  if (given.count("no-acgan-projection")) given.insert("acgan-projection");
  train::apply_recipe(config, given);

  if (args.count("resume")) {
    config.resume = args["resume"].as<std::string>();
    if (args.count("out") && config.out_dir != config.resume) {
      throw InputError(
          "--out and --resume name different folders; --resume continues in its own folder");
    }
    const std::string saved_path = config.resume + "/config.json";
    std::ifstream saved_file(saved_path);
    if (!saved_file) throw InputError(config.resume + ": no config.json, not a dcgan run folder");
    train::TrainConfig saved;
    try {
      saved = train::config_from_json(nlohmann::json::parse(saved_file));
    } catch (const nlohmann::json::exception& e) {
      throw InputError(saved_path + ": unreadable run config (" + e.what() + ")");
    }
    config = train::merge_for_resume(saved, config, given);
  }

  config.command_line = command_line(argc, argv);
  train::Trainer trainer(config);
  const auto outcome = trainer.run();
  switch (outcome.status) {
    case train::TrainOutcome::Status::kCompleted:
      return 0;
    case train::TrainOutcome::Status::kInterrupted:
      return 128 + outcome.signal;
    case train::TrainOutcome::Status::kDiverged:
      return 3;
  }
  return 1;
}

}  // namespace dcgan::cli
