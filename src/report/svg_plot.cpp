#include "dcgan/report/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>

#include "dcgan/report/html.h"

namespace dcgan::report {
namespace {

std::string number(double value, const char* format = "%.1f") {
  char text[64];
  std::snprintf(text, sizeof(text), format, value);
  return text;
}

// A value for a hover title: whole numbers as integers (steps, epochs), others to 4 digits.
std::string value_text(double value) {
  if (std::floor(value) == value && std::fabs(value) < 1e15)
    return std::to_string(static_cast<int64_t>(value));
  return number(value, "%.4g");
}

std::vector<Point> finite_points(const std::vector<Point>& points) {
  std::vector<Point> kept;
  kept.reserve(points.size());
  for (const auto& p : points)
    if (std::isfinite(p.x) && std::isfinite(p.y)) kept.push_back(p);
  return kept;
}

}  // namespace

Ticks nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (hi < lo) std::swap(lo, hi);
  if (hi == lo) {
    const double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / std::max(1, target);
  const double magnitude = std::pow(10, std::floor(std::log10(raw)));
  const double norm = raw / magnitude;
  Ticks ticks;
  const double slack = 1 + 1e-9;  // 0.2 / 4 / 0.01 is 5.000000000000001
  ticks.step = (norm <= slack ? 1 : norm <= 2 * slack ? 2 : norm <= 5 * slack ? 5 : 10) * magnitude;
  // Multiples of the step as integers, so 0.1 + 0.2 rounding never adds or drops a tick.
  const auto first = static_cast<int64_t>(std::floor(lo / ticks.step + 1e-9));
  const auto last = static_cast<int64_t>(std::ceil(hi / ticks.step - 1e-9));
  for (int64_t k = first; k <= std::max(last, first + 1); ++k) {
    const double value = static_cast<double>(k) * ticks.step;
    ticks.values.push_back(value == 0 ? 0.0 : value);  // no "-0"
  }
  return ticks;
}

std::string format_tick(double value, double step) {
  if (std::fabs(value) < step * 1e-9) value = 0;
  if (std::fabs(value) >= 1e6 || step < 1e-4) return number(value, "%.3g");
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

double LinearScale::operator()(double value) const {
  if (domain_hi == domain_lo) return (range_lo + range_hi) / 2;
  return range_lo + (value - domain_lo) * (range_hi - range_lo) / (domain_hi - domain_lo);
}

std::vector<Point> thin(const std::vector<Point>& points, size_t max_points) {
  if (points.size() <= max_points) return points;
  if (max_points == 0) return {};
  if (max_points == 1) return {points.back()};
  std::vector<Point> kept;
  kept.reserve(max_points);
  const size_t n = points.size();
  for (size_t i = 0; i < max_points; ++i) kept.push_back(points[i * (n - 1) / (max_points - 1)]);
  return kept;
}

const std::string& palette_color(size_t index) {
  static const std::string kColors[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                        "#E69F00", "#56B4E9", "#000000"};
  return kColors[index % (sizeof(kColors) / sizeof(kColors[0]))];
}

std::string svg_plot(const std::vector<Series>& series, const PlotOptions& options) {
  HtmlWriter svg;
  write_svg_plot(svg, series, options);
  return svg.str();
}

void write_svg_plot(HtmlWriter& svg, const std::vector<Series>& series,
                    const PlotOptions& options) {
  std::vector<std::vector<Point>> drawn;
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  for (const auto& s : series) {
    drawn.push_back(thin(finite_points(s.points), options.max_points));
    for (const auto& p : drawn.back()) {
      x_lo = std::min(x_lo, p.x), x_hi = std::max(x_hi, p.x);
      y_lo = std::min(y_lo, p.y), y_hi = std::max(y_hi, p.y);
    }
  }
  const bool has_data = std::isfinite(x_lo);
  if (options.y_from_zero && has_data) y_lo = std::min(y_lo, 0.0);
  const Ticks x_ticks = nice_ticks(x_lo, x_hi, 6), y_ticks = nice_ticks(y_lo, y_hi, 5);

  // Legend rows above the plot: about 7 px per character at 12 px.
  const double width = options.width;
  const double left = 64, right = 16, bottom = 44;
  std::vector<std::pair<double, double>> legend_at;
  std::vector<std::string> legend;
  double lx = left, ly = 40;
  for (size_t i = 0; i < series.size(); ++i) {
    legend.push_back(drawn[i].empty() ? series[i].name + " (no data)" : series[i].name);
    const double item = 30 + 7 * static_cast<double>(legend.back().size());
    if (lx + item > width - right && lx > left) lx = left, ly += 18;
    legend_at.emplace_back(lx, ly);
    lx += item + 12;
  }
  const double top = series.empty() ? 36 : ly + 14;
  // Each extra legend row makes the plot taller rather than its area smaller.
  const double height = options.height + std::max(0.0, ly - 40);
  const LinearScale sx{x_ticks.lo(), x_ticks.hi(), left, width - right};
  const LinearScale sy{y_ticks.lo(), y_ticks.hi(), height - bottom, top};

  svg.open("svg", {{"xmlns", "http://www.w3.org/2000/svg"},
                   {"class", "plot"},
                   {"role", "img"},
                   {"aria-label", options.title},
                   {"width", number(width, "%.0f")},
                   {"height", number(height, "%.0f")},
                   {"viewBox", "0 0 " + number(width, "%.0f") + " " + number(height, "%.0f")}});
  svg.element("title", options.title);
  svg.empty("rect",
            {{"x", "0"}, {"y", "0"}, {"width", "100%"}, {"height", "100%"}, {"fill", "#fff"}});
  svg.element("text", options.title,
              {{"x", number(left)}, {"y", "18"}, {"font-weight", "bold"}, {"font-size", "14"}});

  // Grid, ticks and their labels.
  svg.open("g", {{"font-size", "11"}, {"fill", "#333"}});
  for (const double v : x_ticks.values) {
    const auto x = number(sx(v));
    svg.empty("line", {{"x1", x},
                       {"x2", x},
                       {"y1", number(top)},
                       {"y2", number(height - bottom)},
                       {"stroke", "#e4e4e4"}});
    svg.element("text", format_tick(v, x_ticks.step),
                {{"x", x}, {"y", number(height - bottom + 15)}, {"text-anchor", "middle"}});
  }
  for (const double v : y_ticks.values) {
    const auto y = number(sy(v));
    svg.empty("line", {{"x1", number(left)},
                       {"x2", number(width - right)},
                       {"y1", y},
                       {"y2", y},
                       {"stroke", "#e4e4e4"}});
    svg.element("text", format_tick(v, y_ticks.step),
                {{"x", number(left - 6)}, {"y", number(sy(v) + 4)}, {"text-anchor", "end"}});
  }
  svg.close();
  svg.empty("rect", {{"x", number(left)},
                     {"y", number(top)},
                     {"width", number(width - left - right)},
                     {"height", number(height - bottom - top)},
                     {"fill", "none"},
                     {"stroke", "#888"}});
  svg.element("text", options.x_label,
              {{"x", number((left + width - right) / 2)},
               {"y", number(height - 8)},
               {"text-anchor", "middle"},
               {"font-size", "12"}});
  const auto y_mid = number((top + height - bottom) / 2);
  svg.element("text", options.y_label,
              {{"x", "14"},
               {"y", y_mid},
               {"text-anchor", "middle"},
               {"font-size", "12"},
               {"transform", "rotate(-90 14 " + y_mid + ")"}});
  if (!has_data) {
    svg.element("text", "no data yet",
                {{"x", number((left + width - right) / 2)},
                 {"y", number((top + height - bottom) / 2)},
                 {"text-anchor", "middle"},
                 {"fill", "#888"}});
  }

  for (size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    const auto& color = s.color.empty() ? palette_color(i) : s.color;
    const HtmlWriter::Attributes dash =
        s.dashed ? HtmlWriter::Attributes{{"stroke-dasharray", "6 3"}} : HtmlWriter::Attributes{};
    // Legend: a stroke sample and the name (with "no data" for an empty series).
    const auto [lx_i, ly_i] = legend_at[i];
    HtmlWriter::Attributes swatch = {{"x1", number(lx_i)},     {"x2", number(lx_i + 22)},
                                     {"y1", number(ly_i - 4)}, {"y2", number(ly_i - 4)},
                                     {"stroke", color},        {"stroke-width", "2.5"}};
    swatch.insert(swatch.end(), dash.begin(), dash.end());
    svg.empty("line", swatch);
    svg.element("text", legend[i],
                {{"x", number(lx_i + 28)}, {"y", number(ly_i)}, {"font-size", "12"}});

    if (drawn[i].size() >= 2) {
      std::string points;
      for (const auto& p : drawn[i]) points += number(sx(p.x)) + "," + number(sy(p.y)) + " ";
      points.pop_back();
      HtmlWriter::Attributes line = {{"points", points},
                                     {"fill", "none"},
                                     {"stroke", color},
                                     {"stroke-width", "1.5"},
                                     {"stroke-linejoin", "round"}};
      line.insert(line.end(), dash.begin(), dash.end());
      svg.empty("polyline", line);
    }
    // One circle per point for the hover title; visible only when they do not crowd the line.
    const bool visible = drawn[i].size() <= 60;
    svg.open("g", {{"fill", color}, {"fill-opacity", visible ? "1" : "0"}});
    for (const auto& p : drawn[i]) {
      svg.open("circle",
               {{"cx", number(sx(p.x))}, {"cy", number(sy(p.y))}, {"r", visible ? "3" : "4"}});
      svg.element("title", s.name + ": " + options.x_label + " " + value_text(p.x) + ", " +
                               options.y_label + " " + value_text(p.y));
      svg.close();
    }
    svg.close();
  }
  svg.close();
}

}  // namespace dcgan::report
