#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "dcgan/data/svhn.h"
#include "dcgan/train/checkpoint.h"
#include "dcgan/train/config.h"
#include "dcgan/train/gan.h"
#include "dcgan/util/files.h"

namespace dcgan::train {

struct TrainOutcome {
  enum class Status { kCompleted, kInterrupted, kDiverged };
  Status status = Status::kCompleted;
  int signal = 0;          // the signal that interrupted the run
  std::string out_dir;     // the run folder
  std::string checkpoint;  // the newest good checkpoint
};

// CPU threads for --threads: the number given, else OMP_NUM_THREADS, else every core.
int64_t cpu_threads(int64_t requested);

// Device from --device: auto (CUDA when available), cpu, cuda, cuda:N. InputError when CUDA is
// asked for but not available.
torch::Device resolve_device(const std::string& name);

// A training run: `dcgan train`. The constructor does every check (options, device, data,
// checkpoint to resume, output folder, disk space) and writes nothing; run() trains and writes
// config.json, losses.csv, losses.png, samples/, checkpoints/ and summary.json into the run folder.
class Trainer {
 public:
  explicit Trainer(TrainConfig config);
  TrainOutcome run();

  const TrainConfig& config() const { return config_; }
  Gan& gan() { return *gan_; }
  int64_t dataset_size() const { return data_.size(); }

 private:
  void prepare_output_folder();
  void log_start() const;
  torch::Tensor epoch_order();  // the saved order when resuming mid-epoch, else a new shuffle
  void append_loss_row(int64_t epoch, int64_t batch, double d_loss, double g_loss);
  void end_epoch(int64_t epoch);
  void save_checkpoints(int64_t epoch, bool epoch_file);
  void write_progress_sheet();
  void write_summary(double wall_seconds, double d_loss, double g_loss);
  std::string dir(const std::string& name) const;

  TrainConfig config_;
  torch::Device device_;
  data::ImageSet data_;
  std::unique_ptr<Gan> gan_;
  std::unique_ptr<FolderLock> lock_;
  TrainingProgress progress_;
  bool resuming_ = false;
  double last_d_loss_ = NAN, last_g_loss_ = NAN;
};

}  // namespace dcgan::train
