#include "dcgan/cli/sampling_commands.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cxxopts.hpp>
#include <random>
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

// --checkpoint's generator on --device, once --out is known to be writable.
models::Generator load_sampling_generator(const cxxopts::ParseResult& args) {
  if (!args.count("checkpoint")) throw InputError("--checkpoint FILE is required");
  check_output_file(args["out"].as<std::string>());
  const auto device = train::set_up_device(args["device"].as<std::string>(), /*threads=*/0);
  return train::load_generator(args["checkpoint"].as<std::string>(), device);
}

}  // namespace

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

}  // namespace dcgan::cli
