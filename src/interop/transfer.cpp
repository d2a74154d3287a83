#include "dcgan/interop/transfer.h"

#include <filesystem>
#include <random>

#include "dcgan/interop/state_dict_layout.h"
#include "dcgan/train/checkpoint.h"
#include "dcgan/train/gan.h"
#include "dcgan/util/errors.h"
#include "dcgan/util/files.h"

namespace dcgan::interop {
namespace fs = std::filesystem;

namespace {

// The checkpoint's architecture, with a hint when it is a notebook file rather than ours.
train::CheckpointInfo checkpoint_info(const std::string& path) {
  return train::read_checkpoint_info(path);
}

}  // namespace

models::Generator generator_for_export(const ExportOptions& options) {
  return train::load_generator(options.checkpoint, torch::kCPU);
}

TensorDict exported_state(const ExportOptions& options) {
  if (options.net == "generator") {
    auto generator = generator_for_export(options);
    return pytorch_state_dict(generator);
  }
  if (options.net == "discriminator") {
    auto discriminator = train::load_discriminator(options.checkpoint, torch::kCPU);
    return pytorch_state_dict(discriminator);
  }
  throw InputError("--net must be generator or discriminator, got '" + options.net + "'");
}

std::string export_model(const ExportOptions& options) {
  if (options.checkpoint.empty()) throw InputError("--checkpoint FILE is required");
  if (options.out.empty()) throw InputError("--out FILE is required");
  check_output_file(options.out);
  const auto state = exported_state(options);
  write_file_atomically(options.out, state_dict_bytes(state));
  const auto info = checkpoint_info(options.checkpoint);
  const auto layout = info.arch == models::Arch::kNotebook ? "the notebook's layout"
                                                           : "pytorch/examples' main.N layout";
  return (options.net == "generator" ? "Generator (" : "Discriminator (") + train::describe(info) +
         "; " + layout + ")" +
         (options.net == "generator" && info.has_g_ema
              ? ", the moving average of its weights (--g-ema)"
              : "");
}

void import_models(ImportOptions options) {
  auto& config = options.config;
  if (options.generator.empty()) throw InputError("--generator FILE is required");
  if (config.out_dir.empty()) throw InputError("--out DIR is required");
  if (fs::exists(fs::path(config.out_dir) / "checkpoints" / "last.pt")) {
    throw InputError(config.out_dir + ": already holds a run; choose another --out");
  }
  const auto g_state = read_state_dict(options.generator);
  const auto g_options = generator_options(g_state, options.generator);
  config.conv_dim = g_options.conv_dim();
  config.z_size = g_options.z_size();
  config.image_size = g_options.image_size();
  config.arch = models::to_string(g_options.arch());
  TensorDict d_state;
  if (!options.discriminator.empty()) {
    d_state = read_state_dict(options.discriminator);
    const auto d_options = discriminator_options(d_state, options.discriminator);
    const auto differs = [&](const std::string& what, const std::string& d_value,
                             const std::string& g_value) {
      if (d_value == g_value) return;
      throw InputError(options.discriminator + ": " + what + " " + d_value +
                       " differs from the generator's " + g_value + " (" + options.generator +
                       "); dcgan trains both at one " + what);
    };
    differs("arch", models::to_string(d_options.arch()), config.arch);
    differs("image size", std::to_string(d_options.image_size()),
            std::to_string(config.image_size));
    differs("conv_dim", std::to_string(d_options.conv_dim()), std::to_string(config.conv_dim));
  }
  if (!config.seed_given) config.seed = std::random_device{}() & 0x7FFFFFFF;
  config.seed_given = true;
  train::validate(config);

  // The seed makes a fresh discriminator and the sample grid's fixed z reproducible.
  torch::manual_seed(config.seed);
  auto gan_options = train::gan_options(config);
  gan_options.g_ema_decay = 0;
  train::Gan gan(gan_options, torch::kCPU);
  load_pytorch_state_dict(gan.generator, g_state, options.generator);
  if (!d_state.empty()) load_pytorch_state_dict(gan.discriminator, d_state, options.discriminator);

  train::TrainingProgress progress;
  progress.fixed_z = train::sample_z(gan_options, config.sample_size, torch::kCPU);
  progress.config_json = train::to_json(config).dump();
  ensure_writable_dir(config.out_dir + "/checkpoints");
  auto config_json = train::to_json(config);
  config_json["imported_generator"] = fs::absolute(options.generator).string();
  if (!options.discriminator.empty())
    config_json["imported_discriminator"] = fs::absolute(options.discriminator).string();
  write_file_atomically(config.out_dir + "/config.json", config_json.dump(2) + "\n");
  write_file_atomically(config.out_dir + "/losses.csv", "epoch,batch,d_loss,g_loss,step\n");
  write_file_atomically(config.out_dir + "/checkpoints/last.pt",
                        train::serialize_checkpoint(gan, progress));
}

}  // namespace dcgan::interop
