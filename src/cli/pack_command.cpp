#include "dcgan/cli/pack_command.h"

#include <spdlog/spdlog.h>

#include <cxxopts.hpp>
#include <filesystem>

#include "dcgan/cli/data_options.h"
#include "dcgan/cli/options.h"
#include "dcgan/data/dataset.h"
#include "dcgan/data/image_folder.h"
#include "dcgan/util/errors.h"
#include "dcgan/util/files.h"
#include "dcgan/util/progress_mode.h"

namespace dcgan::cli {

int pack_command(int argc, char** argv) {
  cxxopts::Options options(
      "dcgan pack",
      "Write an image folder as one SVHN-layout .mat file (X uint8 SxSx3xN, y Nx1; a class "
      "folder's names in `classes`), read back by every command like the folder itself.");
  // clang-format off: one option per line reads as a table
  options.add_options()("folder", "The image folder (or give it as the first argument)",
                        cxxopts::value<std::string>())("out", "The .mat file to write",
                                                       cxxopts::value<std::string>())(
      "image-size", "Side of the square images written",
      cxxopts::value<int64_t>()->default_value("32"))(
      "progress", kProgressModesHelp, cxxopts::value<std::string>()->default_value("auto"));
  // clang-format on
  add_folder_options(options);
  options.parse_positional({"folder"});
  options.positional_help("DIR");
  auto args = parse_options(options, argc, argv);
  if (!args) return 0;
  check_progress_mode((*args)["progress"].as<std::string>());
  if (!args->count("folder")) throw InputError("pack: the image folder DIR is required");
  if (!args->count("out")) throw InputError("pack: --out FILE.mat is required");
  const auto folder = (*args)["folder"].as<std::string>();
  const auto out = (*args)["out"].as<std::string>();
  std::error_code ec;
  if (!std::filesystem::is_directory(folder, ec))
    throw InputError(folder + ": not a folder (pack writes an image folder as a .mat file)");
  check_output_file(out);
  auto folder_opts = folder_options(*args, (*args)["progress"].as<std::string>());
  folder_opts.image_size = (*args)["image-size"].as<int64_t>();
  const auto set = data::load_image_folder(folder, folder_opts);
  data::write_svhn_mat(out, set);
  spdlog::info("wrote {}: {} images of {}x{}, {}", out, set.size(), set.side(), set.side(),
               set.classes.empty() ? std::string("no labels")
                                   : std::to_string(set.classes.size()) + " classes");
  return 0;
}

}  // namespace dcgan::cli
