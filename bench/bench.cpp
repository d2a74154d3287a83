// Benchmarks for dcgan_core: training-step throughput (images per second through a TrainStep -
// eager, static or CUDA graph - batches drawn the way the trainer draws them) for each
// batch size x conv_dim, and, with --load, the time and peak memory of load_svhn_mat.
// Every result is one JSON line on stdout, so scripts/bench.sh can tabulate it.
#include <sys/resource.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <chrono>
#include <cxxopts.hpp>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "dcgan/data/dataset.h"
#include "dcgan/data/svhn.h"
#include "dcgan/train/device.h"
#include "dcgan/train/gan.h"
#include "dcgan/train/step.h"
#include "dcgan/util/errors.h"

namespace {

using Clock = std::chrono::steady_clock;

std::vector<int64_t> parse_list(const std::string& text, const char* option) {
  std::vector<int64_t> values;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    size_t used = 0;
    int64_t value = 0;
    try {
      value = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || value < 1) {
      throw dcgan::InputError(std::string("--") + option +
                              ": expected positive integers separated by commas, got '" + text +
                              "'");
    }
    values.push_back(value);
  }
  if (values.empty()) throw dcgan::InputError(std::string("--") + option + " is empty");
  return values;
}

// Peak resident set size of this process so far, in MiB (Linux reports ru_maxrss in KiB).
double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

// VmRSS split as /proc/self/status reports it: anonymous memory (heap, our tensors) versus pages of
// mapped files (mostly the LibTorch shared libraries touched at start-up), in MiB.
nlohmann::json rss_breakdown() {
  nlohmann::json out = nlohmann::json::object();
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    for (const char* key : {"VmRSS", "RssAnon", "RssFile", "VmHWM"}) {
      const std::string prefix = std::string(key) + ":";
      if (line.rfind(prefix, 0) == 0) out[key] = std::stod(line.substr(prefix.size())) / 1024.0;
    }
  }
  return out;
}

// CPU time (user + system) this process has used, in seconds: on a shared machine, images per CPU
// second of a single-threaded run is steadier than images per wall second.
double cpu_seconds() {
  // Reaped children included: the MAT v7.3 reader runs in a child process.
  double total = 0;
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    rusage usage{};
    getrusage(who, &usage);
    total += static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
             static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  }
  return total;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void sync(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

int time_load(const std::string& file, const dcgan::data::ImageFolderOptions& folder) {
  const auto memory_before = rss_breakdown();
  const double rss_before = peak_rss_mib();
  const double cpu_start = cpu_seconds();
  const auto start = Clock::now();
  const auto set = dcgan::data::load_images(file, folder);
  const double seconds = seconds_since(start);
  const auto describe_start = Clock::now();
  const auto stats = dcgan::data::describe(set);  // what `inspect` adds
  const double describe_seconds = seconds_since(describe_start);
  const double cpu = cpu_seconds() - cpu_start;
  const double rss_after = peak_rss_mib();
  const auto memory_after = rss_breakdown();
  nlohmann::json result = {
      {"impl", "cpp-load"},
      {"file", file},
      {"format", set.format},
      {"images", set.size()},
      {"seconds", seconds},
      {"describe_seconds", describe_seconds},
      {"pixel_mean", stats.pixel_mean},
      {"cpu_seconds", cpu},
      {"peak_rss_mib_before", rss_before},
      {"peak_rss_mib_after", rss_after},
      {"images_mib", static_cast<double>(set.images.nbytes()) / (1024.0 * 1024.0)},
      {"status_mib_before", memory_before},
      {"status_mib_after", memory_after}};
  std::cout << result.dump() << std::endl;
  return 0;
}

// Times `steps` training steps after `warmup` untimed ones (for the graph step the first of
// those captures it). Batches come from a shuffled order over the on-device dataset, as in the
// trainer, so the gather and the uint8 -> float scaling are counted, like the notebook's
// DataLoader + scale().
nlohmann::json time_training(const dcgan::data::ImageSet& set, const torch::Device& device,
                             dcgan::train::GanOptions gan_options, int64_t batch_size,
                             int64_t warmup, int64_t steps, const std::string& step_name,
                             dcgan::train::StepOptions options) {
  torch::manual_seed(0);
  dcgan::train::Gan gan(gan_options, device);
  options.batch_size = batch_size;
  const auto kind = dcgan::train::resolve_step_kind(step_name, device);
  auto step = dcgan::train::make_train_step(kind, gan, set.images.to(device), options);

  const int64_t batches = set.size() / batch_size;  // full batches only
  int64_t cursor = batches;
  auto next_step = [&]() {
    if (cursor == batches) {
      step->start_epoch(torch::randperm(set.size(), torch::kInt64));
      cursor = 0;
    }
    return step->step(batch_size * cursor++, batch_size);
  };

  for (int64_t i = 0; i < warmup; ++i) next_step();
  sync(device);
  const double cpu_start = cpu_seconds();
  const auto start = Clock::now();
  dcgan::train::StepLosses losses;
  for (int64_t i = 0; i < steps; ++i) losses = next_step();
  sync(device);
  const double seconds = seconds_since(start);
  const double cpu = cpu_seconds() - cpu_start;
  return {{"impl", "cpp-" + step->name()},
          {"device", device.str()},
          {"precision", options.precision == dcgan::train::Precision::kBf16 ? "bf16" : "fp32"},
          {"channels_last", options.channels_last},
          {"threads", torch::get_num_threads()},
          {"cudnn_benchmark", device.is_cuda() && at::globalContext().benchmarkCuDNN()},
          {"arch", dcgan::models::to_string(gan_options.arch)},
          {"image_size", gan_options.image_size},
          {"conv_dim", gan_options.conv_dim},
          {"batch_size", batch_size},
          {"steps", steps},
          {"seconds", seconds},
          {"images_per_sec", static_cast<double>(steps * batch_size) / seconds},
          {"cpu_seconds", cpu},
          {"images_per_cpu_sec", static_cast<double>(steps * batch_size) / cpu},
          {"d_loss", losses.d_loss.item<double>()},
          {"g_loss", losses.g_loss.item<double>()}};
}

int run(int argc, char** argv) {
  cxxopts::Options options("dcgan_bench",
                           "Training-step throughput and MAT loading benchmarks for dcgan_core.");
  options.add_options()("data", "SVHN-format .mat file to draw batches from",
                        cxxopts::value<std::string>()->default_value("data/svhn_sample_32x32.mat"))(
      "batch-sizes", "Comma-separated batch sizes",
      cxxopts::value<std::string>()->default_value("128,1024"))(
      "conv-dims", "Comma-separated model widths",
      cxxopts::value<std::string>()->default_value("32,128"))(
      "image-size",
      "Image side of the networks (--data is resized to it when its side differs); with --load of "
      "a folder, the side its images are resized to",
      cxxopts::value<int64_t>()->default_value("32"))(
      "arch", "notebook or pytorch-examples",
      cxxopts::value<std::string>()->default_value("notebook"))(
      "steps", "Timed training steps per configuration",
      cxxopts::value<int64_t>()->default_value("20"))(
      "warmup", "Untimed training steps before timing",
      cxxopts::value<int64_t>()->default_value("3"))(
      "device", "cpu, cuda or cuda:N (set up as `dcgan train` does, cuDNN benchmark mode on)",
      cxxopts::value<std::string>()->default_value("cpu"))(
      "threads", "Intra-op threads (0 keeps LibTorch's default)",
      cxxopts::value<int>()->default_value("0"))("smooth", "Smooth real labels to 0.9",
                                                 cxxopts::value<bool>()->default_value("false"))(
      "step", "eager, graph (CUDA) or static (the graph's step uncaptured)",
      cxxopts::value<std::string>()->default_value("eager"))(
      "precision", "fp32 or bf16 (CUDA autocast)",
      cxxopts::value<std::string>()->default_value("fp32"))(
      "channels-last", "NHWC convolution weights", cxxopts::value<bool>()->default_value("false"))(
      "load", "Only time loading FILE (a .mat file or image folder: seconds and peak RSS) and exit",
      cxxopts::value<std::string>())(
      "cache-dir", "With --load of a folder: the cache folder", cxxopts::value<std::string>())(
      "no-cache", "With --load of a folder: no cache",
      cxxopts::value<bool>()->default_value("false"))("h,help", "Show this help");
  const auto args = options.parse(argc, argv);
  if (args.count("help")) {
    std::cout << options.help() << std::endl;
    return 0;
  }
  if (!args.unmatched().empty()) {
    throw dcgan::InputError("unexpected argument '" + args.unmatched().front() + "' (see --help)");
  }
  if (args.count("load")) {
    dcgan::data::ImageFolderOptions folder;
    folder.image_size = args["image-size"].as<int64_t>();
    folder.use_cache = !args["no-cache"].as<bool>();
    if (args.count("cache-dir")) folder.cache_dir = args["cache-dir"].as<std::string>();
    folder.progress = "none";
    return time_load(args["load"].as<std::string>(), folder);
  }

  const int threads = args["threads"].as<int>();
  if (threads < 0) throw dcgan::InputError("--threads must be 0 or more");
  const auto steps = args["steps"].as<int64_t>();
  const auto warmup = args["warmup"].as<int64_t>();
  if (steps < 1 || warmup < 0)
    throw dcgan::InputError("--steps must be at least 1 and --warmup at least 0");
  // The trainer's own device set-up (current device, cuDNN benchmark mode), so that the numbers
  // measure what `dcgan train` runs.
  const auto device = dcgan::train::set_up_device(args["device"].as<std::string>(),
                                                  threads > 0 ? threads : torch::get_num_threads());
  const auto batch_sizes = parse_list(args["batch-sizes"].as<std::string>(), "batch-sizes");
  const auto conv_dims = parse_list(args["conv-dims"].as<std::string>(), "conv-dims");

  dcgan::train::StepOptions step_options;
  step_options.smooth_labels = args["smooth"].as<bool>();
  const auto precision = args["precision"].as<std::string>();
  if (precision != "fp32" && precision != "bf16")
    throw dcgan::InputError("--precision must be fp32 or bf16, got '" + precision + "'");
  step_options.precision =
      precision == "bf16" ? dcgan::train::Precision::kBf16 : dcgan::train::Precision::kFp32;
  step_options.channels_last = args["channels-last"].as<bool>();
  const auto step_name = args["step"].as<std::string>();

  dcgan::train::GanOptions gan_options;
  gan_options.image_size = args["image-size"].as<int64_t>();
  dcgan::models::check_image_size(gan_options.image_size);
  gan_options.arch = dcgan::models::parse_arch(args["arch"].as<std::string>());
  auto set = dcgan::data::load_svhn_mat(args["data"].as<std::string>());
  if (set.side() != gan_options.image_size) {
    // The speed of a step depends on the image size only, not on what the images show.
    const int64_t side = gan_options.image_size;
    set.images = torch::nn::functional::interpolate(
                     set.images.to(torch::kFloat32),
                     torch::nn::functional::InterpolateFuncOptions()
                         .size(std::vector<int64_t>{side, side})
                         .mode(torch::kBilinear)
                         .align_corners(false))
                     .round()
                     .clamp(0, 255)
                     .to(torch::kUInt8);
  }
  for (const auto conv_dim : conv_dims) {
    gan_options.conv_dim = conv_dim;
    for (const auto batch_size : batch_sizes) {
      if (batch_size > set.size()) {
        throw dcgan::InputError("--batch-sizes: " + std::to_string(batch_size) +
                                " is more than the " + std::to_string(set.size()) +
                                " images in --data");
      }
      const auto result =
          time_training(set, device, gan_options, batch_size, warmup, steps, step_name, step_options);
      std::cout << result.dump() << std::endl;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const dcgan::InputError& e) {
    std::cerr << "dcgan_bench: " << e.what() << std::endl;
    return 2;
  } catch (const cxxopts::exceptions::exception& e) {
    std::cerr << "dcgan_bench: " << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "dcgan_bench: internal error: " << e.what() << std::endl;
    return 1;
  }
}
