#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "dcgan/data/image_folder.h"
#include "dcgan/data/svhn.h"
#include "dcgan/distributed/communicator.h"
#include "dcgan/eval/feature_net.h"
#include "dcgan/eval/frechet.h"
#include "dcgan/train/checkpoint.h"
#include "dcgan/train/config.h"
#include "dcgan/train/device.h"
#include "dcgan/train/gan.h"
#include "dcgan/train/run_folder.h"
#include "dcgan/train/step.h"

namespace dcgan::report {
enum class RunStatus;  // dcgan/report/pages.h
}

namespace dcgan::train {

struct TrainOutcome {
  enum class Status { kCompleted, kInterrupted, kDiverged };
  Status status = Status::kCompleted;
  int signal = 0;          // the signal that interrupted the run
  std::string out_dir;     // the run folder
  std::string checkpoint;  // the newest good checkpoint
};

// What every rank of a data-parallel run must agree on (Communicator::check_agreement): each option
// that changes what is computed, under its flag's name, the data (each file's size, the images
// loaded) and the versions of dcgan and LibTorch. Left out: what only rank 0 does (writing,
// measuring) and what may differ per rank (device, threads, display).
nlohmann::json run_description(const TrainConfig& config, const data::ImageSet& data);

// A training run: `dcgan train`. The constructor does every check (options, device, data,
// checkpoint to resume, output folder, disk space) and writes nothing; run() trains and writes
// the run folder (see RunFolder).
class Trainer {
 public:
  explicit Trainer(TrainConfig config);
  TrainOutcome run();

  const TrainConfig& config() const { return config_; }
  Gan& gan() { return *gan_; }
  int64_t dataset_size() const { return data_.size(); }

 private:
  void log_start() const;
  torch::Tensor epoch_order();  // the saved order when resuming mid-epoch, else a new shuffle
  // Reads the step's losses (a device sync); false, with the error logged, when one is not finite.
  bool read_losses(const StepLosses& losses, int64_t epoch, int64_t batch);
  void set_up_quality();
  data::ImageFolderOptions folder_options() const;  // --no-cache, --cache-dir, --strict  // --eval-every: the feature net and the real images' feature statistics
  void measure_quality(int64_t epoch);
  void end_epoch(int64_t epoch);
  void save_checkpoints(int64_t epoch, bool epoch_file);
  void write_summary(double wall_seconds);
  void update_report(report::RunStatus status);  // report.html, by the run folder's owner

  TrainConfig config_;
  // The ranks of a data-parallel run (world size 1 without torchrun's environment).
  std::shared_ptr<distributed::Communicator> comm_;
  torch::Device device_;
  StepKind step_kind_;
  data::ImageSet data_;
  std::unique_ptr<Gan> gan_;
  std::unique_ptr<RunFolder> folder_;
  std::unique_ptr<TrainStep> step_;
  TrainingProgress progress_;
  bool resuming_ = false;
  double last_d_loss_ = NAN, last_g_loss_ = NAN;
  eval::FeatureNet quality_net_{nullptr};
  eval::FeatureStats quality_real_;
  data::ImageSet quality_test_;  // --eval-data's labelled images, for a conditional run's classes
  nlohmann::json last_quality_;  // the newest --eval-every measurement, for summary.json
};

}  // namespace dcgan::train
