// `dcgan report`: several runs compared on one page.
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

// Batches per epoch, to put loss rows of runs with different batch sizes on one epoch axis.
double batches_per_epoch(const RunData& run) {
  const double images = json_number(run.config, "dataset_images");
  const double batch = json_number(run.config, "batch_size");
  if (images > 0 && batch > 0) return std::ceil(images / batch);
  int64_t most = 1;
  for (const auto& r : run.losses) most = std::max(most, r.batch);
  return static_cast<double>(most);
}

// The config keys whose values are not the same in every run (a key read_run cannot fill in, from a
// config.json resume cannot read, counts as a value of its own).
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
       {"", "run", "status", "epochs", "final FD", "confident", "class accuracy", "images/s",
        "differs in"})
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
    const bool class_measured = measured && run.quality.back().has_class_accuracy();
    page.element("td",
                 class_measured ? format("%.1f%%", 100 * run.quality.back().class_accuracy) : "-",
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
  std::vector<Series> d, g, fd, share, classes, speed;
  const auto names = short_names(runs);
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& run = runs[i];
    // Past the palette's colours, runs repeat a colour with dashes.
    const bool dashed = i >= 7;
    const auto series = [&] { return Series{names[i], {}, palette_color(i), dashed}; };
    d.push_back(series()), g.push_back(series()), fd.push_back(series());
    share.push_back(series()), classes.push_back(series()), speed.push_back(series());
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
      if (r.has_class_accuracy())
        classes.back().points.push_back({static_cast<double>(r.epoch), 100 * r.class_accuracy});
    }
    for (const auto& r : run.epochs)
      speed.back().points.push_back({static_cast<double>(r.epoch), r.images_per_second});
  }
  // Fewer points per run when there are many runs: a plot holds about 4,000 at most.
  const size_t most = std::max<size_t>(50, 4 * kMaxPlotPoints / std::max<size_t>(1, runs.size()));
  const size_t per_run = std::min(kMaxPlotPoints, most);
  write_svg_plot(page, d, plot_options("D loss", "epoch", "loss", per_run));
  write_svg_plot(page, g, plot_options("G loss", "epoch", "loss", per_run));
  const bool measured = std::any_of(runs.begin(), runs.end(),
                                    [](const RunData& run) { return !run.quality.empty(); });
  if (measured) {
    write_svg_plot(page, fd,
                   plot_options("Sample quality (lower is better)", "epoch", "FD", per_run));
    write_svg_plot(page, share,
                   plot_options("Confident share (higher is better)", "epoch", "%", per_run));
    const bool conditional = std::any_of(classes.begin(), classes.end(),
                                         [](const Series& s) { return !s.points.empty(); });
    if (conditional) {
      write_svg_plot(page, classes,
                     plot_options("Class accuracy (higher is better)", "epoch", "%", per_run));
    }
  }
  write_svg_plot(page, speed, plot_options("Training speed", "epoch", "images/s", per_run));
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
