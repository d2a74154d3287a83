#pragma once

#include <string>

#include "dcgan/data/svhn.h"

namespace dcgan::data {

// Loads every PNG/JPEG/BMP image in `dir` (sorted by name, not recursive), center-cropped to a
// square and resized to 32x32 RGB. Labels are -1 (unknown). Throws dcgan::InputError naming a file
// that cannot be decoded, or the folder when it holds no images.
ImageSet load_image_folder(const std::string& dir);

}  // namespace dcgan::data
