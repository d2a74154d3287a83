// The pieces both report pages are made of: the page frame and style, formatting of numbers, times
// and config values, sample-grid images, plot options.
#include "page_parts.h"

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

namespace dcgan::report::parts {

namespace {

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
}  // namespace

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

std::string local_time(std::time_t time, const char* spec) {
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
                         size_t max_points) {
  PlotOptions options;
  options.title = title;
  options.x_label = x;
  options.y_label = y;
  options.width = 530;
  options.height = 280;
  options.max_points = max_points;
  options.y_from_zero = true;
  return options;
}

double mean_images_per_second(const RunData& run) {
  const double summary = json_number(run.summary, "images_per_second");
  if (std::isfinite(summary)) return summary;
  double total = 0;
  for (const auto& e : run.epochs) total += e.images_per_second;
  return run.epochs.empty() ? NAN : total / static_cast<double>(run.epochs.size());
}

}  // namespace dcgan::report::parts
