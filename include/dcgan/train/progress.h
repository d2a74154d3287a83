#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace dcgan::train {

// Step-level progress of a run. On a terminal: one live bar per epoch (images/s, losses, ETA),
// redrawn in place; log lines are printed above it, never through it. Elsewhere (CI, nohup,
// files): no bar, only the periodic log lines. `mode` is auto, bar, log or none (neither).
class ProgressDisplay {
 public:
  ProgressDisplay(const std::string& mode, int64_t epochs, int64_t batches_per_epoch);

  bool live() const { return live_; }
  void start_epoch(int64_t epoch, int64_t first_batch);
  // Called after every step; losses are those of the last sync (NaN when not read yet).
  void update(int64_t batch_done, double d_loss, double g_loss, double images_per_second);
  // Prints a log line (spdlog) without garbling the bar.
  void log(const std::string& line);
  void finish_epoch();

 private:
  void clear_bar();
  void draw_bar();

  bool live_ = false;
  bool quiet_ = false;
  int64_t epochs_, batches_;
  int64_t epoch_ = 0, batch_ = 0, first_batch_ = 0;
  double d_loss_ = 0, g_loss_ = 0, rate_ = 0;
  std::chrono::steady_clock::time_point epoch_start_, last_draw_;
  bool bar_visible_ = false;
};

}  // namespace dcgan::train
