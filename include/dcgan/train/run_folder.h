#pragma once

#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "dcgan/util/files.h"

namespace dcgan::train {

// The files of one training run (see README, "The run folder"): config.json, losses.csv,
// losses.png, quality.csv and quality.png (--eval-every), epochs.csv, samples/, checkpoints/,
// summary.json and report.html (written by report/pages.h),
// written only by the process that holds the folder's lock.
class RunFolder {
 public:
  // Checks that `path` is a writable folder with room for `checkpoint_bytes` of checkpoints and
  // locks it. InputError when it is not; nothing is written.
  // `owner` false (the ranks other than 0 of a data-parallel run): no checks, no lock, and every
  // method below writes nothing.
  RunFolder(std::string path, uint64_t checkpoint_bytes, bool owner = true);
  bool owner() const { return owner_; }

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const;
  std::string last_checkpoint() const { return file("checkpoints/last.pt"); }

  // Creates samples/ and checkpoints/, writes config.json and removes temp files left by a killed
  // run. A new run starts losses.csv; a resumed one keeps its rows up to `resumed_step` only.
  void prepare(const nlohmann::json& config, bool resuming, int64_t resumed_step);

  void append_losses(int64_t epoch, int64_t batch, double d_loss, double g_loss, int64_t step);

  // quality.csv (epoch,frechet_distance,confident_share,step,class_accuracy), made on first use;
  // class_accuracy is left empty for an unconditional run. quality.png.
  void append_quality(int64_t epoch, double frechet_distance, double confident_share, int64_t step,
                      std::optional<double> class_accuracy = std::nullopt);
  void plot_quality();

  // epochs.csv (epoch,seconds,images_per_second,step): each epoch's wall time (samples and
  // checkpoint included) and training speed, for report.html's speed curve and ETA.
  void append_epoch(int64_t epoch, double seconds, double images_per_second, int64_t step);

  // samples/epoch_NNN.png from uint8 S x 3 x H x W images; returns its path.
  std::string write_samples(int64_t epoch, const torch::Tensor& samples, int64_t nrow);

  // samples/progress.png: one row per epoch of `history` (E x S x 3 x H x W), at most 20 rows,
  // evenly spaced, always the first and the newest.
  void write_progress_sheet(const torch::Tensor& history);

  // checkpoints/last.pt, and with `epoch_file` also checkpoints/epoch_NNN.pt keeping the newest
  // `keep` of those.
  void save_checkpoint(const std::string& bytes, int64_t epoch, bool epoch_file, int64_t keep);

  void plot_losses();
  void write_summary(const nlohmann::json& summary);

 private:
  std::string path_;
  std::unique_ptr<FolderLock> lock_;
  bool class_accuracy_ = false;  // quality.csv has class accuracy to plot
  bool owner_ = true;
};

}  // namespace dcgan::train
