#include "dcgan/train/progress.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace dcgan::train {
namespace {

std::string clock_string(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto s = static_cast<int64_t>(seconds + 0.5);
  char buffer[32];
  if (s >= 3600) {
    std::snprintf(buffer, sizeof(buffer), "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  } else {
    std::snprintf(buffer, sizeof(buffer), "%02lld:%02lld", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  }
  return buffer;
}

}  // namespace

ProgressDisplay::ProgressDisplay(const std::string& mode, int64_t epochs, int64_t batches_per_epoch)
    : live_(mode == "bar" ||
            (mode == "auto" && ::isatty(STDOUT_FILENO) && ::isatty(STDERR_FILENO))),
      quiet_(mode == "none"),
      epochs_(epochs),
      batches_(batches_per_epoch) {}

void ProgressDisplay::start_epoch(int64_t epoch, int64_t first_batch) {
  epoch_ = epoch;
  batch_ = first_batch_ = first_batch;
  d_loss_ = g_loss_ = std::nan("");
  rate_ = 0;
  epoch_start_ = last_draw_ = std::chrono::steady_clock::now();
  if (live_) draw_bar();
}

void ProgressDisplay::update(int64_t batch_done, double d_loss, double g_loss,
                             double images_per_second) {
  batch_ = batch_done;
  if (std::isfinite(d_loss)) d_loss_ = d_loss;
  if (std::isfinite(g_loss)) g_loss_ = g_loss;
  rate_ = images_per_second;
  if (!live_) return;
  const auto now = std::chrono::steady_clock::now();
  // Redraw at most 10 times a second: a terminal write per step would cost real time on fast GPUs.
  if (now - last_draw_ >= std::chrono::milliseconds(100) || batch_ == batches_) {
    last_draw_ = now;
    draw_bar();
  }
}

void ProgressDisplay::log(const std::string& line) {
  if (quiet_) return;
  clear_bar();
  spdlog::info(line);
  if (live_ && batch_ < batches_ && epoch_ > 0) draw_bar();
}

void ProgressDisplay::finish_epoch() {
  clear_bar();
}

void ProgressDisplay::clear_bar() {
  if (!bar_visible_) return;
  std::fputs("\r\033[K", stdout);
  std::fflush(stdout);
  bar_visible_ = false;
}

void ProgressDisplay::draw_bar() {
  constexpr int kWidth = 28;
  const double fraction = batches_ ? static_cast<double>(batch_) / batches_ : 1.0;
  const int filled = static_cast<int>(fraction * kWidth);
  std::string bar(filled, '#');
  bar.resize(kWidth, '.');
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start_).count();
  const int64_t done_here = batch_ - first_batch_;
  const double eta = done_here > 0 ? elapsed / done_here * (batches_ - batch_) : NAN;
  char line[256];
  std::snprintf(line, sizeof(line),
                "\r\033[KEpoch %lld/%lld [%s] %lld/%lld | %.0f img/s | d %.4f | g %.4f | %s<%s",
                static_cast<long long>(epoch_), static_cast<long long>(epochs_), bar.c_str(),
                static_cast<long long>(batch_), static_cast<long long>(batches_), rate_, d_loss_,
                g_loss_, clock_string(elapsed).c_str(), clock_string(eta).c_str());
  std::fputs(line, stdout);
  std::fflush(stdout);
  bar_visible_ = true;
}

}  // namespace dcgan::train
