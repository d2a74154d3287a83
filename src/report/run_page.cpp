// RUN/report.html: one run at a glance, rewritten every epoch while it trains.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "dcgan/report/html.h"
#include "dcgan/report/pages.h"
#include "dcgan/report/svg_plot.h"
#include "dcgan/util/files.h"
#include "page_parts.h"

namespace fs = std::filesystem;

namespace dcgan::report {
using namespace parts;  // NOLINT: the page is made of these

namespace {

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

// Seconds per epoch from the newest (at most 5) epochs, for the ETA.
double recent_epoch_seconds(const RunData& run) {
  const size_t n = std::min<size_t>(run.epochs.size(), 5);
  double total = 0;
  for (size_t i = run.epochs.size() - n; i < run.epochs.size(); ++i) total += run.epochs[i].seconds;
  return n ? total / static_cast<double>(n) : NAN;
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
            format("%.1f", 100 * last.confident_share) + "% confidently a digit" +
            (last.has_class_accuracy()
                 ? ", " + format("%.1f", 100 * last.class_accuracy) + "% read as the class asked for"
                 : "") +
            " (epoch " + std::to_string(last.epoch) + ")");
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
    Series classes{"read as the class asked for", {}, palette_color(5), false};
    for (const auto& r : run.quality) {
      fd.points.push_back({static_cast<double>(r.epoch), r.frechet_distance});
      share.points.push_back({static_cast<double>(r.epoch), 100 * r.confident_share});
      if (r.has_class_accuracy())
        classes.points.push_back({static_cast<double>(r.epoch), 100 * r.class_accuracy});
    }
    write_svg_plot(page, {fd}, plot_options("Sample quality (lower is better)", "epoch", "FD"));
    write_svg_plot(page, {share},
                   plot_options("Confident share (higher is better)", "epoch", "%"));
    if (!classes.points.empty()) {
      write_svg_plot(page, {classes},
                     plot_options("Class accuracy (higher is better)", "epoch", "%"));
    }
  }
  Series speed{"images/s", {}, palette_color(4), false};
  for (const auto& r : run.epochs)
    speed.points.push_back({static_cast<double>(r.epoch), r.images_per_second});
  write_svg_plot(page, {speed}, plot_options("Training speed", "epoch", "images/s"));
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

}  // namespace dcgan::report
