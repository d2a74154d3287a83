#include "dcgan/train/trainer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <set>

#include "dcgan/data/dataset.h"
#include "dcgan/eval/sample_quality.h"
#include "dcgan/models/conditioning.h"
#include "dcgan/models/init.h"
#include "dcgan/models/spec.h"
#include "dcgan/models/summary.h"
#include "dcgan/report/pages.h"
#include "dcgan/sampling/sampling.h"
#include "dcgan/train/progress.h"
#include "dcgan/train/signals.h"
#include "dcgan/util/errors.h"
#include "dcgan/util/version.h"

namespace fs = std::filesystem;

namespace dcgan::train {
namespace {

constexpr const char* kDefaultData = "data/train_32x32.mat";
constexpr const char* kBundledSample = "data/svhn_sample_32x32.mat";
constexpr int64_t kMaxHistorySide = 64;  // of the samples kept for samples/progress.png

using Clock = std::chrono::steady_clock;

// How long the other ranks wait for rank 0 to write an epoch's samples and checkpoint, or for the
// slowest rank to load the data. A lost rank is noticed well before (its heartbeat stops: see
// distributed::Communicator::barrier); this bounds a rank that is alive but stuck.
constexpr std::chrono::minutes kRankWait{30};

// With several ranks, --device auto and cuda mean this rank's GPU: LOCAL_RANK.
std::string device_for_rank(const std::string& device, const distributed::RankEnvironment& env) {
  if (env.world_size == 1) return device;
  const std::string local = "cuda:" + std::to_string(env.local_rank);
  if (device == "cuda") return local;
  if (device == "auto") return torch::cuda::is_available() ? local : "cpu";
  return device;
}

// The world size a run folder was trained with (config.json; 1 for runs from before).
int64_t saved_world_size(const std::string& folder) {
  std::ifstream file(fs::path(folder) / "config.json");
  if (!file) return 1;
  try {
    return nlohmann::json::parse(file).value("world_size", int64_t{1});
  } catch (const nlohmann::json::exception&) {
    return 1;
  }
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
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

StepOptions step_options(const TrainConfig& config) {
  StepOptions options;
  options.smooth_labels = config.smooth_labels;
  options.precision = config.precision == "bf16" ? Precision::kBf16 : Precision::kFp32;
  options.channels_last = config.channels_last;
  options.batch_size = config.batch_size;
  return options;
}

// The classes a conditional run trains on, in label order: SVHN's digits, or the class folders'
// (a packed file's) names. Refuses data without a label per image or with too few classes.
std::vector<std::string> training_classes(const data::ImageSet& data, const std::string& path) {
  if (!data.labelled()) {
    throw InputError(path +
                     ": --conditional needs a label for every image (SVHN's y, class subfolders, "
                     "or a file written by dcgan pack), and these images have none");
  }
  const int64_t count = data.class_count();
  if (count < 2 || count > models::kMaxClasses) {
    throw InputError(path + ": --conditional needs 2-" + std::to_string(models::kMaxClasses) +
                     " classes, and the data has " + std::to_string(count));
  }
  models::check_labels(data.labels, count, path);
  const auto low = data.labels.min().item<int64_t>(), high = data.labels.max().item<int64_t>();
  if (low == high) {
    throw InputError(path + ": every image is of class " + std::to_string(low) +
                     "; --conditional needs images of at least 2 classes");
  }
  if (!data.classes.empty()) return data.classes;
  std::vector<std::string> digits;
  for (int64_t d = 0; d < count; ++d) digits.push_back(std::to_string(d));
  return digits;
}

}  // namespace

nlohmann::json run_description(const TrainConfig& config, const data::ImageSet& data) {
  static const std::set<std::string> per_rank = {
      "out",      "device",     "threads",  "progress", "plot",
      "seed",     "nrow",       "eval_every", "eval_data", "feature_net",
      "eval_count", "checkpoint_every", "keep_checkpoints"};
  nlohmann::json description = nlohmann::json::object();
  const auto options = to_json(config);
  for (const auto& [key, value] : options.items()) {
    if (per_rank.count(key)) continue;
    std::string flag = "--" + key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    if (key == "batch_norm") {
      description["--no-batch-norm"] = !value.get<bool>();
    } else {
      description[flag] = value;
    }
  }
  description["--resume"] = config.resume;
  for (const auto& path : config.data) {
    std::error_code ec;
    if (fs::is_regular_file(path, ec))
      description["data file " + path + " (bytes)"] = fs::file_size(path, ec);
  }
  description["images loaded"] = data.size();
  description["image side"] = data.side();
  // Another build lays out or exchanges tensors differently; Gloo then fails on its own thread.
  description["dcgan version"] = version();
  description["LibTorch version"] = torch_version();
  return description;
}

Trainer::Trainer(TrainConfig config)
    : config_(std::move(config)), device_(torch::kCPU), step_kind_(StepKind::kEager) {
  validate(config_);
  const auto rank_env = distributed::read_rank_environment();
  if (rank_env) config_.device = device_for_rank(config_.device, *rank_env);
  device_ = set_up_device(config_.device, config_.threads);
  distributed::JoinOptions join_options;
  join_options.backend = config_.backend;
  join_options.timeout = std::chrono::seconds(config_.dist_timeout);
  join_options.device = device_;
  comm_ = rank_env ? distributed::join(*rank_env, join_options) : distributed::single_process();
  if (!comm_->is_root()) {
    spdlog::set_level(spdlog::level::off);  // only rank 0 prints
    config_.progress = "log";
  }
  step_kind_ = resolve_step_kind(config_.step, device_);
  if (config_.precision == "bf16" && !device_.is_cuda())
    throw InputError("--precision bf16 needs a CUDA device; use --precision fp32 on the CPU");
  if (!config_.resume.empty()) {
    const std::string last = (fs::path(config_.resume) / "checkpoints" / "last.pt").string();
    if (!fs::exists(last))
      throw InputError(config_.resume + ": no checkpoint to resume (expected " + last + ")");
    resuming_ = true;
    const int64_t saved_world = saved_world_size(config_.resume);
    if (saved_world != comm_->world_size()) {
      throw InputError(config_.resume + ": the run trained on " + std::to_string(saved_world) +
                       " rank(s) and this is " + std::to_string(comm_->world_size()) +
                       "; resume it with the same world size (the batch per rank and each "
                       "rank's share of an epoch depend on it)");
    }
  }
  if (config_.out_dir.empty()) config_.out_dir = "runs/" + timestamp_for_path();
  if (!resuming_ && fs::exists(fs::path(config_.out_dir) / "checkpoints" / "last.pt")) {
    throw InputError(config_.out_dir + ": already holds a run; continue it with --resume " +
                     config_.out_dir + " or choose another --out");
  }

  config_.data = resolve_data_paths(config_.data);
  data_ = data::load_images(config_.data, config_.limit, folder_options());
  if (data_.side() != config_.image_size) {
    const auto side = [](int64_t s) { return std::to_string(s) + "x" + std::to_string(s); };
    // The hint must be a command that works: --image-size takes only the model's sizes.
    const std::string hint =
        models::is_supported_image_size(data_.side())
            ? "pass --image-size " + std::to_string(data_.side()) + " or data of that size"
            : "the model makes only 32x32, 64x64, 128x128 or 256x256 images: resize the data to "
              "one of these (an image folder is resized to --image-size as it loads)";
    throw InputError(config_.data.front() + ": images are " + side(data_.side()) +
                     ", but the model makes " + side(config_.image_size) + " (--image-size " +
                     std::to_string(config_.image_size) + "); " + hint);
  }
  if (config_.batch_size > data_.size()) {
    throw InputError("--batch-size " + std::to_string(config_.batch_size) +
                     " is larger than the data (" + std::to_string(data_.size()) + " images)");
  }

  auto options = gan_options(config_);
  if (options.conditional()) {
    progress_.class_names = training_classes(data_, config_.data.front());
    options.classes = static_cast<int64_t>(progress_.class_names.size());
  }

  comm_->barrier(kRankWait, "wait for every rank to load the data");
  comm_->check_agreement(run_description(config_, data_));
  if (!config_.seed_given) config_.seed = random_seed();
  config_.seed = comm_->rank0_value(config_.seed, "agreement on the seed");
  config_.seed_given = true;
  torch::manual_seed(config_.seed);
  gan_ = std::make_unique<Gan>(options, device_);
  gan_->communicator = comm_;
  if (resuming_) {
    const auto class_names = progress_.class_names;
    progress_ =
        load_checkpoint((fs::path(config_.out_dir) / "checkpoints" / "last.pt").string(), *gan_);
    if (progress_.class_names != class_names) {
      throw InputError(config_.data.front() +
                       ": its classes are not those the resumed run trained on (" +
                       nlohmann::json(progress_.class_names).dump() + ")");
    }
    if (progress_.epochs_done >= config_.epochs && progress_.batch_in_epoch == 0) {
      throw InputError(config_.resume + ": run already finished " +
                       std::to_string(progress_.epochs_done) +
                       " epochs; pass a larger --epochs to train further");
    }
  } else {
    const auto init = models::parse_weights_init(config_.weights_init);
    models::apply_weights_init(*gan_->generator, init);
    models::apply_weights_init(*gan_->discriminator, init);
    reset_g_ema(*gan_);
    // A conditional grid: one row per class, each column one z across every class.
    progress_.fixed_z =
        options.conditional()
            ? sample_z(gan_->options, config_.nrow, device_).repeat({options.classes, 1})
            : sample_z(gan_->options, config_.sample_size, device_);
  }

  // Every rank starts from rank 0's weights, as DDP does.
  std::vector<torch::Tensor> state;
  for (torch::nn::Module* network : {static_cast<torch::nn::Module*>(gan_->generator.get()),
                                     static_cast<torch::nn::Module*>(gan_->discriminator.get())}) {
    for (const auto& t : network->parameters()) state.push_back(t);
    for (const auto& t : network->buffers()) state.push_back(t);
  }
  comm_->broadcast(state, "broadcast of rank 0's weights");

  if (!comm_->is_root()) config_.eval_every = 0;  // rank 0 measures and writes
  if (config_.eval_every > 0) set_up_quality();
  record_stops_from_now();  // the run folder exists from here: a stop saves a checkpoint
  folder_ = std::make_unique<RunFolder>(
      config_.out_dir,
      estimated_checkpoint_bytes(*gan_) * static_cast<uint64_t>(config_.keep_checkpoints + 2),
      comm_->is_root());
  // Images live on the training device as uint8: no float copy of the set, no per-batch upload.
  data_.images = data_.images.to(device_);
  comm_->barrier(kRankWait, "wait for rank 0 to set up the run");
}

data::ImageFolderOptions Trainer::folder_options() const {
  data::ImageFolderOptions folder;
  folder.image_size = config_.image_size;  // a folder is resized to the model's size
  folder.use_cache = config_.folder_cache;
  folder.cache_dir = config_.cache_dir;
  folder.strict = config_.strict_data;
  folder.progress = config_.progress;
  return folder;
}

void Trainer::set_up_quality() {
  const auto test = data::load_images({config_.eval_data}, 0, folder_options());
  if (test.size() < 2)
    throw InputError(config_.eval_data + ": --eval-data needs at least 2 images");
  eval::FeatureNetSource source;
  source.path = config_.feature_net.empty() ? eval::default_feature_net_path(config_.data.front())
                                            : config_.feature_net;
  source.train = &data_;
  source.train_path = config_.data.front();
  source.test = &test;
  source.seed = eval::kDefaultFeatureNetSeed;
  eval::FeatureNetInfo info;
  quality_net_ = eval::load_or_train_feature_net(source, &info);
  quality_net_->to(device_);
  const auto real = test.images.narrow(0, 0, std::min(config_.eval_count, test.size()));
  quality_real_ = eval::real_feature_stats(quality_net_, real);
  if (gan_->options.conditional()) quality_test_ = test;
  spdlog::info(
      "sample quality every {} epochs: feature net {} (test accuracy {:.2f}%), {} real "
      "images of {}",
      config_.eval_every, source.path, 100 * info.test_accuracy, real.size(0), config_.eval_data);
}

// The Frechet distance of eval_count samples (seeded by the run's seed, so epochs compare) to the
// real images, in the feature net's space; the RNG of the run is left untouched.
void Trainer::measure_quality(int64_t epoch) {
  const auto quality = eval::sample_quality(sampling_generator(*gan_), quality_net_, quality_real_,
                                            config_.eval_count, config_.seed);
  last_quality_ = eval::to_json(quality);
  last_quality_["epoch"] = epoch;
  // A conditional run also asks for each class and records how often the feature net reads it so.
  std::optional<double> class_accuracy;
  std::string class_text;
  if (gan_->options.conditional()) {
    const auto classes = eval::class_quality(sampling_generator(*gan_), quality_net_,
                                             quality_test_, config_.eval_count, config_.seed);
    last_quality_["classes"] = eval::to_json(classes, progress_.class_names);
    class_accuracy = last_quality_["classes"]["mean_accuracy"].get<double>();
    class_text = fmt::format(", {:.1f}% read as the class asked for", 100 * *class_accuracy);
  }
  folder_->append_quality(epoch, quality.frechet_distance, quality.confident_share,
                          progress_.global_step, class_accuracy);
  if (config_.plot) folder_->plot_quality();
  spdlog::info("epoch {} sample quality: Frechet distance {:.2f}, {:.1f}% confidently a digit{}",
               epoch, quality.frechet_distance, 100 * quality.confident_share, class_text);
}

void Trainer::log_start() const {
  spdlog::info("dcgan {} | LibTorch {} | device {} | {} CPU threads | {} step, {}{}", version(),
               torch_version(), device_.str(), torch::get_num_threads(), step_->name(),
               config_.precision, config_.channels_last ? ", channels_last" : "");
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
  if (config_.recipe != "notebook") {
    spdlog::info("recipe {}: {} (unless given otherwise)", config_.recipe,
                 recipe_flags(config_.recipe));
  }
}

torch::Tensor Trainer::epoch_order() {
  if (progress_.batch_in_epoch > 0 && progress_.epoch_order.defined()) return progress_.epoch_order;
  return torch::randperm(data_.size(), torch::kInt64);
}

bool Trainer::read_losses(const StepLosses& losses, int64_t epoch, int64_t batch) {
  const auto mean = comm_->mean({losses.d_loss.item<double>(), losses.g_loss.item<double>()},
                                "average of the losses");
  last_d_loss_ = mean[0];
  last_g_loss_ = mean[1];
  if (std::isfinite(last_d_loss_) && std::isfinite(last_g_loss_)) return true;
  const char* which = std::isfinite(last_d_loss_) ? "g_loss" : "d_loss";
  spdlog::error(
      "{} became {} at epoch {}, batch {} (step {}): training diverged. The last good checkpoint "
      "is kept: {} (epoch {}). Try a lower --lr, --smooth-labels or --weights-init normal.",
      which, std::isfinite(last_d_loss_) ? last_g_loss_ : last_d_loss_, epoch, batch,
      progress_.global_step, folder_->last_checkpoint(), progress_.epochs_done);
  return false;
}

TrainOutcome Trainer::run() {
  const auto wall_start = Clock::now();
  step_ = make_train_step(step_kind_, *gan_, data_.images, step_options(config_),
                          gan_->options.conditional() ? data_.labels.to(device_) : torch::Tensor());
  auto config_json = to_json(config_);
  config_json["versions"] = library_versions();
  config_json["device_name"] =
      device_.is_cuda() ? "cuda:" + std::to_string(device_.index()) : "cpu";
  config_json["step_used"] = step_->name();
  config_json["cpu_threads"] = torch::get_num_threads();
  config_json["world_size"] = comm_->world_size();
  config_json["dist_backend"] = comm_->backend();
  config_json["batch_size_means"] = "per rank";
  config_json["global_batch_size"] = config_.batch_size * comm_->world_size();
  config_json["dataset_images"] = data_.size();
  config_json["dataset_format"] = data_.format;
  if (!config_.command_line.empty()) config_json["command_line"] = config_.command_line;
  folder_->prepare(config_json, resuming_, progress_.global_step);
  progress_.config_json = to_json(config_).dump();
  log_start();
  update_report(report::RunStatus::kRunning);
  comm_->barrier(kRankWait, "wait for rank 0 to prepare the run folder");

  StopRequest stop;
  TrainOutcome outcome;
  outcome.out_dir = config_.out_dir;
  outcome.checkpoint = folder_->last_checkpoint();
  // Called once the checkpoint is saved: says where it is and how to continue.
  auto interrupted = [&](const std::string& where) {
    outcome.status = TrainOutcome::Status::kInterrupted;
    outcome.signal = StopRequest::signal();
    spdlog::warn("interrupted {}: checkpoint saved to {}", where, outcome.checkpoint);
    spdlog::warn("resume with: dcgan train --resume {}", config_.out_dir);
    update_report(report::RunStatus::kInterrupted);
    return outcome;
  };

  const int64_t n = comm_->share_size(data_.size()), batch_size = config_.batch_size;
  const int64_t batches = (n + batch_size - 1) / batch_size;  // the last may be partial, as in
                                                              // the notebook
  const int width = static_cast<int>(std::to_string(config_.epochs).size());
  ProgressDisplay display(config_.progress, config_.epochs, batches);
  // A GPU runs ahead of the host; its losses are read (a sync) only to log or to stop.
  const bool read_every_step = device_.is_cpu();

  for (int64_t epoch = progress_.epochs_done + 1; epoch <= config_.epochs; ++epoch) {
    const torch::Tensor order = epoch_order();
    step_->start_epoch(comm_->share(order));
    const int64_t first_batch = progress_.batch_in_epoch;
    display.start_epoch(epoch, first_batch);
    auto rate_start = Clock::now();
    int64_t rate_images = 0;

    for (int64_t b = first_batch; b < batches; ++b) {
      const auto step_start = Clock::now();
      const int64_t first = b * batch_size, size = std::min(batch_size, n - first);
      const auto losses = step_->step(first, size);
      progress_.global_step += 1;
      progress_.images_seen += size * comm_->world_size();  // over all ranks
      progress_.batch_in_epoch = b + 1;
      rate_images += size * comm_->world_size();

      const bool log_now = b % config_.print_every == 0 || b == batches - 1;
      const bool stopping =
          comm_->any(StopRequest::signal() != 0, "agreement to stop") && b + 1 < batches;
      // Losses are checked before anything is logged or saved, so no checkpoint ever holds
      // weights from after a non-finite loss.
      if ((read_every_step || log_now || stopping) && !read_losses(losses, epoch, b + 1)) {
        display.finish_epoch();
        outcome.status = TrainOutcome::Status::kDiverged;
        update_report(report::RunStatus::kDiverged);
        return outcome;
      }
      progress_.train_seconds += seconds_since(step_start);
      const double rate = rate_images / std::max(1e-9, seconds_since(rate_start));
      display.update(b + 1, last_d_loss_, last_g_loss_, rate);
      if (log_now) {
        folder_->append_losses(epoch, b + 1, last_d_loss_, last_g_loss_, progress_.global_step);
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
        recalibrate_g_ema(*gan_);
        save_checkpoints(epoch - 1, /*epoch_file=*/false);
        return interrupted(fmt::format("at epoch {}, batch {}/{}", epoch, b + 1, batches));
      }
    }
    const double epoch_rate = rate_images / std::max(1e-9, seconds_since(rate_start));
    display.finish_epoch();
    progress_.epochs_done = epoch;
    progress_.batch_in_epoch = 0;
    progress_.epoch_order = torch::Tensor();
    end_epoch(epoch);
    comm_->barrier(kRankWait, "wait for rank 0's end of epoch");
    // report.html: the epoch's speed and time (samples and checkpoint included) for its ETA.
    folder_->append_epoch(epoch, seconds_since(rate_start), epoch_rate, progress_.global_step);
    update_report(report::RunStatus::kRunning);
    if (comm_->any(StopRequest::signal() != 0, "agreement to stop") && epoch < config_.epochs) {
      return interrupted(fmt::format("after epoch {}", epoch));
    }
  }
  write_summary(seconds_since(wall_start));
  update_report(report::RunStatus::kDone);
  spdlog::info("done: {} epochs, {} images in {:.1f} s of training ({:.0f} img/s). Outputs in {}",
               progress_.epochs_done, progress_.images_seen, progress_.train_seconds,
               progress_.images_seen / std::max(1e-9, progress_.train_seconds), config_.out_dir);
  return outcome;
}

void Trainer::end_epoch(int64_t epoch) {
  recalibrate_g_ema(*gan_);
  // Samples in eval mode, as the notebook does: BatchNorm uses its running statistics.
  const auto samples = sampling::render(
      sampling_generator(*gan_), progress_.fixed_z,
      gan_->options.conditional()
          ? sampling::class_rows(gan_->options.classes,
                                 progress_.fixed_z.size(0) / gan_->options.classes)
          : torch::Tensor());
  const auto png = folder_->write_samples(epoch, samples, config_.nrow);
  // The history goes into every checkpoint: kept at 64x64 at most (16 samples x 50 epochs at
  // 256x256 would add 150 MB to each), which is plenty for the progress sheet.
  const auto kept = samples.size(-1) <= kMaxHistorySide
                        ? samples
                        : torch::adaptive_avg_pool2d(samples.to(torch::kFloat32),
                                                     {kMaxHistorySide, kMaxHistorySide})
                              .round()
                              .to(torch::kUInt8);
  progress_.sample_history = progress_.sample_history.defined()
                                 ? torch::cat({progress_.sample_history, kept.unsqueeze(0)})
                                 : kept.unsqueeze(0);
  folder_->write_progress_sheet(progress_.sample_history);
  if (config_.eval_every > 0 && (epoch % config_.eval_every == 0 || epoch == config_.epochs)) {
    measure_quality(epoch);
  }
  const bool epoch_file = epoch % config_.checkpoint_every == 0 || epoch == config_.epochs;
  save_checkpoints(epoch, epoch_file);
  if (config_.plot) folder_->plot_losses();
  spdlog::info("epoch {} done: samples {}, checkpoint {}", epoch, png, folder_->last_checkpoint());
}

void Trainer::save_checkpoints(int64_t epoch, bool epoch_file) {
  step_->sync_optimizer_state();
  folder_->save_checkpoint(serialize_checkpoint(*gan_, progress_), epoch, epoch_file,
                           config_.keep_checkpoints);
}

void Trainer::write_summary(double wall_seconds) {
  nlohmann::json summary = {
      {"epochs", progress_.epochs_done},
      {"steps", progress_.global_step},
      {"images_seen", progress_.images_seen},
      {"wall_seconds", wall_seconds},
      {"training_seconds", progress_.train_seconds},
      {"images_per_second", progress_.images_seen / std::max(1e-9, progress_.train_seconds)},
      {"final_d_loss", last_d_loss_},
      {"final_g_loss", last_g_loss_},
      {"device", device_.str()},
      {"step", step_->name()},
      {"precision", config_.precision},
      {"checkpoint", folder_->last_checkpoint()}};
  if (!last_quality_.is_null()) summary["quality"] = last_quality_;
  folder_->write_summary(summary);
}

void Trainer::update_report(report::RunStatus status) {
  if (folder_->owner()) report::update_run_report(config_.out_dir, status);
}

}  // namespace dcgan::train
