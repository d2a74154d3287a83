#include "dcgan/train/trainer.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include "dcgan/data/dataset.h"
#include "dcgan/data/scale.h"
#include "dcgan/image/grid.h"
#include "dcgan/image/png.h"
#include "dcgan/models/init.h"
#include "dcgan/models/summary.h"
#include "dcgan/train/plot.h"
#include "dcgan/train/progress.h"
#include "dcgan/train/signals.h"
#include "dcgan/util/errors.h"
#include "dcgan/util/files.h"
#include "dcgan/util/version.h"

namespace fs = std::filesystem;

namespace dcgan::train {
namespace {

constexpr const char* kDefaultData = "data/train_32x32.mat";
constexpr const char* kBundledSample = "data/svhn_sample_32x32.mat";
constexpr int64_t kMaxProgressRows = 20;

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string epoch_name(int64_t epoch) {
  std::ostringstream name;
  name << "epoch_" << std::setw(3) << std::setfill('0') << epoch;
  return name.str();
}

// The default data file falls back to the sample bundled in data/ (also looked up in the source
// tree, so the binary works from any folder of a checkout).
std::vector<std::string> resolve_data_paths(const std::vector<std::string>& paths) {
  if (paths.size() != 1 || paths.front() != kDefaultData || fs::exists(kDefaultData)) return paths;
  for (const std::string& candidate :
       {std::string(kBundledSample), std::string(DCGAN_SOURCE_DIR "/") + kBundledSample}) {
    if (fs::exists(candidate)) {
      spdlog::info(
          "{} not found (run scripts/download_svhn.sh for the real SVHN); using the bundled sample "
          "{}",
          kDefaultData, candidate);
      return {candidate};
    }
  }
  return paths;
}

uint64_t random_seed() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32 | device()) & 0x7FFFFFFFFFFFFFFFULL;
}

// Checkpoint size: weights plus Adam's two moments, BatchNorm buffers, and slack for the archive.
uint64_t estimated_checkpoint_bytes(Gan& gan) {
  const auto params =
      models::count_parameters(*gan.generator) + models::count_parameters(*gan.discriminator);
  return static_cast<uint64_t>(params) * 4 * 3 + (1 << 20);
}

// Keeps the header and the well-formed rows of losses.csv up to `last_step`: a run killed after
// its last checkpoint must not log the same steps twice, and a torn last row (disk full, power
// loss) must not survive.
void trim_loss_rows(const std::string& path, int64_t last_step) {
  std::ifstream in(path);
  if (!in) return;
  static const std::regex row(R"(\d+,\d+,[^,]+,[^,]+,(\d{1,18}))");
  std::string line, kept;
  std::smatch match;
  bool header = true;
  while (std::getline(in, line)) {
    if (header) {
      kept += line + "\n";
      header = false;
    } else if (std::regex_match(line, match, row) && std::stoll(match[1].str()) <= last_step) {
      kept += line + "\n";
    }
  }
  write_file_atomically(path, kept);
}

}  // namespace

int64_t cpu_threads(int64_t requested) {
  if (requested > 0) return requested;
  // Debian's LibTorch starts with one OpenMP thread; a 2-core machine trains ~1.6x faster with two.
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    const int64_t n = std::atoll(env);
    if (n > 0) return n;
  }
  return std::max<int64_t>(1, std::thread::hardware_concurrency());
}

torch::Device resolve_device(const std::string& name) {
  const bool cuda = torch::cuda::is_available();
  if (name == "auto") return cuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (name == "cpu") return torch::kCPU;
  static const std::regex cuda_pattern("cuda(:([0-9]+))?");
  std::smatch match;
  if (!std::regex_match(name, match, cuda_pattern)) {
    throw InputError("--device must be auto, cpu, cuda or cuda:N, got '" + name + "'");
  }
  if (!cuda) {
    throw InputError("--device " + name + ": CUDA is not available (no GPU, or LibTorch " +
                     torch_version() + " built without CUDA); use --device cpu");
  }
  const int64_t index = match[2].matched ? std::stoll(match[2].str()) : 0;
  const int64_t count = static_cast<int64_t>(torch::cuda::device_count());
  if (index >= count) {
    throw InputError("--device " + name + ": only " + std::to_string(count) +
                     " CUDA device(s) present");
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

Trainer::Trainer(TrainConfig config) : config_(std::move(config)), device_(torch::kCPU) {
  validate(config_);
  device_ = resolve_device(config_.device);
  torch::set_num_threads(static_cast<int>(cpu_threads(config_.threads)));
  if (!config_.resume.empty()) {
    const std::string last = (fs::path(config_.resume) / "checkpoints" / "last.pt").string();
    if (!fs::exists(last))
      throw InputError(config_.resume + ": no checkpoint to resume (expected " + last + ")");
    resuming_ = true;
  }
  if (config_.out_dir.empty()) config_.out_dir = "runs/" + timestamp_for_path();
  if (!resuming_ && fs::exists(fs::path(config_.out_dir) / "checkpoints" / "last.pt")) {
    throw InputError(config_.out_dir + ": already holds a run; continue it with --resume " +
                     config_.out_dir + " or choose another --out");
  }

  config_.data = resolve_data_paths(config_.data);
  data_ = data::load_images(config_.data, config_.limit);
  if (config_.batch_size > data_.size()) {
    throw InputError("--batch-size " + std::to_string(config_.batch_size) +
                     " is larger than the data (" + std::to_string(data_.size()) + " images)");
  }

  if (!config_.seed_given) config_.seed = random_seed();
  config_.seed_given = true;
  torch::manual_seed(config_.seed);
  GanOptions options{config_.conv_dim, config_.z_size, config_.lr, config_.beta1, config_.beta2};
  gan_ = std::make_unique<Gan>(options, device_);
  if (resuming_) {
    progress_ = load_checkpoint(dir("checkpoints/last.pt"), *gan_);
    if (progress_.epochs_done >= config_.epochs && progress_.batch_in_epoch == 0) {
      throw InputError(config_.resume + ": run already finished " +
                       std::to_string(progress_.epochs_done) +
                       " epochs; pass a larger --epochs to train further");
    }
  } else {
    const auto init = models::parse_weights_init(config_.weights_init);
    models::apply_weights_init(*gan_->generator, init);
    models::apply_weights_init(*gan_->discriminator, init);
    progress_.fixed_z = sample_z(config_.sample_size, config_.z_size, device_);
  }

  ensure_writable_dir(config_.out_dir);
  const uint64_t needed =
      estimated_checkpoint_bytes(*gan_) * static_cast<uint64_t>(config_.keep_checkpoints + 2);
  const uint64_t available = available_bytes(config_.out_dir);
  if (available < needed) {
    throw InputError(config_.out_dir + ": only " + std::to_string(available >> 20) +
                     " MiB free, checkpoints need about " + std::to_string(needed >> 20) +
                     " MiB (lower --keep-checkpoints or free space)");
  }
  lock_ = std::make_unique<FolderLock>(dir(".lock"), config_.out_dir);
  // Images live on the training device as uint8: no float copy of the set, no per-batch upload.
  data_.images = data_.images.to(device_);
}

std::string Trainer::dir(const std::string& name) const {
  return (fs::path(config_.out_dir) / name).string();
}

void Trainer::prepare_output_folder() {
  fs::create_directories(dir("samples"));
  fs::create_directories(dir("checkpoints"));
  auto config_json = to_json(config_);
  config_json["versions"] = library_versions();
  config_json["device_name"] =
      device_.is_cuda() ? "cuda:" + std::to_string(device_.index()) : "cpu";
  config_json["cpu_threads"] = torch::get_num_threads();
  config_json["dataset_images"] = data_.size();
  config_json["dataset_format"] = data_.format;
  write_file_atomically(dir("config.json"), config_json.dump(2) + "\n");
  progress_.config_json = to_json(config_).dump();
  // Leftovers of writes cut short by a kill; safe to remove since this process holds the folder
  // lock.
  for (const char* folder : {"", "checkpoints", "samples"}) remove_stale_temp_files(dir(folder));
  if (resuming_) {
    trim_loss_rows(dir("losses.csv"), progress_.global_step);
  } else {
    write_file_atomically(dir("losses.csv"), "epoch,batch,d_loss,g_loss,step\n");
  }
}

void Trainer::log_start() const {
  spdlog::info("dcgan {} | LibTorch {} | device {} | {} CPU threads", version(), torch_version(),
               device_.str(), torch::get_num_threads());
  spdlog::info("data: {} images ({}) from {}", data_.size(), data_.format,
               fmt::join(config_.data, ", "));
  spdlog::info("config: {}", to_json(config_).dump());
  spdlog::info("models: generator {} params, discriminator {} params",
               models::count_parameters(*gan_->generator),
               models::count_parameters(*gan_->discriminator));
  if (resuming_) {
    spdlog::info("resuming {} at epoch {}, batch {} (step {})", config_.out_dir,
                 progress_.epochs_done + 1, progress_.batch_in_epoch, progress_.global_step);
  }
  spdlog::info("writing to {}", config_.out_dir);
}

torch::Tensor Trainer::epoch_order() {
  if (progress_.batch_in_epoch > 0 && progress_.epoch_order.defined()) return progress_.epoch_order;
  return torch::randperm(data_.size(), torch::kInt64);
}

void Trainer::append_loss_row(int64_t epoch, int64_t batch, double d_loss, double g_loss) {
  std::ofstream csv(dir("losses.csv"), std::ios::app);
  csv << epoch << "," << batch << "," << std::setprecision(6) << d_loss << "," << g_loss << ","
      << progress_.global_step << "\n";
  if (!csv) throw std::runtime_error(dir("losses.csv") + ": write failed (disk full?)");
}

TrainOutcome Trainer::run() {
  const auto wall_start = Clock::now();
  prepare_output_folder();
  log_start();
  StopRequest stop;
  TrainOutcome outcome;
  outcome.out_dir = config_.out_dir;
  outcome.checkpoint = dir("checkpoints/last.pt");
  // Called once the checkpoint is saved: says where it is and how to continue.
  auto interrupted = [&](const std::string& where) {
    outcome.status = TrainOutcome::Status::kInterrupted;
    outcome.signal = StopRequest::signal();
    spdlog::warn("interrupted {}: checkpoint saved to {}", where, outcome.checkpoint);
    spdlog::warn("resume with: dcgan train --resume {}", config_.out_dir);
    return outcome;
  };

  const int64_t n = data_.size(), batch_size = config_.batch_size;
  const int64_t batches =
      (n + batch_size - 1) / batch_size;  // the last batch may be partial, as in the notebook
  const int width = static_cast<int>(std::to_string(config_.epochs).size());
  ProgressDisplay display(config_.progress, config_.epochs, batches);
  const bool sync_every_step = device_.is_cpu();

  for (int64_t epoch = progress_.epochs_done + 1; epoch <= config_.epochs; ++epoch) {
    const torch::Tensor order = epoch_order();
    const torch::Tensor order_on_device = order.to(device_);
    const int64_t first_batch = progress_.batch_in_epoch;
    display.start_epoch(epoch, first_batch);
    auto rate_start = Clock::now();
    int64_t rate_images = 0;

    for (int64_t b = first_batch; b < batches; ++b) {
      const auto step_start = Clock::now();
      const int64_t start = b * batch_size, size = std::min(batch_size, n - start);
      const auto real = data_.images.index_select(0, order_on_device.narrow(0, start, size));
      const auto losses = train_step(*gan_, real, config_.smooth_labels);
      progress_.global_step += 1;
      progress_.images_seen += size;
      progress_.batch_in_epoch = b + 1;
      rate_images += size;

      const bool log_now = b % config_.print_every == 0 || b == batches - 1;
      // Losses are read (and checked) before anything is logged or saved, so no checkpoint ever
      // holds weights from after a non-finite loss.
      const bool stopping = StopRequest::signal() != 0 && b + 1 < batches;
      if (sync_every_step || log_now || stopping) {
        last_d_loss_ = losses.d_loss.item<double>();
        last_g_loss_ = losses.g_loss.item<double>();
        if (!std::isfinite(last_d_loss_) || !std::isfinite(last_g_loss_)) {
          display.finish_epoch();
          const char* which = std::isfinite(last_d_loss_) ? "g_loss" : "d_loss";
          spdlog::error(
              "{} became {} at epoch {}, batch {} (step {}): training diverged. The last good "
              "checkpoint is kept: {} (epoch {}). Try a lower --lr, --smooth-labels or "
              "--weights-init normal.",
              which, std::isfinite(last_d_loss_) ? last_g_loss_ : last_d_loss_, epoch, b + 1,
              progress_.global_step, outcome.checkpoint, progress_.epochs_done);
          outcome.status = TrainOutcome::Status::kDiverged;
          return outcome;
        }
      }
      progress_.train_seconds += seconds_since(step_start);
      const double rate = rate_images / std::max(1e-9, seconds_since(rate_start));
      display.update(b + 1, last_d_loss_, last_g_loss_, rate);
      if (log_now) {
        append_loss_row(epoch, b + 1, last_d_loss_, last_g_loss_);
        if (!display.live() || b == batches - 1) {
          display.log(fmt::format(
              "Epoch [{:>{}}/{}] | batch {:>5}/{} | d_loss: {:6.4f} | g_loss: {:6.4f} | {:.0f} "
              "img/s",
              epoch, width, config_.epochs, b + 1, batches, last_d_loss_, last_g_loss_, rate));
        }
      }
      if (stopping) {
        display.finish_epoch();
        progress_.epoch_order = order;
        save_checkpoints(epoch - 1, /*epoch_file=*/false);
        return interrupted(fmt::format("at epoch {}, batch {}/{}", epoch, b + 1, batches));
      }
    }
    display.finish_epoch();
    progress_.epochs_done = epoch;
    progress_.batch_in_epoch = 0;
    progress_.epoch_order = torch::Tensor();
    end_epoch(epoch);
    if (StopRequest::signal() != 0 && epoch < config_.epochs) {
      return interrupted(fmt::format("after epoch {}", epoch));
    }
  }
  write_summary(seconds_since(wall_start), last_d_loss_, last_g_loss_);
  spdlog::info("done: {} epochs, {} images in {:.1f} s of training ({:.0f} img/s). Outputs in {}",
               progress_.epochs_done, progress_.images_seen, progress_.train_seconds,
               progress_.images_seen / std::max(1e-9, progress_.train_seconds), config_.out_dir);
  return outcome;
}

void Trainer::end_epoch(int64_t epoch) {
  torch::Tensor samples;
  {
    // Samples in eval mode, as the notebook does: BatchNorm uses its running statistics.
    torch::NoGradGuard no_grad;
    gan_->generator->eval();
    samples = data::unscale(gan_->generator(progress_.fixed_z)).cpu();
    gan_->generator->train();
  }
  const auto png = dir("samples/" + epoch_name(epoch) + ".png");
  image::write_png(png, image::make_grid(samples, config_.nrow));
  progress_.sample_history = progress_.sample_history.defined()
                                 ? torch::cat({progress_.sample_history, samples.unsqueeze(0)})
                                 : samples.unsqueeze(0);
  write_progress_sheet();
  const bool epoch_file = epoch % config_.checkpoint_every == 0 || epoch == config_.epochs;
  save_checkpoints(epoch, epoch_file);
  if (config_.plot) plot_losses(dir("losses.csv"), dir("losses.png"));
  spdlog::info("epoch {} done: samples {}, checkpoint {}", epoch, png, dir("checkpoints/last.pt"));
}

void Trainer::save_checkpoints(int64_t epoch, bool epoch_file) {
  const std::string bytes = serialize_checkpoint(*gan_, progress_);
  write_file_atomically(dir("checkpoints/last.pt"), bytes);
  if (!epoch_file || config_.keep_checkpoints == 0) return;
  write_file_atomically(dir("checkpoints/" + epoch_name(epoch) + ".pt"), bytes);
  // Keep the newest keep_checkpoints epoch files; names sort by epoch.
  std::vector<fs::path> epoch_files;
  for (const auto& entry : fs::directory_iterator(dir("checkpoints"))) {
    const auto name = entry.path().filename().string();
    if (name.rfind("epoch_", 0) == 0 && entry.path().extension() == ".pt")
      epoch_files.push_back(entry.path());
  }
  std::sort(epoch_files.begin(), epoch_files.end());
  const auto excess = static_cast<int64_t>(epoch_files.size()) - config_.keep_checkpoints;
  for (int64_t i = 0; i < excess; ++i) fs::remove(epoch_files[static_cast<size_t>(i)]);
}

void Trainer::write_progress_sheet() {
  const auto& history = progress_.sample_history;
  const int64_t epochs = history.size(0);
  const int64_t rows = std::min(epochs, kMaxProgressRows);
  // Evenly spaced epochs, always the first and the newest.
  std::vector<int64_t> picked;
  for (int64_t r = 0; r < rows; ++r)
    picked.push_back(rows == 1 ? epochs - 1 : r * (epochs - 1) / (rows - 1));
  const auto selected = history.index_select(0, torch::tensor(picked, torch::kInt64));
  const int64_t per_row = history.size(1);
  image::write_png(dir("samples/progress.png"), image::make_grid(selected.flatten(0, 1), per_row));
}

void Trainer::write_summary(double wall_seconds, double d_loss, double g_loss) {
  nlohmann::json summary = {
      {"epochs", progress_.epochs_done},
      {"steps", progress_.global_step},
      {"images_seen", progress_.images_seen},
      {"wall_seconds", wall_seconds},
      {"training_seconds", progress_.train_seconds},
      {"images_per_second", progress_.images_seen / std::max(1e-9, progress_.train_seconds)},
      {"final_d_loss", d_loss},
      {"final_g_loss", g_loss},
      {"device", device_.str()},
      {"checkpoint", dir("checkpoints/last.pt")}};
  write_file_atomically(dir("summary.json"), summary.dump(2) + "\n");
}

}  // namespace dcgan::train
