#include "dcgan/train/plot.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace dcgan::train {
namespace {

bool warned = false;

void warn_once(const std::string& message) {
  if (warned) return;
  warned = true;
  spdlog::warn("{}; losses.png and quality.png will not be drawn (the CSV files have the numbers)",
               message);
}

bool gnuplot_installed() {
  return std::system("command -v gnuplot >/dev/null 2>&1") == 0;
}

// gnuplot string literal: single quotes, with embedded ones doubled.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// Runs gnuplot with `settings` and a `plot` command, drawing into a temporary PNG that is then
// renamed over png_path, so a reader never sees a half-drawn plot.
bool draw(const std::string& png_path, const std::string& settings, const std::string& plot) {
  if (!gnuplot_installed()) {
    warn_once("gnuplot is not installed (apt-get install gnuplot-nox)");
    return false;
  }
  const std::string temp = png_path + ".tmp.png";
  FILE* gnuplot = ::popen("gnuplot 2>/dev/null", "w");
  if (!gnuplot) {
    warn_once("cannot start gnuplot");
    return false;
  }
  std::fprintf(gnuplot,
               "set terminal pngcairo size 900,500 font ',11'\n"
               "set output %s\n"
               "set datafile separator ','\n"
               "%s\n%s\n",
               quoted(temp).c_str(), settings.c_str(), plot.c_str());
  const int status = ::pclose(gnuplot);
  std::error_code ec;
  if (status != 0 || !std::filesystem::exists(temp, ec)) {
    std::filesystem::remove(temp, ec);
    warn_once("gnuplot failed to draw " + png_path);
    return false;
  }
  std::filesystem::rename(temp, png_path, ec);
  return !ec;
}

}  // namespace

bool plot_losses(const std::string& csv_path, const std::string& png_path) {
  return draw(png_path,
              "set title 'Training Losses'\nset xlabel 'step'\nset ylabel 'loss'\n"
              "set key top right\nset grid",
              "plot " + quoted(csv_path) +
                  " using 5:3 skip 1 with lines lw 2 title 'Discriminator', '' using 5:4 skip 1 "
                  "with lines lw 2 title 'Generator'");
}

bool plot_quality(const std::string& csv_path, const std::string& png_path, bool class_accuracy) {
  std::string settings =
      "set title 'Sample Quality'\nset xlabel 'epoch'\n"
      "set ylabel 'Frechet distance (lower is better)'\nset key top right\nset grid";
  std::string plot = "plot " + quoted(csv_path) +
                     " using 1:2 skip 1 with linespoints lw 2 pt 7 title 'Frechet distance'";
  if (class_accuracy) {
    // On the right axis, in percent: a conditional run's share read as the class asked for.
    // The key moves off the top, where class accuracy runs near 100%.
    settings += "\nset y2label 'class accuracy, % (higher is better)'\nset y2range [0:100]"
                "\nset y2tics\nset ytics nomirror\nset key center right";
    plot += ", '' using 1:($5*100) skip 1 axes x1y2 with linespoints lw 2 pt 5 "
            "title 'class accuracy'";
  }
  return draw(png_path, settings, plot);
}

}  // namespace dcgan::train
