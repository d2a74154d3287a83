#pragma once
// Private to src/report: the pieces both pages (run_page.cpp, compare_page.cpp) are made of.

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "dcgan/report/html.h"
#include "dcgan/report/pages.h"
#include "dcgan/report/svg_plot.h"

namespace dcgan::report::parts {

using json = nlohmann::json;

std::string format(const char* spec, double value);  // printf-style, "n/a" when not finite
std::string duration(double seconds);                // "1 h 02 min", "3 min 05 s", "12 s"
std::string local_time(std::time_t time, const char* spec = "%Y-%m-%d %H:%M:%S %Z");
std::string megabytes(uint64_t bytes);
// A config value as a person reads it: strings bare, lists comma-separated, objects as "name
// value" pairs; config_text of a missing key is empty.
std::string json_text(const json& value);
std::string config_text(const json& config, const std::string& key);
double json_number(const json& object, const std::string& key);  // NaN when absent
// Width and height of a PNG from its IHDR chunk; {0, 0} when it is not readable.
std::pair<int, int> png_size(const std::filesystem::path& path);
// An <img> of a sample grid, shown at twice its size when small: 32x32 digits are hard to see.
HtmlWriter::Attributes grid_attributes(const std::filesystem::path& file, const std::string& src,
                                       const std::string& alt);
// Indices of at most `max` of `n` items, evenly spaced, always the first and the last.
std::vector<size_t> evenly_spaced(size_t n, size_t max);
// The page frame: <html>, <head> with the style (and a reload every kRefreshSeconds when
// `refresh`), <body>; finish_page closes it and returns the document.
void start_page(HtmlWriter& page, const std::string& title, const std::string& status,
                bool refresh);
std::string finish_page(HtmlWriter& page);
void row(HtmlWriter& page, const std::string& key, const std::string& value);  // skips empty
// A run's training speed: summary.json's, or while it runs the mean of its epochs'.
double mean_images_per_second(const RunData& run);
// A page's plot: 530 x 280, its y axis linear from 0 (every curve the pages draw, losses, FD,
// shares and speeds, is 0 or above, so a halving looks like one; a negative value, e.g. a hinge
// loss, extends the axis below 0).
PlotOptions plot_options(const std::string& title, const std::string& x, const std::string& y,
                         size_t max_points = kMaxPlotPoints);

}  // namespace dcgan::report::parts
