#include "dcgan/cli/sampling_commands.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cxxopts.hpp>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "dcgan/cli/options.h"
#include "dcgan/image/grid.h"
#include "dcgan/image/png.h"
#include "dcgan/models/spec.h"
#include "dcgan/sampling/sampling.h"
#include "dcgan/train/checkpoint.h"
#include "dcgan/train/device.h"
#include "dcgan/util/errors.h"
#include "dcgan/util/files.h"

namespace dcgan::cli {
namespace {

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

// --checkpoint's generator on --device, once --out is known to be writable; `info` receives what
// the checkpoint is.
models::Generator load_sampling_generator(const cxxopts::ParseResult& args,
                                          train::CheckpointInfo& info) {
  if (!args.count("checkpoint")) throw InputError("--checkpoint FILE is required");
  check_output_file(args["out"].as<std::string>());
  const auto device = train::set_up_device(args["device"].as<std::string>(), /*threads=*/0);
  return train::load_generator(args["checkpoint"].as<std::string>(), device, &info);
}

// The class indices that `tokens` (comma-separated class names, or indices) name among `names`;
// `given` is what the user typed, for the message.
std::vector<int64_t> parse_classes(const std::string& given, const std::string& tokens,
                                   const std::vector<std::string>& names) {
  std::string known;
  for (size_t i = 0; i < names.size() && i < 12; ++i) known += (i ? ", " : "") + names[i];
  if (names.size() > 12) known += ", ... (" + std::to_string(names.size()) + " classes)";
  std::vector<int64_t> classes;
  std::string token;
  std::stringstream stream(tokens);
  while (std::getline(stream, token, ',')) {
    const auto named = std::find(names.begin(), names.end(), token);
    if (named != names.end()) {
      classes.push_back(named - names.begin());
      continue;
    }
    const bool digits_only =
        !token.empty() && token.size() < 6 && token.find_first_not_of("0123456789") == std::string::npos;
    if (digits_only && std::stoll(token) < static_cast<int64_t>(names.size())) {
      classes.push_back(std::stoll(token));
      continue;
    }
    throw InputError(given + ": '" + token + "' is not a class of this checkpoint (its classes: " +
                     known + ")");
  }
  if (classes.empty()) throw InputError(given + ": names no class");
  return classes;
}

// The class names of a conditional checkpoint; InputError when it is not one and `option` asks
// for classes.
std::vector<std::string> checkpoint_classes(const train::CheckpointInfo& info,
                                            const std::string& checkpoint,
                                            const std::string& option) {
  const auto& names = info.class_names;
  if (names.empty() && !option.empty()) {
    throw InputError(checkpoint + ": " + option +
                     " needs a conditional checkpoint (trained with --conditional); this one is "
                     "unconditional");
  }
  return names;
}

// A conditional checkpoint's generate: --per-class images of each class asked for, one row per
// class, one z per column (a column shows one style across the classes); or house-number strips.
int generate_classes(const cxxopts::ParseResult& args, models::Generator& generator,
                     const std::vector<std::string>& names) {
  const auto out = args["out"].as<std::string>();
  if (args.count("count")) {
    throw InputError(
        "--count is for unconditional checkpoints; this one is conditional: use --per-class N "
        "(and --class to choose the classes)");
  }
  const auto per_class = positive_option(args, "per-class", 100000);
  std::vector<int64_t> classes;
  if (args.count("digits")) {
    // Every character one class: "4021" is the digits 4, 0, 2 and 1.
    const auto digits = args["digits"].as<std::string>();
    std::string tokens;
    for (const char c : digits) tokens += (tokens.empty() ? "" : ",") + std::string(1, c);
    classes = parse_classes("--digits " + digits, tokens, names);
  } else if (args.count("class")) {
    classes = parse_classes("--class " + args["class"].as<std::string>(),
                            args["class"].as<std::string>(), names);
  } else {
    for (int64_t k = 0; k < static_cast<int64_t>(names.size()); ++k) classes.push_back(k);
  }
  const auto seed = seed_option(args);
  const auto k = static_cast<int64_t>(classes.size());
  const auto class_tensor = torch::tensor(classes, torch::kInt64);
  const auto z = sampling::seeded_z(generator, per_class, seed);
  if (args.count("digits")) {
    // One plate per z: the typed digits side by side, drawn from that one z, with no gap.
    const auto images = sampling::render(generator, z.repeat_interleave(k, 0),
                                         class_tensor.repeat({per_class}));
    const auto plates = images.view({per_class, k, 3, images.size(2), images.size(3)})
                            .permute({0, 2, 3, 1, 4})
                            .reshape({per_class, 3, images.size(2), k * images.size(3)});
    image::write_png(out, image::make_grid(plates, /*nrow=*/1));
    spdlog::info("wrote {} ({} house numbers '{}')", out, per_class, args["digits"].as<std::string>());
    return 0;
  }
  // Row r is class classes[r]; column j is z_j in every row.
  const auto images =
      sampling::render(generator, z.repeat({k, 1}), class_tensor.repeat_interleave(per_class));
  image::write_png(out, image::make_grid(images, per_class));
  spdlog::info("wrote {} ({} classes x {} images)", out, k, per_class);
  if (args.count("individual")) {
    // One subfolder per class, named as the class: the folder reads back as a class folder.
    const auto folder = std::filesystem::path(args["individual"].as<std::string>());
    for (int64_t r = 0; r < k; ++r) {
      sampling::write_individual_pngs((folder / names[static_cast<size_t>(classes[r])]).string(),
                                      images.narrow(0, r * per_class, per_class));
    }
    spdlog::info("wrote {} PNGs into {}, one subfolder per class", k * per_class, folder.string());
  }
  return 0;
}

}  // namespace

int generate_command(int argc, char** argv) {
  cxxopts::Options options("dcgan generate", "Generate new images from a checkpoint.");
  add_sampling_options(options, "grid.png");
  // clang-format off: one option per line reads as a table
  options.add_options()("count", "Number of images",
                        cxxopts::value<int64_t>()->default_value("64"))(
      "nrow", "Images per row of the grid", cxxopts::value<int64_t>()->default_value("8"))(
      "individual",
      "Also write one PNG per image into this folder (for FID tools); a conditional checkpoint's "
      "go into one subfolder per class",
      cxxopts::value<std::string>())(
      "class", "Conditional checkpoints: the classes to draw, comma-separated (e.g. 7 or 0,3,7; "
      "default: all), one row each", cxxopts::value<std::string>())(
      "per-class", "Conditional checkpoints: images per class (a column shares one z)",
      cxxopts::value<int64_t>()->default_value("8"))(
      "digits", "Conditional checkpoints of digits: house-number plates of these digits (e.g. "
      "4021), one z per plate, --per-class plates", cxxopts::value<std::string>());
  // clang-format on
  auto parsed = parse_options(options, argc, argv);
  if (!parsed) return 0;
  const auto& args = *parsed;
  if (args.count("class") && args.count("digits"))
    throw InputError("--class and --digits: choose one");
  if (!args.count("checkpoint")) throw InputError("--checkpoint FILE is required");
  const std::string asked = args.count("digits")      ? "--digits"
                            : args.count("class")     ? "--class"
                            : args.count("per-class") ? "--per-class"
                                                      : "";
  const auto count = positive_option(args, "count", 1000000);
  const auto nrow = positive_option(args, "nrow", 4096);
  const auto out = args["out"].as<std::string>();
  if (args.count("individual")) ensure_writable_dir(args["individual"].as<std::string>());
  train::CheckpointInfo info;
  auto generator = load_sampling_generator(args, info);
  const auto names = checkpoint_classes(info, args["checkpoint"].as<std::string>(), asked);
  if (!names.empty()) return generate_classes(args, generator, names);
  const auto seed = seed_option(args);
  const auto images = sampling::render(generator, sampling::seeded_z(generator, count, seed));
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
      cxxopts::value<int64_t>()->default_value("10"))(
      "class", "Conditional checkpoints: walk within this class (default: row r walks class r "
      "mod the class count)", cxxopts::value<std::string>())(
      "across-classes", "Conditional checkpoints: keep each row's z and change the class along it "
      "(one column per class) (default: off)", cxxopts::value<bool>()->default_value("false"));
  // clang-format on
  auto parsed = parse_options(options, argc, argv);
  if (!parsed) return 0;
  const auto& args = *parsed;
  const auto rows = positive_option(args, "rows", 256);
  const auto steps = positive_option(args, "steps", 256);
  const auto out = args["out"].as<std::string>();
  if (!args.count("checkpoint")) throw InputError("--checkpoint FILE is required");
  const bool across = args["across-classes"].as<bool>();
  if (args.count("class") && across) throw InputError("--class and --across-classes: choose one");
  train::CheckpointInfo info;
  auto generator = load_sampling_generator(args, info);
  const auto names = checkpoint_classes(info, args["checkpoint"].as<std::string>(),
                                        across               ? "--across-classes"
                                        : args.count("class") ? "--class"
                                                              : "");
  const auto seed = seed_option(args);
  const auto classes = static_cast<int64_t>(names.size());
  torch::Tensor z, labels;
  int64_t columns = steps;
  if (across) {
    // Row r: one z, drawn as class 0, 1, ... in turn.
    z = sampling::seeded_z(generator, rows, seed).repeat_interleave(classes, 0);
    labels = torch::arange(classes, torch::kInt64).repeat({rows});
    columns = classes;
  } else {
    z = sampling::latent_walk(rows, steps, generator->options().z_size(), seed,
                              models::latent_distribution(generator->options().arch()));
    if (classes > 0) {
      const auto row_class =
          args.count("class")
              ? torch::full({rows},
                            parse_classes("--class " + args["class"].as<std::string>(),
                                          args["class"].as<std::string>(), names)
                                .front(),
                            torch::kInt64)
              : torch::arange(rows, torch::kInt64).remainder(classes);
      labels = row_class.repeat_interleave(steps);
    }
  }
  image::write_png(out, image::make_grid(sampling::render(generator, z, labels), columns));
  spdlog::info("wrote {} ({} rows x {} columns)", out, rows, columns);
  return 0;
}

}  // namespace dcgan::cli
