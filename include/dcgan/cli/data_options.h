#pragma once

#include <cxxopts.hpp>

#include "dcgan/data/image_folder.h"

namespace dcgan::cli {

// The options of every command that reads an image folder: --strict, --no-cache, --cache-dir
// (declared once here, so train, inspect, evaluate and pack agree).
void add_folder_options(cxxopts::Options& options);

// The folder options given; `progress` is the command's auto/bar/log/none.
data::ImageFolderOptions folder_options(const cxxopts::ParseResult& args,
                                        const std::string& progress = "auto");

}  // namespace dcgan::cli
