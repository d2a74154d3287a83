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
  spdlog::warn("{}; losses.png will not be drawn (losses.csv has the numbers)", message);
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

}  // namespace

bool plot_losses(const std::string& csv_path, const std::string& png_path) {
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
               "set title 'Training Losses'\n"
               "set xlabel 'step'\nset ylabel 'loss'\n"
               "set key top right\nset grid\n"
               "plot %s using 5:3 skip 1 with lines lw 2 title 'Discriminator', "
               "'' using 5:4 skip 1 with lines lw 2 title 'Generator'\n",
               quoted(temp).c_str(), quoted(csv_path).c_str());
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

}  // namespace dcgan::train
