#include "dcgan/cli/inspect_commands.h"

#include <cxxopts.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "dcgan/cli/data_options.h"
#include "dcgan/cli/options.h"
#include "dcgan/data/dataset.h"
#include "dcgan/interop/transfer.h"
#include "dcgan/models/conditioning.h"
#include "dcgan/models/minibatch_std.h"
#include "dcgan/models/summary.h"
#include "dcgan/train/config.h"
#include "dcgan/util/errors.h"

namespace dcgan::cli {

int inspect_command(int argc, char** argv) {
  cxxopts::Options options("dcgan inspect",
                           "Describe an SVHN-format .mat file or an image folder.");
  // clang-format off: one option per line reads as a table
  options.add_options()("data", "SVHN .mat file or image folder", cxxopts::value<std::string>())(
      "json", "Print one JSON object instead of a table (default: off)",
      cxxopts::value<bool>()->default_value("false"));
  // clang-format on
  add_folder_options(options);
  auto args = parse_options(options, argc, argv);
  if (!args) return 0;
  if (!args->count("data")) throw InputError("inspect: --data FILE is required");
  const auto file = (*args)["data"].as<std::string>();
  const bool json = (*args)["json"].as<bool>();
  if (json) send_logs_to_stderr();
  if (const auto model = interop::model_file_instead_of_data(file); !model.empty())
    throw InputError(model);
  const auto set = data::load_images(file, folder_options(*args));
  const auto stats = data::describe(set);
  if (json) {
    std::cout << data::to_json(file, set, stats).dump() << std::endl;
  } else {
    std::cout << data::to_table(file, set, stats);
  }
  return 0;
}

int summary_command(int argc, char** argv) {
  cxxopts::Options options("dcgan summary",
                           "Both models layer by layer, with output shapes and parameters.");
  // clang-format off: one option per line reads as a table
  options.add_options()("conv-dim", "Model width (32 is the notebook's model)",
                        cxxopts::value<int64_t>()->default_value("128"))(
      "z-size", "Latent vector length", cxxopts::value<int64_t>()->default_value("100"))(
      "image-size", "Image side: 32, 64, 128 or 256", cxxopts::value<int64_t>()->default_value("32"))(
      "arch", "notebook or pytorch-examples", cxxopts::value<std::string>()->default_value("notebook"))(
      "conditional", "none, acgan or projection: the class-conditional models (as train's "
      "--conditional)", cxxopts::value<std::string>()->default_value("none"))(
      "classes", "Classes of a conditional model", cxxopts::value<int64_t>()->default_value("10"))(
      "minibatch-std", "D's minibatch std group size, as train's --minibatch-std (default: " +
      std::to_string(models::kAcganMinibatchStd) + " with --conditional acgan, else 0)",
      cxxopts::value<int64_t>()->default_value("0"))(
      "no-acgan-projection", "acgan: D without the projection term, as train's "
      "--no-acgan-projection (default: off)", cxxopts::value<bool>()->default_value("false"))(
      "json", "Print one JSON object instead of tables (default: off)",
      cxxopts::value<bool>()->default_value("false"));
  // clang-format on
  auto args = parse_options(options, argc, argv);
  if (!args) return 0;
  const auto conv_dim = (*args)["conv-dim"].as<int64_t>();
  const auto z_size = (*args)["z-size"].as<int64_t>();
  if (conv_dim < 1)
    throw InputError("--conv-dim must be at least 1, got " + std::to_string(conv_dim));
  if (z_size < 1) throw InputError("--z-size must be at least 1, got " + std::to_string(z_size));
  const auto image_size = (*args)["image-size"].as<int64_t>();
  models::check_image_size(image_size);
  const auto arch = models::parse_arch((*args)["arch"].as<std::string>());
  const auto method = (*args)["conditional"].as<std::string>();
  const auto conditioning =
      method == "none" ? models::Conditioning::kNone : models::parse_conditioning(method);
  const auto classes =
      conditioning == models::Conditioning::kNone ? 0 : (*args)["classes"].as<int64_t>();
  if (conditioning != models::Conditioning::kNone && (classes < 2 || classes > models::kMaxClasses))
    throw InputError("--classes must be 2-" + std::to_string(models::kMaxClasses) + ", got " +
                     std::to_string(classes));
  // As train builds D: acgan has the minibatch std layer and the projection term unless told
  // otherwise.
  const auto minibatch_std = args->count("minibatch-std")
                                 ? (*args)["minibatch-std"].as<int64_t>()
                                 : models::default_minibatch_std(conditioning);
  models::check_minibatch_std_option(minibatch_std);
  const bool acgan_projection =
      models::default_acgan_projection(conditioning) && !(*args)["no-acgan-projection"].as<bool>();
  models::Generator generator(models::GeneratorOptions(z_size, conv_dim)
                                  .image_size(image_size)
                                  .arch(arch)
                                  .conditioning(conditioning)
                                  .classes(classes));
  models::Discriminator discriminator{models::DiscriminatorOptions(conv_dim)
                                          .image_size(image_size)
                                          .arch(arch)
                                          .minibatch_std(minibatch_std)
                                          .conditioning(conditioning)
                                          .classes(classes)
                                          .acgan_projection(acgan_projection)};
  const auto side = std::to_string(image_size) + "x" + std::to_string(image_size);
  const auto g = models::summarize(generator);
  const auto d = models::summarize(discriminator);
  if ((*args)["json"].as<bool>()) {
    std::cout << nlohmann::json{{"generator", models::to_json(g)},
                                {"discriminator", models::to_json(d)}}
                     .dump()
              << std::endl;
  } else {
    const auto model = models::to_string(arch) + ", " + side + ", conv_dim " +
                       std::to_string(conv_dim) +
                       (classes ? ", " + method + " over " + std::to_string(classes) + " classes"
                                : "");
    const auto d_model = model +
                         (minibatch_std ? ", minibatch std " + std::to_string(minibatch_std) : "") +
                         (acgan_projection ? ", projection term" : "");
    std::cout << models::to_table("Generator (" + model + ", z_size " + std::to_string(z_size) +
                                      ")",
                                  g)
              << "\n"
              << models::to_table("Discriminator (" + d_model + ")", d);
  }
  return 0;
}

}  // namespace dcgan::cli
