#include "dcgan/report/run_data.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "dcgan/train/config.h"
#include "dcgan/util/errors.h"

namespace fs = std::filesystem;

namespace dcgan::report {
namespace {

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool parse_int(const std::string& text, int64_t* value) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  *value = std::strtoll(text.c_str(), &end, 10);
  return errno == 0 && *end == '\0';
}

bool parse_double(const std::string& text, double* value) {
  if (text.empty()) return false;
  char* end = nullptr;
  *value = std::strtod(text.c_str(), &end);
  return *end == '\0';
}

// The data rows of a CSV file as fields, skipping the header and every row that has fewer than
// `fields` fields or does not end in a newline (the row a running writer has not finished).
std::vector<std::vector<std::string>> csv_rows(const fs::path& path, size_t fields) {
  const std::string text = read_text(path);
  std::vector<std::vector<std::string>> rows;
  size_t start = text.find('\n');  // past the header
  while (start != std::string::npos && start + 1 < text.size()) {
    const size_t end = text.find('\n', start + 1);
    if (end == std::string::npos) break;
    std::vector<std::string> row;
    std::stringstream line(text.substr(start + 1, end - start - 1));
    for (std::string field; std::getline(line, field, ',');) row.push_back(field);
    if (row.size() >= fields) rows.push_back(std::move(row));  // later columns are optional
    start = end;
  }
  return rows;
}

nlohmann::json read_json_or_null(const fs::path& path) {
  const std::string text = read_text(path);
  if (text.empty()) return nullptr;
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    return nullptr;
  }
}

uint64_t file_bytes(const fs::path& path) {
  std::error_code ec;
  const auto bytes = fs::file_size(path, ec);
  return ec ? 0 : bytes;
}

}  // namespace

int64_t RunData::epochs_done() const {
  int64_t done = 0;
  if (summary.is_object() && summary.contains("epochs") && summary["epochs"].is_number_integer())
    done = summary["epochs"].get<int64_t>();
  if (!epochs.empty()) done = std::max(done, epochs.back().epoch);
  if (!samples.empty()) done = std::max(done, samples.back().epoch);
  return done;
}

int64_t RunData::epochs_total() const {
  if (config.is_object() && config.contains("epochs") && config["epochs"].is_number_integer())
    return config["epochs"].get<int64_t>();
  return 0;
}

std::string RunData::status() const {
  if (summary.is_object()) return "done";
  return recorded_status.empty() ? "unknown" : recorded_status;
}

RunData read_run(const std::string& folder) {
  const fs::path dir(folder);
  std::error_code ec;
  if (!fs::exists(dir, ec)) throw InputError(folder + ": no such folder");
  if (!fs::is_directory(dir, ec)) throw InputError(folder + ": not a folder");
  const auto config_path = dir / "config.json";
  if (!fs::is_regular_file(config_path, ec))
    throw InputError(folder + ": not a dcgan run folder (no config.json)");
  RunData run;
  run.folder = folder;
  try {
    run.config = nlohmann::json::parse(read_text(config_path));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(config_path.string() + ": unreadable run config (" + e.what() + ")");
  }
  if (!run.config.is_object())
    throw InputError(config_path.string() + ": unreadable run config (not a JSON object)");
  // A run from before an option has no key for it; it trained with the value --resume reads for
  // it (config_from_json's), so pages compare that rather than an absent key.
  try {
    const auto as_resumed = train::to_json(train::config_from_json(run.config));
    for (const auto& item : as_resumed.items()) {
      if (!run.config.contains(item.key())) run.config[item.key()] = item.value();
    }
  } catch (const std::exception&) {
    // A config.json that resume cannot read: the pages show what it holds.
  }
  run.summary = read_json_or_null(dir / "summary.json");
  if (!run.summary.is_object()) run.summary = nullptr;

  // The status the trainer wrote last, from the page it wrote (see run_page).
  const std::string previous = read_text(dir / "report.html").substr(0, 4096);
  std::smatch match;
  if (std::regex_search(previous, match,
                        std::regex(R"re(<meta name="dcgan-status" content="([a-z]+)">)re")))
    run.recorded_status = match[1];

  for (const auto& row : csv_rows(dir / "losses.csv", 5)) {
    LossRow r;
    if (parse_int(row[0], &r.epoch) && parse_int(row[1], &r.batch) &&
        parse_double(row[2], &r.d_loss) && parse_double(row[3], &r.g_loss) &&
        parse_int(row[4], &r.step))
      run.losses.push_back(r);
  }
  for (const auto& row : csv_rows(dir / "quality.csv", 4)) {
    QualityRow r;
    if (parse_int(row[0], &r.epoch) && parse_double(row[1], &r.frechet_distance) &&
        parse_double(row[2], &r.confident_share) && parse_int(row[3], &r.step)) {
      if (row.size() > 4 && !parse_double(row[4], &r.class_accuracy)) r.class_accuracy = kNotMeasured;
      run.quality.push_back(r);
    }
  }
  for (const auto& row : csv_rows(dir / "epochs.csv", 4)) {
    EpochRow r;
    if (parse_int(row[0], &r.epoch) && parse_double(row[1], &r.seconds) &&
        parse_double(row[2], &r.images_per_second) && parse_int(row[3], &r.step))
      run.epochs.push_back(r);
  }

  const std::regex epoch_png(R"(epoch_(\d{1,9})\.png)");
  fs::file_time_type walk_time{};
  for (const auto& sub : {std::string(), std::string("samples/")}) {
    for (const auto& entry : fs::directory_iterator(dir / sub, ec)) {
      if (!entry.is_regular_file(ec)) continue;
      const std::string name = entry.path().filename().string();
      if (sub == "samples/" && std::regex_match(name, match, epoch_png)) {
        run.samples.push_back({sub + name, std::stoll(match[1]), file_bytes(entry.path())});
      } else if (name.rfind("walk", 0) == 0 && entry.path().extension() == ".png" &&
                 name.find(".tmp.") == std::string::npos) {
        const auto time = entry.last_write_time(ec);
        if (run.walk.empty() || time > walk_time) run.walk = sub + name, walk_time = time;
      }
    }
  }
  std::sort(run.samples.begin(), run.samples.end(),
            [](const RunFile& a, const RunFile& b) { return a.epoch < b.epoch; });
  if (fs::is_regular_file(dir / "samples" / "progress.png", ec))
    run.progress_sheet = "samples/progress.png";

  for (const auto& entry : fs::directory_iterator(dir / "checkpoints", ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".pt" || !entry.is_regular_file(ec)) continue;
    int64_t epoch = 0;
    if (std::regex_match(name, match, std::regex(R"(epoch_(\d{1,9})\.pt)")))
      epoch = std::stoll(match[1]);
    run.checkpoints.push_back({"checkpoints/" + name, epoch, file_bytes(entry.path())});
  }
  std::sort(run.checkpoints.begin(), run.checkpoints.end(), [](const RunFile& a, const RunFile& b) {
    const bool a_last = a.path == "checkpoints/last.pt", b_last = b.path == "checkpoints/last.pt";
    return a_last != b_last ? a_last : a.path < b.path;
  });
  return run;
}

}  // namespace dcgan::report
