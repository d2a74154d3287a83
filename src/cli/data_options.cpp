#include "dcgan/cli/data_options.h"

namespace dcgan::cli {

void add_folder_options(cxxopts::Options& options) {
  // clang-format off: one option per line reads as a table
  options.add_options("image folders")(
      "strict", "Refuse a folder holding an unreadable image instead of skipping it (default: off)",
      cxxopts::value<bool>()->default_value("false"))(
      "no-cache", "Decode the folder again instead of using or writing its cache (default: off)",
      cxxopts::value<bool>()->default_value("false"))(
      "cache-dir",
      "Where decoded folders are cached (default: $XDG_CACHE_HOME/dcgan, else ~/.cache/dcgan)",
      cxxopts::value<std::string>());
  // clang-format on
}

data::ImageFolderOptions folder_options(const cxxopts::ParseResult& args,
                                        const std::string& progress) {
  data::ImageFolderOptions folder;
  folder.strict = args["strict"].as<bool>();
  folder.use_cache = !args["no-cache"].as<bool>();
  if (args.count("cache-dir")) folder.cache_dir = args["cache-dir"].as<std::string>();
  folder.progress = progress;
  return folder;
}

}  // namespace dcgan::cli
