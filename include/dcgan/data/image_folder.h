#pragma once

#include <cstdint>
#include <string>

#include "dcgan/data/svhn.h"

namespace dcgan::data {

// How a folder of images is read (the CLI's --image-size, --strict, --no-cache, --cache-dir).
struct ImageFolderOptions {
  int64_t image_size = 32;  // side S of the square images produced
  bool strict = false;      // refuse the folder at the first unreadable image instead of skipping
  bool use_cache = true;    // keep the decoded images in a cache file and reuse it (cache.h)
  std::string cache_dir;    // where cache files go; "" means default_cache_dir()
  std::string progress = "auto";  // auto (a bar on a terminal, log lines otherwise), bar, log, none
};

// Loads every PNG/JPEG/BMP image under `dir` the way torchvision's ImageFolder does:
//   - a folder of subfolders: each subfolder is a class (labels 0.. in sorted name order), read
//     recursively; files directly in `dir` are then ignored;
//   - a flat folder: its images, label-less (-1).
// Each image is center-cropped to a square and resized to image_size with an area (box) filter;
// grayscale and RGBA become RGB. Unreadable files are skipped and counted (refused with `strict`).
// Throws dcgan::InputError naming the folder or file.
ImageSet load_image_folder(const std::string& dir, const ImageFolderOptions& options = {});

}  // namespace dcgan::data
