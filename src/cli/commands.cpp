#include "dcgan/cli/commands.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cxxopts.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>

#include "dcgan/cli/data_options.h"
#include "dcgan/cli/evaluate_command.h"
#include "dcgan/cli/interop_commands.h"
#include "dcgan/cli/lever_options.h"
#include "dcgan/cli/options.h"
#include "dcgan/cli/pack_command.h"
#include "dcgan/cli/report_command.h"
#include "dcgan/data/dataset.h"
#include "dcgan/dist/launcher.h"
#include "dcgan/image/grid.h"
#include "dcgan/image/png.h"
#include "dcgan/interop/transfer.h"
#include "dcgan/models/summary.h"
#include "dcgan/sampling/sampling.h"
#include "dcgan/train/checkpoint.h"
#include "dcgan/train/signals.h"
#include "dcgan/train/trainer.h"
#include "dcgan/util/errors.h"
#include "dcgan/util/files.h"
#include "dcgan/util/progress_mode.h"
#include "dcgan/util/version.h"

namespace dcgan::cli {
namespace {

struct Command {
  const char* summary;
  std::function<int(int, char**)> run;
};

int inspect_command(int argc, char** argv) {
  cxxopts::Options options("dcgan inspect",
                           "Describe an SVHN-format .mat file or an image folder.");
  // clang-format off: one option per line reads as a table
  options.add_options()("data", "SVHN .mat file or image folder", cxxopts::value<std::string>())(
      "json", "Print one JSON object instead of a table (default: off)",
      cxxopts::value<bool>()->default_value("false"));
  // clang-format on
  add_folder_options(options);
  auto args = parse_options(options, argc, argv);
  if (!args) return 0;
  if (!args->count("data")) throw InputError("inspect: --data FILE is required");
  const auto file = (*args)["data"].as<std::string>();
  const bool json = (*args)["json"].as<bool>();
  if (json) send_logs_to_stderr();
  if (const auto model = interop::model_file_instead_of_data(file); !model.empty())
    throw InputError(model);
  const auto set = data::load_images(file, folder_options(*args));
  const auto stats = data::describe(set);
  if (json) {
    std::cout << data::to_json(file, set, stats).dump() << std::endl;
  } else {
    std::cout << data::to_table(file, set, stats);
  }
  return 0;
}

int summary_command(int argc, char** argv) {
  cxxopts::Options options("dcgan summary",
                           "Both models layer by layer, with output shapes and parameters.");
  // clang-format off: one option per line reads as a table
  options.add_options()("conv-dim", "Model width (32 is the notebook's model)",
                        cxxopts::value<int64_t>()->default_value("128"))(
      "z-size", "Latent vector length", cxxopts::value<int64_t>()->default_value("100"))(
      "image-size", "Image side: 32, 64, 128 or 256", cxxopts::value<int64_t>()->default_value("32"))(
      "arch", "notebook or pytorch-examples", cxxopts::value<std::string>()->default_value("notebook"))(
      "json", "Print one JSON object instead of tables (default: off)",
      cxxopts::value<bool>()->default_value("false"));
  // clang-format on
  auto args = parse_options(options, argc, argv);
  if (!args) return 0;
  const auto conv_dim = (*args)["conv-dim"].as<int64_t>();
  const auto z_size = (*args)["z-size"].as<int64_t>();
  if (conv_dim < 1)
    throw InputError("--conv-dim must be at least 1, got " + std::to_string(conv_dim));
  if (z_size < 1) throw InputError("--z-size must be at least 1, got " + std::to_string(z_size));
  const auto image_size = (*args)["image-size"].as<int64_t>();
  models::check_image_size(image_size);
  const auto arch = models::parse_arch((*args)["arch"].as<std::string>());
  models::Generator generator(
      models::GeneratorOptions(z_size, conv_dim).image_size(image_size).arch(arch));
  models::Discriminator discriminator{
      models::DiscriminatorOptions(conv_dim).image_size(image_size).arch(arch)};
  const auto side = std::to_string(image_size) + "x" + std::to_string(image_size);
  const auto g = models::summarize(generator);
  const auto d = models::summarize(discriminator);
  if ((*args)["json"].as<bool>()) {
    std::cout << nlohmann::json{{"generator", models::to_json(g)},
                                {"discriminator", models::to_json(d)}}
                     .dump()
              << std::endl;
  } else {
    const auto model = models::to_string(arch) + ", " + side + ", conv_dim " +
                       std::to_string(conv_dim);
    std::cout << models::to_table("Generator (" + model + ", z_size " + std::to_string(z_size) +
                                      ")",
                                  g)
              << "\n"
              << models::to_table("Discriminator (" + model + ")", d);
  }
  return 0;
}

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
  dist::LaunchOptions launch;
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
  return dist::launch_local(launch);
}

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
  auto parsed = parse_options(options, argc, argv);
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

// Seed from --seed, or a fresh one that is printed so the images can be made again.
uint64_t seed_option(const cxxopts::ParseResult& args) {
  if (args.count("seed")) return args["seed"].as<uint64_t>();
  const uint64_t seed = std::random_device{}() & 0x7FFFFFFF;
  spdlog::info("seed {} (pass --seed {} to make the same images again)", seed, seed);
  return seed;
}

int64_t positive_option(const cxxopts::ParseResult& args, const std::string& name, int64_t max) {
  const auto value = args[name].as<int64_t>();
  if (value < 1 || value > max) {
    throw InputError("--" + name + " must be in 1-" + std::to_string(max) + ", got " +
                     std::to_string(value));
  }
  return value;
}

// The options of the commands that sample a checkpoint's generator.
void add_sampling_options(cxxopts::Options& options, const std::string& out_default) {
  // clang-format off: one option per line reads as a table
  options.add_options()("checkpoint", "A checkpoint (run/checkpoints/last.pt or epoch_NNN.pt)",
                        cxxopts::value<std::string>())(
      "seed", "Random seed (default: random, printed)", cxxopts::value<uint64_t>())(
      "out", "PNG to write", cxxopts::value<std::string>()->default_value(out_default))(
      "device", "auto, cpu, cuda or cuda:N", cxxopts::value<std::string>()->default_value("auto"));
  // clang-format on
}

// --checkpoint's generator on --device, once --out is known to be writable.
models::Generator load_sampling_generator(const cxxopts::ParseResult& args) {
  if (!args.count("checkpoint")) throw InputError("--checkpoint FILE is required");
  check_output_file(args["out"].as<std::string>());
  const auto device = train::set_up_device(args["device"].as<std::string>(), /*threads=*/0);
  return train::load_generator(args["checkpoint"].as<std::string>(), device);
}

int generate_command(int argc, char** argv) {
  cxxopts::Options options("dcgan generate", "Generate new images from a checkpoint.");
  add_sampling_options(options, "grid.png");
  // clang-format off: one option per line reads as a table
  options.add_options()("count", "Number of images",
                        cxxopts::value<int64_t>()->default_value("64"))(
      "nrow", "Images per row of the grid", cxxopts::value<int64_t>()->default_value("8"))(
      "individual", "Also write one PNG per image into this folder (for FID tools)",
      cxxopts::value<std::string>());
  // clang-format on
  auto parsed = parse_options(options, argc, argv);
  if (!parsed) return 0;
  const auto& args = *parsed;
  const auto count = positive_option(args, "count", 1000000);
  const auto nrow = positive_option(args, "nrow", 4096);
  const auto out = args["out"].as<std::string>();
  if (args.count("individual")) ensure_writable_dir(args["individual"].as<std::string>());
  auto generator = load_sampling_generator(args);
  const auto seed = seed_option(args);
  const auto z = sampling::seeded_z(generator, count, seed);
  // Render in chunks: a million images at once would not fit in memory as floats.
  std::vector<torch::Tensor> chunks;
  for (int64_t start = 0; start < count; start += 1024) {
    chunks.push_back(
        sampling::render(generator, z.narrow(0, start, std::min<int64_t>(1024, count - start))));
  }
  const auto images = torch::cat(chunks);
  image::write_png(out, image::make_grid(images, nrow));
  spdlog::info("wrote {} ({} images)", out, count);
  if (args.count("individual")) {
    const auto folder = args["individual"].as<std::string>();
    sampling::write_individual_pngs(folder, images);
    spdlog::info("wrote {} PNGs of {}x{} into {}", count, images.size(2), images.size(3), folder);
  }
  return 0;
}

int interpolate_command(int argc, char** argv) {
  cxxopts::Options options(
      "dcgan interpolate",
      "Walk the latent space: rows of images along straight lines between random z pairs.");
  add_sampling_options(options, "walk.png");
  // clang-format off: one option per line reads as a table
  options.add_options()("rows", "Number of z pairs (rows)",
                        cxxopts::value<int64_t>()->default_value("8"))(
      "steps", "Images per row, both ends included",
      cxxopts::value<int64_t>()->default_value("10"));
  // clang-format on
  auto parsed = parse_options(options, argc, argv);
  if (!parsed) return 0;
  const auto& args = *parsed;
  const auto rows = positive_option(args, "rows", 256);
  const auto steps = positive_option(args, "steps", 256);
  const auto out = args["out"].as<std::string>();
  auto generator = load_sampling_generator(args);
  const auto z = sampling::latent_walk(rows, steps, generator->options().z_size(), seed_option(args),
                                    models::latent_distribution(generator->options().arch()));
  image::write_png(out, image::make_grid(sampling::render(generator, z), steps));
  spdlog::info("wrote {} ({} rows x {} steps)", out, rows, steps);
  return 0;
}

const std::map<std::string, Command>& commands() {
  static const std::map<std::string, Command> table = {
      {"inspect", {"Describe an SVHN .mat file or image folder", inspect_command}},
      {"summary", {"Print both models layer by layer", summary_command}},
      {"train", {"Train the DCGAN, writing samples, losses and checkpoints", train_command}},
      {"generate", {"Generate images from a checkpoint", generate_command}},
      {"interpolate", {"Latent-space walk between random z pairs", interpolate_command}},
      {"export", {"Write a checkpoint's model as a state_dict or TorchScript", export_command}},
      {"import", {"Make a run folder from PyTorch state_dicts or TorchScript", import_command}},
      {"evaluate", {"Measure sample quality (Frechet distance) and the D probe", evaluate_command}},
      {"pack", {"Write an image folder as one SVHN-layout .mat file", pack_command}},
      {"report", {"Write an HTML page comparing runs' curves and results", report_command}},
  };
  return table;
}

void print_usage(std::ostream& out) {
  out << "dcgan " << version() << ": train a DCGAN on SVHN house numbers and generate new ones.\n\n"
      << "Usage: dcgan <command> [options]\n\nCommands:\n";
  for (const auto& [name, command] : commands()) {
    out << "  " << name << std::string(14 - name.size(), ' ') << command.summary << "\n";
  }
  out << "\nRun 'dcgan <command> --help' for a command's options and their defaults.\n"
      << "Options: -h, --help  this help;  --version  versions of dcgan and LibTorch, CUDA "
         "availability\n";
}

}  // namespace

int run(int argc, char** argv) {
  if (argc < 2) {
    print_usage(std::cerr);
    return 2;
  }
  const std::string name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    print_usage(std::cout);
    return 0;
  }
  if (name == "--version" || name == "version") {
    std::cout << version_report() << std::endl;
    return 0;
  }
  const auto it = commands().find(name);
  if (it == commands().end()) {
    std::cerr << "dcgan: unknown command '" << name << "' (commands: ";
    bool first = true;
    for (const auto& entry : commands())
      std::cerr << (first ? "" : ", ") << entry.first, first = false;
    std::cerr << ")" << std::endl;
    return 2;
  }
  try {
    return it->second.run(argc - 1, argv + 1);
  } catch (const InputError& e) {
    std::cerr << "dcgan " << name << ": error: " << e.what() << std::endl;
    return 2;
  } catch (const cxxopts::exceptions::exception& e) {
    std::cerr << "dcgan " << name << ": error: " << e.what() << " (see --help)" << std::endl;
    return 2;
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    std::cerr << "dcgan " << name << ": internal error: " << what.substr(0, what.find('\n'))
              << std::endl;
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "dcgan " << name << ": error: " << e.what() << std::endl;
    return 1;
  }
}

}  // namespace dcgan::cli
