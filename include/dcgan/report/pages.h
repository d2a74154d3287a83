#pragma once

#include <ctime>
#include <string>
#include <vector>

#include "dcgan/report/run_data.h"

namespace dcgan::report {

enum class RunStatus { kRunning, kDone, kInterrupted, kDiverged };
const char* status_name(RunStatus status);

// Limits that keep a page small and quick for any run length.
constexpr size_t kMaxPlotPoints = 1000;  // per curve
constexpr size_t kMaxSliderImages = 50;  // sample grids in the epoch slider
constexpr int kRefreshSeconds = 5;       // while running

// RUN/report.html: the run's status, command line, config and versions, its loss, quality and
// speed curves as inline SVG, the ETA while running, the sample grid of each epoch behind a
// slider, the newest latent walk and links to the checkpoints. Images are referenced relatively
// (samples/...), so the page stays small and the run folder can be zipped as it is. `now` is
// the "last updated" time. While running, the page reloads itself every kRefreshSeconds.
std::string run_page(const RunData& run, RunStatus status, std::time_t now);

// Reads `folder` and writes `folder`/report.html atomically. Throws like read_run and
// write_file_atomically.
void write_run_report(const std::string& folder, RunStatus status);

// write_run_report for the trainer: a failure is logged as a warning and never stops training.
void update_run_report(const std::string& folder, RunStatus status) noexcept;

// A page comparing runs: their loss, quality and speed curves overlaid (over epochs, so runs of
// different batch sizes line up), a table of final Frechet distance, confident share, epochs,
// images/s and the config values in which the runs differ, and each run's newest samples. Links
// and images are relative to the folder of `out_path`.
std::string compare_page(const std::vector<RunData>& runs, const std::string& out_path,
                         std::time_t now);

}  // namespace dcgan::report
