#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dcgan::report {

struct LossRow {
  int64_t epoch = 0, batch = 0;
  double d_loss = 0, g_loss = 0;
  int64_t step = 0;
};

// quality.csv's class_accuracy where a row has none (an unconditional run).
constexpr double kNotMeasured = std::numeric_limits<double>::quiet_NaN();

struct QualityRow {
  int64_t epoch = 0;
  double frechet_distance = 0, confident_share = 0;
  int64_t step = 0;
  double class_accuracy = kNotMeasured;  // a conditional run's share read as the class asked for
  bool has_class_accuracy() const { return std::isfinite(class_accuracy); }
};

struct EpochRow {
  int64_t epoch = 0;
  double seconds = 0, images_per_second = 0;
  int64_t step = 0;
};

struct RunFile {
  std::string path;  // relative to the run folder, '/'-separated
  int64_t epoch = 0;
  uint64_t bytes = 0;
};

// What the report pages show of a run folder, read from its files. Everything but config.json may
// be missing or half-written (a run in progress, killed, or made by an older dcgan): a torn or
// malformed CSV row is left out, a missing file leaves its part empty.
struct RunData {
  std::string folder;
  nlohmann::json config;             // config.json
  nlohmann::json summary;            // summary.json; null until the run has finished
  std::string recorded_status;       // the status report.html was last written with, if any
  std::vector<LossRow> losses;       // losses.csv
  std::vector<QualityRow> quality;   // quality.csv (--eval-every)
  std::vector<EpochRow> epochs;      // epochs.csv
  std::vector<RunFile> samples;      // samples/epoch_NNN.png, by epoch
  std::string progress_sheet;        // samples/progress.png, "" if absent
  std::string walk;                  // the newest walk*.png in the folder or samples/, "" if none
  std::vector<RunFile> checkpoints;  // checkpoints/*.pt, last.pt first, then by name

  int64_t epochs_done() const;   // the newest epoch any record shows as finished
  int64_t epochs_total() const;  // config.json's epochs
  // The run's status: done when summary.json exists, else the one recorded in report.html, else
  // "unknown".
  std::string status() const;
};

// Reads `folder`. InputError naming the folder when it does not exist or is not a folder,
// "<folder>: not a dcgan run folder (no config.json)" when it is not a run, or naming config.json
// when that cannot be parsed.
RunData read_run(const std::string& folder);

}  // namespace dcgan::report
