// What the variables of an SVHN-format MAT file mean, for both readers (MAT v5 through matio in
// svhn.cpp, v7.3 through HDF5 in mat73.cpp): y's labels, and the rows of a char matrix (the
// `classes` variable `dcgan pack` writes).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "dcgan/util/errors.h"
#include "mat_detail.h"

namespace dcgan::data::detail {

std::vector<int64_t> labels_from_y(const std::string& path, const std::vector<double>& y,
                                   int64_t classes) {
  std::vector<int64_t> labels(y.size(), -1);
  if (std::all_of(y.begin(), y.end(), [](double v) { return v == 0; })) return labels;
  const double hi = classes > 0 ? static_cast<double>(classes) : 10;
  const bool whole_in_range = std::all_of(y.begin(), y.end(), [&](double v) {
    return std::isfinite(v) && v == std::round(v) && v >= 1 && v <= hi;
  });
  if (!whole_in_range) {
    const auto [lo, top] = std::minmax_element(y.begin(), y.end());
    throw InputError(path + ": variable 'y' has labels outside 1-" +
                     std::to_string(static_cast<int64_t>(hi)) +
                     (classes > 0 ? " (its 'classes' names " + std::to_string(classes) + ")" : "") +
                     " (min " + std::to_string(*lo) + ", max " + std::to_string(*top) + ")");
  }
  for (size_t i = 0; i < y.size(); ++i) {
    const auto v = static_cast<int64_t>(y[i]);
    labels[i] = classes > 0 ? v - 1 : (v == 10 ? 0 : v);  // SVHN writes digit 0 as 10
  }
  return labels;
}

std::vector<std::string> char_rows(const std::vector<uint32_t>& units, int64_t rows,
                                   int64_t columns, bool utf8_bytes) {
  std::vector<std::string> names(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    std::string& name = names[static_cast<size_t>(r)];
    for (int64_t c = 0; c < columns; ++c) {
      const uint32_t u = units[static_cast<size_t>(c * rows + r)];
      if (u < 0x80 || utf8_bytes) {
        name += static_cast<char>(u);
      } else if (u < 0x800) {
        name += static_cast<char>(0xC0 | (u >> 6));
        name += static_cast<char>(0x80 | (u & 0x3F));
      } else {
        name += static_cast<char>(0xE0 | ((u >> 12) & 0x0F));
        name += static_cast<char>(0x80 | ((u >> 6) & 0x3F));
        name += static_cast<char>(0x80 | (u & 0x3F));
      }
    }
    while (!name.empty() && (name.back() == ' ' || name.back() == '\0')) name.pop_back();
  }
  return names;
}

}  // namespace dcgan::data::detail
