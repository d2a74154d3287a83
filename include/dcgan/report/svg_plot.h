#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "dcgan/report/html.h"

namespace dcgan::report {

struct Point {
  double x = 0, y = 0;
};

struct Series {
  std::string name;
  std::vector<Point> points;  // non-finite values are left out when drawn
  std::string color;          // empty: the palette's colour for the series' position
  bool dashed = false;
};

struct PlotOptions {
  std::string title, x_label, y_label;
  int width = 640, height = 300;
  size_t max_points = 1000;  // per series; more are thinned (see thin)
  bool y_from_zero = false;  // the y axis starts at 0 (or below, for negative values)
};

// Tick values for an axis over [lo, hi]: steps of 1, 2 or 5 times a power of ten, about `target`
// of them, from a multiple of the step at or below lo to one at or above hi. An empty or
// non-finite range is widened around its value, so one point still gets an axis.
struct Ticks {
  std::vector<double> values;
  double step = 1;
  double lo() const { return values.front(); }
  double hi() const { return values.back(); }
};
Ticks nice_ticks(double lo, double hi, int target = 5);

// A tick's label with the decimals its step needs ("0.25", "1500", "2e+06").
std::string format_tick(double value, double step);

// Maps [domain_lo, domain_hi] to [range_lo, range_hi] linearly; an empty domain maps to the middle.
struct LinearScale {
  double domain_lo, domain_hi, range_lo, range_hi;
  double operator()(double value) const;
};

// At most `max_points` of `points`, evenly spaced by index, always the first and the last.
std::vector<Point> thin(const std::vector<Point>& points, size_t max_points);

// The colours series take in order (the Okabe-Ito palette, readable by colour-blind readers).
const std::string& palette_color(size_t index);

// A line plot as one <svg> element: labelled axes with ticks, a legend, and a circle per point
// whose <title> shows its values on hover. Series may be empty or hold one point.
void write_svg_plot(HtmlWriter& out, const std::vector<Series>& series, const PlotOptions& options);
std::string svg_plot(const std::vector<Series>& series, const PlotOptions& options);

}  // namespace dcgan::report
