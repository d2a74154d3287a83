#pragma once

#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dcgan/data/svhn.h"

namespace dcgan::data {

// Loads one training source: an SVHN-format .mat file, or a folder of PNG/JPEG images.
ImageSet load_images(const std::string& path);

// Loads and concatenates several sources; `limit` > 0 keeps only the first `limit` images.
ImageSet load_images(const std::vector<std::string>& paths, int64_t limit = 0);

struct ImageSetStats {
  int64_t images = 0;
  std::array<int64_t, 10> label_counts{};  // digits 0-9; unlabelled images are not counted
  std::array<double, 3> pixel_mean{};      // R, G, B in 0-255 units over all images
};

ImageSetStats describe(const ImageSet& set);

// The `inspect --json` object: file, format, images, height, width, channels, label_counts,
// pixel_mean.
nlohmann::json to_json(const std::string& file, const ImageSet& set, const ImageSetStats& stats);
std::string to_table(const std::string& file, const ImageSet& set, const ImageSetStats& stats);

}  // namespace dcgan::data
