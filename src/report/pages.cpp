#include "dcgan/report/pages.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "dcgan/report/html.h"
#include "dcgan/report/svg_plot.h"
#include "dcgan/util/files.h"

namespace fs = std::filesystem;

namespace dcgan::report {
namespace {

using json = nlohmann::json;

constexpr const char* kStyle =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;"
    "max-width:1100px;padding:12px 16px;color:#222;background:#fafafa;line-height:1.4}"
    "h1{font-size:1.4em;margin:4px 0}h2{font-size:1.15em;margin:22px 0 8px;"
    "border-bottom:1px solid #ccc}h3{font-size:1em;margin:12px 0 6px}"
    ".status{display:inline-block;padding:1px 8px;border-radius:4px;color:#fff;font-weight:bold}"
    ".running{background:#0072B2}.done{background:#007A5A}.interrupted{background:#E69F00;"
    "color:#000}.diverged{background:#C04800}.unknown{background:#666}"
    "table{border-collapse:collapse;background:#fff}td,th{border:1px solid #ddd;padding:3px 8px;"
    "text-align:left;vertical-align:top}th{background:#f0f0f0}td.num{text-align:right;"
    "font-variant-numeric:tabular-nums}"
    "pre{white-space:pre-wrap;word-break:break-all;background:#fff;border:1px solid #ddd;"
    "padding:8px;margin:0}"
    ".plots{display:flex;flex-wrap:wrap;gap:12px}svg.plot{max-width:100%;height:auto;"
    "border:1px solid #ddd}"
    "img.grid{image-rendering:pixelated;max-width:100%;height:auto;border:1px solid #ddd;"
    "background:#fff}"
    "input[type=range]{width:min(100%,560px)}.note{color:#555}"
    ".runs{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0}";

// The epoch slider: shows the grid of the chosen epoch, and keeps the choice across the page's
// reloads while a run is in progress.
constexpr const char* kSliderScript =
    "(function () {\n"
    "  var slider = document.getElementById('epoch-slider');\n"
    "  if (!slider) return;\n"
    "  var items = document.getElementById('epoch-list').children;\n"
    "  var image = document.getElementById('epoch-image');\n"
    "  var label = document.getElementById('epoch-label');\n"
    "  var key = 'dcgan-epoch:' + location.pathname;\n"
    "  function show(i) {\n"
    "    var epoch = items[i].getAttribute('data-epoch');\n"
    "    image.src = items[i].getAttribute('data-src');\n"
    "    image.alt = 'samples after epoch ' + epoch;\n"
    "    label.textContent = epoch;\n"
    "  }\n"
    "  try {\n"
    "    var kept = sessionStorage.getItem(key);\n"
    "    for (var i = 0; kept && i < items.length; i++) {\n"
    "      if (items[i].getAttribute('data-epoch') === kept) { slider.value = i; show(i); }\n"
    "    }\n"
    "  } catch (e) {}\n"
    "  slider.addEventListener('input', function () {\n"
    "    var i = Number(slider.value);\n"
    "    show(i);\n"
    "    var newest = i === items.length - 1;\n"
    "    try { sessionStorage.setItem(key, newest ? '' : items[i].getAttribute('data-epoch')); }\n"
    "    catch (e) {}\n"
    "  });\n"
    "})();\n";

std::string format(const char* spec, double value) {
  char text[64];
  std::snprintf(text, sizeof(text), spec, value);
  return text;
}

std::string duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(std::llround(seconds));
  char text[64];
  if (s < 60) {
    std::snprintf(text, sizeof(text), "%lld s", static_cast<long long>(s));
  } else if (s < 3600) {
    std::snprintf(text, sizeof(text), "%lld min %02lld s", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else {
    std::snprintf(text, sizeof(text), "%lld h %02lld min", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60));
  }
  return text;
}

std::string local_time(std::time_t time, const char* spec = "%Y-%m-%d %H:%M:%S %Z") {
  std::tm local{};
  localtime_r(&time, &local);
  char text[64];
  std::strftime(text, sizeof(text), spec, &local);
  return text;
}

std::string megabytes(uint64_t bytes) {
  return format(bytes < (10u << 20) ? "%.2f MB" : "%.0f MB", static_cast<double>(bytes) / 1e6);
}

// A config value as a person reads it: strings bare, lists comma-separated, objects as
// "name value" pairs.
std::string json_text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object()) {
    std::string text;
    for (const auto& item : value.items())
      text += (text.empty() ? "" : ", ") + item.key() + " " + json_text(item.value());
    return text;
  }
  if (value.is_array()) {
    std::string text;
    for (const auto& item : value) text += (text.empty() ? "" : ", ") + json_text(item);
    return text;
  }
  return value.dump();
}

std::string config_text(const json& config, const std::string& key) {
  return config.is_object() && config.contains(key) ? json_text(config[key]) : std::string();
}

double json_number(const json& object, const std::string& key) {
  return object.is_object() && object.contains(key) && object[key].is_number()
             ? object[key].get<double>()
             : NAN;
}

// Width and height of a PNG from its IHDR chunk; {0, 0} when it is not readable.
std::pair<int, int> png_size(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char header[24] = {};
  if (!in.read(reinterpret_cast<char*>(header), sizeof(header))) return {0, 0};
  if (header[1] != 'P' || header[12] != 'I' || header[15] != 'R') return {0, 0};
  auto be32 = [&](int at) {
    return static_cast<uint32_t>(header[at]) << 24 | static_cast<uint32_t>(header[at + 1]) << 16 |
           static_cast<uint32_t>(header[at + 2]) << 8 | header[at + 3];
  };
  const uint32_t width = be32(16), height = be32(20);
  if (width > 1u << 20 || height > 1u << 20) return {0, 0};
  return {static_cast<int>(width), static_cast<int>(height)};
}

// An <img> of a sample grid, shown at twice its size when small: 32x32 digits are hard to see.
HtmlWriter::Attributes grid_attributes(const fs::path& file, const std::string& src,
                                       const std::string& alt) {
  HtmlWriter::Attributes attributes = {{"class", "grid"}, {"src", url_path(src)}, {"alt", alt}};
  const auto [w, h] = png_size(file);
  if (w > 0 && h > 0) {
    const int scale = w <= 500 ? 2 : 1;
    attributes.emplace_back("width", std::to_string(w * scale));
    attributes.emplace_back("height", std::to_string(h * scale));
  }
  return attributes;
}

// Indices of at most `max` of `n` items, evenly spaced, always the first and the last.
std::vector<size_t> evenly_spaced(size_t n, size_t max) {
  std::vector<size_t> picked;
  if (n == 0 || max == 0) return picked;
  const size_t count = std::min(n, max);
  for (size_t i = 0; i < count; ++i)
    picked.push_back(count == 1 ? n - 1 : i * (n - 1) / (count - 1));
  return picked;
}

void start_page(HtmlWriter& page, const std::string& title, const std::string& status,
                bool refresh) {
  page.open("html", {{"lang", "en"}}).open("head");
  page.empty("meta", {{"charset", "utf-8"}});
  page.empty("meta", {{"name", "viewport"}, {"content", "width=device-width, initial-scale=1"}});
  if (!status.empty()) page.empty("meta", {{"name", "dcgan-status"}, {"content", status}});
  if (refresh)
    page.empty("meta", {{"http-equiv", "refresh"}, {"content", std::to_string(kRefreshSeconds)}});
  page.element("title", title);
  page.code("style", kStyle);
  page.close().open("body");
}

std::string finish_page(HtmlWriter& page) {
  page.close().close();
  return "<!DOCTYPE html>\n" + page.str();
}

void row(HtmlWriter& page, const std::string& key, const std::string& value) {
  if (value.empty()) return;
  page.open("tr").element("th", key).element("td", value).close();
}

PlotOptions plot_options(const std::string& title, const std::string& x, const std::string& y,
                         bool from_zero = false, size_t max_points = kMaxPlotPoints) {
  PlotOptions options;
  options.title = title;
  options.x_label = x;
  options.y_label = y;
  options.width = 530;
  options.height = 280;
  options.max_points = max_points;
  options.y_from_zero = from_zero;
  return options;
}

// Seconds per epoch from the newest (at most 5) epochs, for the ETA.
double recent_epoch_seconds(const RunData& run) {
  const size_t n = std::min<size_t>(run.epochs.size(), 5);
  double total = 0;
  for (size_t i = run.epochs.size() - n; i < run.epochs.size(); ++i) total += run.epochs[i].seconds;
  return n ? total / static_cast<double>(n) : NAN;
}

double mean_images_per_second(const RunData& run) {
  const double summary = json_number(run.summary, "images_per_second");
  if (std::isfinite(summary)) return summary;
  double total = 0;
  for (const auto& e : run.epochs) total += e.images_per_second;
  return run.epochs.empty() ? NAN : total / static_cast<double>(run.epochs.size());
}

void overview(HtmlWriter& page, const RunData& run, RunStatus status, std::time_t now) {
  const auto& config = run.config;
  page.open("table", {{"class", "overview"}});
  page.open("tr").element("th", "status").open("td");
  page.element("span", status_name(status),
               {{"class", std::string("status ") + status_name(status)}});
  page.text(" last updated " + local_time(now));
  if (status == RunStatus::kRunning)
    page.text(" (this page reloads every " + std::to_string(kRefreshSeconds) + " s)");
  page.close().close();
  const int64_t done = run.epochs_done(), total = run.epochs_total();
  row(page, "epochs", std::to_string(done) + " of " + std::to_string(total));
  if (status == RunStatus::kRunning && done < total) {
    const double per_epoch = recent_epoch_seconds(run);
    if (std::isfinite(per_epoch)) {
      const double left = per_epoch * static_cast<double>(total - done);
      row(page, "ETA",
          duration(left) + " (" + std::to_string(total - done) + " epochs of about " +
              duration(per_epoch) + "), around " +
              local_time(now + static_cast<std::time_t>(left), "%H:%M %Z"));
    } else {
      row(page, "ETA", "after the first epoch");
    }
  }
  if (!run.losses.empty()) {
    const auto& last = run.losses.back();
    row(page, "latest losses",
        "D " + format("%.4f", last.d_loss) + ", G " + format("%.4f", last.g_loss) + " (epoch " +
            std::to_string(last.epoch) + ", batch " + std::to_string(last.batch) + ", step " +
            std::to_string(last.step) + ")");
  }
  if (!run.quality.empty()) {
    const auto& last = run.quality.back();
    row(page, "sample quality",
        "Frechet distance " + format("%.2f", last.frechet_distance) + ", " +
            format("%.1f", 100 * last.confident_share) + "% confidently a digit (epoch " +
            std::to_string(last.epoch) + ")");
  }
  const double speed = mean_images_per_second(run);
  if (std::isfinite(speed)) {
    std::string text = format("%.0f", speed) + " images/s";
    if (!run.epochs.empty())
      text += " (newest epoch " + format("%.0f", run.epochs.back().images_per_second) + ")";
    row(page, "speed", text);
  }
  const double train_seconds = json_number(run.summary, "training_seconds");
  const double wall_seconds = json_number(run.summary, "wall_seconds");
  if (std::isfinite(wall_seconds))
    row(page, "time", duration(wall_seconds) + " wall, " + duration(train_seconds) + " training");
  std::string device = config_text(config, "device_name");
  if (!config_text(config, "cpu_threads").empty())
    device += ", " + config_text(config, "cpu_threads") + " CPU threads";
  row(page, "device", device);
  std::string step = config_text(config, "step_used");
  if (!step.empty()) {
    step += " step, " + config_text(config, "precision");
    if (config_text(config, "channels_last") == "true") step += ", channels_last";
  }
  row(page, "step", step);
  std::string data = config_text(config, "data");
  if (!config_text(config, "dataset_images").empty())
    data += " (" + config_text(config, "dataset_images") + " images, " +
            config_text(config, "dataset_format") + ")";
  row(page, "data", data);
  row(page, "seed", config_text(config, "seed"));
  if (config.contains("versions")) row(page, "versions", json_text(config["versions"]));
  page.close();
}

void samples_section(HtmlWriter& page, const RunData& run) {
  const fs::path folder(run.folder);
  page.element("h2", "Samples", {{"id", "samples"}});
  if (run.samples.empty()) {
    page.element("p", "No sample grid yet: the first one is written after epoch 1.",
                 {{"class", "note"}});
    return;
  }
  const auto picked = evenly_spaced(run.samples.size(), kMaxSliderImages);
  std::string note = "The generator's images of the run's fixed z after each epoch";
  if (picked.size() < run.samples.size())
    note += " (" + std::to_string(picked.size()) + " of " + std::to_string(run.samples.size()) +
            " epochs, evenly spaced)";
  page.element("p", note + ". Move the slider to go through the epochs.", {{"class", "note"}});
  const auto& newest = run.samples.back();
  page.open("p").open("label", {{"for", "epoch-slider"}}).text("epoch ");
  page.element("output", std::to_string(newest.epoch), {{"id", "epoch-label"}});
  page.close().text(" ");
  page.empty("input", {{"type", "range"},
                       {"id", "epoch-slider"},
                       {"min", "0"},
                       {"max", std::to_string(picked.size() - 1)},
                       {"value", std::to_string(picked.size() - 1)},
                       {"step", "1"}});
  page.close();
  auto image = grid_attributes(folder / newest.path, newest.path,
                               "samples after epoch " + std::to_string(newest.epoch));
  image.emplace_back("id", "epoch-image");
  page.open("p").empty("img", image).close();
  page.open("ol", {{"id", "epoch-list"}, {"hidden", "hidden"}});
  for (const size_t i : picked) {
    page.element("li", "",
                 {{"data-src", url_path(run.samples[i].path)},
                  {"data-epoch", std::to_string(run.samples[i].epoch)}});
  }
  page.close();
  page.code("script", kSliderScript);
  if (!run.progress_sheet.empty()) {
    page.element("h3", "Over the run (one row per epoch, at most 20)");
    page.open("p")
        .empty("img", grid_attributes(folder / run.progress_sheet, run.progress_sheet,
                                      "samples of every epoch, one row per epoch"))
        .close();
  }
}

}  // namespace

const char* status_name(RunStatus status) {
  switch (status) {
    case RunStatus::kRunning:
      return "running";
    case RunStatus::kDone:
      return "done";
    case RunStatus::kInterrupted:
      return "interrupted";
    case RunStatus::kDiverged:
      return "diverged";
  }
  return "unknown";
}

std::string run_page(const RunData& run, RunStatus status, std::time_t now) {
  const fs::path folder(run.folder);
  HtmlWriter page;
  start_page(page, "dcgan run " + run.folder + " (" + status_name(status) + ")",
             status_name(status), status == RunStatus::kRunning);
  page.element("h1", "dcgan run " + run.folder);
  overview(page, run, status, now);

  page.element("h2", "Command line");
  const std::string command = config_text(run.config, "command_line");
  page.element("pre",
               command.empty() ? "(not recorded: the run was started by an older dcgan)" : command);

  page.element("h2", "Curves", {{"id", "curves"}});
  page.open("div", {{"class", "plots"}});
  Series d{"D loss", {}, "", false}, g{"G loss", {}, "", false};
  for (const auto& r : run.losses) {
    d.points.push_back({static_cast<double>(r.step), r.d_loss});
    g.points.push_back({static_cast<double>(r.step), r.g_loss});
  }
  write_svg_plot(page, {d, g}, plot_options("Losses", "step", "loss"));
  if (!run.quality.empty() || json_number(run.config, "eval_every") > 0) {
    Series fd{"Frechet distance", {}, palette_color(2), false};
    Series share{"confidently a digit", {}, palette_color(3), false};
    for (const auto& r : run.quality) {
      fd.points.push_back({static_cast<double>(r.epoch), r.frechet_distance});
      share.points.push_back({static_cast<double>(r.epoch), 100 * r.confident_share});
    }
    write_svg_plot(page, {fd}, plot_options("Sample quality (lower is better)", "epoch", "FD"));
    write_svg_plot(page, {share},
                   plot_options("Confident share (higher is better)", "epoch", "%", true));
  }
  Series speed{"images/s", {}, palette_color(4), false};
  for (const auto& r : run.epochs)
    speed.points.push_back({static_cast<double>(r.epoch), r.images_per_second});
  write_svg_plot(page, {speed}, plot_options("Training speed", "epoch", "images/s", true));
  page.close();

  samples_section(page, run);

  page.element("h2", "Latent walk");
  if (run.walk.empty()) {
    page.open("p", {{"class", "note"}}).text("None yet. Make one with ");
    page.element("code", "dcgan interpolate --checkpoint " + run.folder +
                             "/checkpoints/last.pt --out " + run.folder + "/samples/walk.png");
    page.close();
  } else {
    page.open("figure").empty("img", grid_attributes(folder / run.walk, run.walk, "latent walk"));
    page.element("figcaption", run.walk).close();
  }

  page.element("h2", "Checkpoints");
  if (run.checkpoints.empty()) {
    page.element("p", "None yet: the first is saved after epoch 1.", {{"class", "note"}});
  } else {
    page.open("ul");
    for (const auto& c : run.checkpoints) {
      page.open("li").element("a", c.path, {{"href", url_path(c.path)}});
      page.text(" (" + megabytes(c.bytes) +
                (c.path == "checkpoints/last.pt"
                     ? "; resume with dcgan train --resume " + run.folder
                     : std::string()) +
                ")");
      page.close();
    }
    page.close();
  }

  page.element("h2", "Config (config.json)");
  page.open("table");
  for (const auto& [key, value] : run.config.items())
    if (key != "versions" && key != "command_line") row(page, key, json_text(value));
  page.close();
  return finish_page(page);
}

void write_run_report(const std::string& folder, RunStatus status) {
  const auto run = read_run(folder);
  write_file_atomically((fs::path(folder) / "report.html").string(),
                        run_page(run, status, std::time(nullptr)));
}

void update_run_report(const std::string& folder, RunStatus status) noexcept {
  try {
    write_run_report(folder, status);
  } catch (const std::exception& e) {
    // Once per process: a full disk would otherwise repeat it every epoch.
    static bool warned = false;
    if (!warned) spdlog::warn("report.html not written ({}); training goes on", e.what());
    warned = true;
  }
}

namespace {

// Batches per epoch, to put loss rows of runs with different batch sizes on one epoch axis.
double batches_per_epoch(const RunData& run) {
  const double images = json_number(run.config, "dataset_images");
  const double batch = json_number(run.config, "batch_size");
  if (images > 0 && batch > 0) return std::ceil(images / batch);
  int64_t most = 1;
  for (const auto& r : run.losses) most = std::max(most, r.batch);
  return static_cast<double>(most);
}

// The config keys whose values are not the same in every run (a missing key counts as a value).
std::vector<std::string> differing_keys(const std::vector<RunData>& runs) {
  static const std::set<std::string> kIgnored = {"out", "command_line", "resume"};
  std::set<std::string> keys;
  for (const auto& run : runs)
    for (const auto& item : run.config.items()) keys.insert(item.key());
  std::vector<std::string> differing;
  for (const auto& key : keys) {
    if (kIgnored.count(key)) continue;
    std::set<std::string> values;
    for (const auto& run : runs)
      values.insert(run.config.contains(key) ? run.config[key].dump() : std::string("-"));
    if (values.size() > 1) differing.push_back(key);
  }
  return differing;
}

// The runs' folders without the leading folders they all share ("q/notebook/seed1" and
// "q/g_ema/seed1" become "notebook/seed1" and "g_ema/seed1"), for the plots' legends.
std::vector<std::string> short_names(const std::vector<RunData>& runs) {
  std::vector<std::vector<std::string>> parts;
  for (const auto& run : runs) {
    parts.emplace_back();
    for (const auto& part : fs::path(run.folder).lexically_normal())
      if (!part.empty()) parts.back().push_back(part.string());
  }
  size_t common = 0;
  while (!parts.empty()) {
    bool same = true;
    for (const auto& p : parts)
      same = same && p.size() > common + 1 && p[common] == parts.front()[common];
    if (!same) break;
    ++common;
  }
  std::vector<std::string> names;
  for (size_t i = 0; i < runs.size(); ++i) {
    fs::path name;
    for (size_t k = common; k < parts[i].size(); ++k) name /= parts[i][k];
    names.push_back(name.empty() ? runs[i].folder : name.generic_string());
  }
  return names;
}

std::string relative_to(const fs::path& file, const fs::path& base) {
  std::error_code ec;
  const auto from = fs::weakly_canonical(fs::absolute(base), ec);
  const auto to = fs::weakly_canonical(fs::absolute(file), ec);
  const auto relative = to.lexically_relative(from);
  return (relative.empty() ? to : relative).generic_string();
}

}  // namespace

std::string compare_page(const std::vector<RunData>& runs, const std::string& out_path,
                         std::time_t now) {
  const fs::path base = fs::absolute(out_path).parent_path();
  HtmlWriter page;
  start_page(page, "dcgan: " + std::to_string(runs.size()) + " runs compared", "", false);
  page.element("h1", "dcgan: " + std::to_string(runs.size()) + " runs compared");
  page.element("p", "Written " + local_time(now) + " by dcgan report.", {{"class", "note"}});

  const auto differing = differing_keys(runs);
  page.open("table", {{"class", "compare"}}).open("tr");
  for (const char* heading :
       {"", "run", "status", "epochs", "final FD", "confident", "images/s", "differs in"})
    page.element("th", heading);
  page.close();
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& run = runs[i];
    page.open("tr");
    page.open("td")
        .element("span", "\u25A0",
                 {{"style", "color:" + palette_color(i)}, {"aria-hidden", "true"}})
        .close();
    page.open("td");
    const fs::path report = fs::path(run.folder) / "report.html";
    page.element("a", run.folder,
                 {{"href", url_path(relative_to(fs::exists(report) ? report : fs::path(run.folder),
                                                base))}});
    page.close();
    const auto status = run.status();
    page.open("td").element("span", status, {{"class", "status " + status}}).close();
    page.element("td",
                 std::to_string(run.epochs_done()) + " / " + std::to_string(run.epochs_total()),
                 {{"class", "num"}});
    const bool measured = !run.quality.empty();
    page.element("td",
                 measured ? format("%.2f", run.quality.back().frechet_distance) + " (epoch " +
                                std::to_string(run.quality.back().epoch) + ")"
                          : "-",
                 {{"class", "num"}});
    page.element("td", measured ? format("%.1f%%", 100 * run.quality.back().confident_share) : "-",
                 {{"class", "num"}});
    const double speed = mean_images_per_second(run);
    page.element("td", std::isfinite(speed) ? format("%.0f", speed) : "-", {{"class", "num"}});
    std::string flags;
    for (const auto& key : differing) {
      flags += (flags.empty() ? "" : "; ") + key + " " +
               (run.config.contains(key) ? json_text(run.config[key]) : std::string("(absent)"));
    }
    page.element("td", flags);
    page.close();
  }
  page.close();

  page.element("h2", "Curves");
  page.open("div", {{"class", "plots"}});
  std::vector<Series> d, g, fd, share, speed;
  const auto names = short_names(runs);
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& run = runs[i];
    // Past the palette's colours, runs repeat a colour with dashes.
    const bool dashed = i >= 7;
    const auto series = [&] { return Series{names[i], {}, palette_color(i), dashed}; };
    d.push_back(series()), g.push_back(series()), fd.push_back(series());
    share.push_back(series()), speed.push_back(series());
    const double batches = batches_per_epoch(run);
    for (const auto& r : run.losses) {
      const double epoch =
          static_cast<double>(r.epoch - 1) + static_cast<double>(r.batch) / batches;
      d.back().points.push_back({epoch, r.d_loss});
      g.back().points.push_back({epoch, r.g_loss});
    }
    for (const auto& r : run.quality) {
      fd.back().points.push_back({static_cast<double>(r.epoch), r.frechet_distance});
      share.back().points.push_back({static_cast<double>(r.epoch), 100 * r.confident_share});
    }
    for (const auto& r : run.epochs)
      speed.back().points.push_back({static_cast<double>(r.epoch), r.images_per_second});
  }
  // Fewer points per run when there are many runs: a plot holds about 4,000 at most.
  const size_t most = std::max<size_t>(50, 4 * kMaxPlotPoints / std::max<size_t>(1, runs.size()));
  const size_t per_run = std::min(kMaxPlotPoints, most);
  write_svg_plot(page, d, plot_options("D loss", "epoch", "loss", false, per_run));
  write_svg_plot(page, g, plot_options("G loss", "epoch", "loss", false, per_run));
  const bool measured = std::any_of(runs.begin(), runs.end(),
                                    [](const RunData& run) { return !run.quality.empty(); });
  if (measured) {
    write_svg_plot(page, fd,
                   plot_options("Sample quality (lower is better)", "epoch", "FD", false, per_run));
    write_svg_plot(page, share,
                   plot_options("Confident share (higher is better)", "epoch", "%", true, per_run));
  }
  write_svg_plot(page, speed, plot_options("Training speed", "epoch", "images/s", true, per_run));
  page.close();
  if (!measured) {
    page.element(
        "p", "No run measured its sample quality (dcgan train --eval-every N --eval-data FILE).",
        {{"class", "note"}});
  }

  page.element("h2", "Newest samples");
  page.open("div", {{"class", "runs"}});
  for (const auto& run : runs) {
    page.open("figure");
    if (run.samples.empty()) {
      page.element("p", "no samples yet", {{"class", "note"}});
    } else {
      const auto file = fs::path(run.folder) / run.samples.back().path;
      page.open("p")
          .empty("img", grid_attributes(file, relative_to(file, base),
                                        run.folder + ": samples after epoch " +
                                            std::to_string(run.samples.back().epoch)))
          .close();
    }
    page.element(
        "figcaption",
        run.folder + (run.samples.empty() ? std::string()
                                          : ", epoch " + std::to_string(run.samples.back().epoch)));
    page.close();
  }
  page.close();

  page.element("h2", "Settings all runs share");
  page.open("table");
  if (!runs.empty()) {
    for (const auto& [key, value] : runs.front().config.items()) {
      if (key == "out" || key == "command_line" ||
          std::find(differing.begin(), differing.end(), key) != differing.end())
        continue;
      row(page, key, json_text(value));
    }
  }
  page.close();
  return finish_page(page);
}

}  // namespace dcgan::report
