#pragma once

#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dcgan/data/image_folder.h"
#include "dcgan/data/svhn.h"

namespace dcgan::data {

// Loads one training source: an SVHN-format .mat file, or a folder of PNG/JPEG images (read with
// `folder`; its image_size applies to folders only: a MAT file has the side it was written with).
ImageSet load_images(const std::string& path, const ImageFolderOptions& folder = {});

// Loads and concatenates several sources; `limit` > 0 keeps only the first `limit` images. The
// sources must have the same image side, and all labels of one kind (digits, or one folder's
// classes), else InputError.
ImageSet load_images(const std::vector<std::string>& paths, int64_t limit = 0,
                     const ImageFolderOptions& folder = {});

struct ImageSetStats {
  int64_t images = 0;
  // Images per label: digits 0-9 for SVHN, one per class of a class folder (set.classes); empty
  // for a label-less set. Unlabelled images (-1) are not counted.
  std::vector<int64_t> label_counts;
  std::array<double, 3> pixel_mean{};  // R, G, B in 0-255 units over all images
};

// One pass over the uint8 pixels on every core: about 0.1 s for SVHN's 73,257 training images.
ImageSetStats describe(const ImageSet& set);

// The `inspect --json` object: file, format, images, height, width, channels, label_counts,
// classes (a class folder's names; [] otherwise), pixel_mean.
nlohmann::json to_json(const std::string& file, const ImageSet& set, const ImageSetStats& stats);
std::string to_table(const std::string& file, const ImageSet& set, const ImageSetStats& stats);

}  // namespace dcgan::data
