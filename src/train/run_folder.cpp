#include "dcgan/train/run_folder.h"

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <regex>
#include <sstream>

#include "dcgan/image/grid.h"
#include "dcgan/image/png.h"
#include "dcgan/train/plot.h"
#include "dcgan/util/errors.h"

namespace fs = std::filesystem;

namespace dcgan::train {
namespace {

constexpr int64_t kMaxProgressRows = 20;

std::string epoch_name(int64_t epoch) {
  std::ostringstream name;
  name << "epoch_" << std::setw(3) << std::setfill('0') << epoch;
  return name.str();
}

constexpr const char* kQualityHeader =
    "epoch,frechet_distance,confident_share,step,class_accuracy\n";
constexpr const char* kEpochsHeader = "epoch,seconds,images_per_second,step\n";

// Keeps the header and the well-formed rows (`fields` comma-separated values, the step last) of
// a CSV log up to `last_step`: a run killed after its last checkpoint must not log the same steps
// twice, and a torn last row (disk full, power loss) must not survive.
void trim_rows(const std::string& path, int64_t last_step, int fields) {
  std::ifstream in(path);
  if (!in) return;
  std::string pattern = R"(\d+)";
  for (int i = 2; i < fields; ++i) pattern += ",[^,]+";
  // Columns added later (quality.csv's class_accuracy) follow the step, possibly empty.
  const std::regex row(pattern + R"(,(\d{1,18})(,[^,]*)*)");
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

RunFolder::RunFolder(std::string path, uint64_t checkpoint_bytes, bool owner)
    : path_(std::move(path)), owner_(owner) {
  if (!owner_) return;
  ensure_writable_dir(path_);
  const uint64_t available = available_bytes(path_);
  if (available < checkpoint_bytes) {
    throw InputError(path_ + ": only " + std::to_string(available >> 20) +
                     " MiB free, checkpoints need about " + std::to_string(checkpoint_bytes >> 20) +
                     " MiB (lower --keep-checkpoints or free space)");
  }
  lock_ = std::make_unique<FolderLock>(file(".lock"), path_);
}

std::string RunFolder::file(const std::string& name) const {
  return (fs::path(path_) / name).string();
}

void RunFolder::prepare(const nlohmann::json& config, bool resuming, int64_t resumed_step) {
  if (!owner_) return;
  fs::create_directories(file("samples"));
  fs::create_directories(file("checkpoints"));
  write_file_atomically(file("config.json"), config.dump(2) + "\n");
  // Leftovers of writes cut short by a kill; safe to remove since this process holds the lock.
  for (const char* folder : {"", "checkpoints", "samples"}) remove_stale_temp_files(file(folder));
  if (resuming) {
    trim_rows(file("losses.csv"), resumed_step, /*fields=*/5);
    trim_rows(file("quality.csv"), resumed_step, /*fields=*/4);
    trim_rows(file("epochs.csv"), resumed_step, /*fields=*/4);
  } else {
    write_file_atomically(file("losses.csv"), "epoch,batch,d_loss,g_loss,step\n");
    write_file_atomically(file("epochs.csv"), kEpochsHeader);
  }
}

void RunFolder::append_losses(int64_t epoch, int64_t batch, double d_loss, double g_loss,
                              int64_t step) {
  if (!owner_) return;
  std::ofstream csv(file("losses.csv"), std::ios::app);
  csv << epoch << "," << batch << "," << std::setprecision(6) << d_loss << "," << g_loss << ","
      << step << "\n";
  if (!csv) throw std::runtime_error(file("losses.csv") + ": write failed (disk full?)");
}

void RunFolder::append_quality(int64_t epoch, double frechet_distance, double confident_share,
                               int64_t step, std::optional<double> class_accuracy) {
  if (!owner_) return;
  const auto path = file("quality.csv");
  if (!std::filesystem::exists(path)) write_file_atomically(path, kQualityHeader);
  std::ofstream csv(path, std::ios::app);
  csv << epoch << "," << std::setprecision(6) << frechet_distance << "," << confident_share << ","
      << step << ",";
  if (class_accuracy) csv << *class_accuracy, class_accuracy_ = true;
  csv << "\n";
  if (!csv) throw std::runtime_error(path + ": write failed (disk full?)");
}

void RunFolder::append_epoch(int64_t epoch, double seconds, double images_per_second,
                             int64_t step) {
  if (!owner_) return;
  const auto path = file("epochs.csv");
  if (!std::filesystem::exists(path)) write_file_atomically(path, kEpochsHeader);  // older runs
  std::ofstream csv(path, std::ios::app);
  csv << epoch << "," << std::setprecision(6) << seconds << "," << images_per_second << "," << step
      << "\n";
  if (!csv) throw std::runtime_error(path + ": write failed (disk full?)");
}

void RunFolder::plot_quality() {
  if (!owner_) return;
  train::plot_quality(file("quality.csv"), file("quality.png"), class_accuracy_);
}

std::string RunFolder::write_samples(int64_t epoch, const torch::Tensor& samples, int64_t nrow) {
  if (!owner_) return file("samples");
  const auto png = file("samples/" + epoch_name(epoch) + ".png");
  image::write_png(png, image::make_grid(samples, nrow));
  return png;
}

void RunFolder::write_progress_sheet(const torch::Tensor& history) {
  if (!owner_) return;
  const int64_t epochs = history.size(0);
  const int64_t rows = std::min(epochs, kMaxProgressRows);
  std::vector<int64_t> picked;
  for (int64_t r = 0; r < rows; ++r)
    picked.push_back(rows == 1 ? epochs - 1 : r * (epochs - 1) / (rows - 1));
  const auto selected = history.index_select(0, torch::tensor(picked, torch::kInt64));
  const int64_t per_row = history.size(1);
  image::write_png(file("samples/progress.png"), image::make_grid(selected.flatten(0, 1), per_row));
}

void RunFolder::save_checkpoint(const std::string& bytes, int64_t epoch, bool epoch_file,
                                int64_t keep) {
  if (!owner_) return;
  write_file_atomically(last_checkpoint(), bytes);
  if (!epoch_file || keep == 0) return;
  write_file_atomically(file("checkpoints/" + epoch_name(epoch) + ".pt"), bytes);
  // Keep the newest `keep` epoch files; names sort by epoch.
  std::vector<fs::path> epoch_files;
  for (const auto& entry : fs::directory_iterator(file("checkpoints"))) {
    const auto name = entry.path().filename().string();
    if (name.rfind("epoch_", 0) == 0 && entry.path().extension() == ".pt")
      epoch_files.push_back(entry.path());
  }
  std::sort(epoch_files.begin(), epoch_files.end());
  const auto excess = static_cast<int64_t>(epoch_files.size()) - keep;
  for (int64_t i = 0; i < excess; ++i) fs::remove(epoch_files[static_cast<size_t>(i)]);
}

void RunFolder::plot_losses() {
  if (!owner_) return;
  train::plot_losses(file("losses.csv"), file("losses.png"));
}

void RunFolder::write_summary(const nlohmann::json& summary) {
  if (!owner_) return;
  write_file_atomically(file("summary.json"), summary.dump(2) + "\n");
}

}  // namespace dcgan::train
