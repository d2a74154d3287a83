#include "dcgan/interop/transfer.h"

#include <algorithm>
#include <filesystem>
#include <random>

#include "dcgan/interop/state_dict_layout.h"
#include "dcgan/interop/torchscript.h"
#include "dcgan/models/minibatch_std.h"
#include "dcgan/train/checkpoint.h"
#include "dcgan/train/gan.h"
#include "dcgan/util/errors.h"
#include "dcgan/util/files.h"
#include "dcgan/util/finite.h"

namespace dcgan::interop {
namespace fs = std::filesystem;

namespace {

// The checkpoint's architecture, with a hint when it is a notebook file rather than ours.
train::CheckpointInfo checkpoint_info(const std::string& path) {
  return train::read_checkpoint_info(path);
}

// generator_options / discriminator_options of `state`; a TorchScript module of another layout is
// refused as such, since the layout's own message would send its user looking for a state_dict.
template <typename Options>
Options options_of(const serialization::TensorDict& state, const std::string& path,
                   Options (*read)(const serialization::TensorDict&, const std::string&)) {
  try {
    return read(state, path);
  } catch (const InputError& e) {
    if (serialization::file_kind(path) != serialization::FileKind::kTorchScript) throw;
    std::string why = e.what();
    if (why.rfind(path + ": ", 0) == 0) why = why.substr(path.size() + 2);
    throw InputError(path +
                     ": is a TorchScript module whose weights match neither the notebook's "
                     "nor pytorch/examples' layout (" +
                     why +
                     "); load it in Python and save the weights of a matching class instead: "
                     "torch.save(model.state_dict(), 'G.pt')");
  }
}

}  // namespace

models::Generator generator_for_export(const ExportOptions& options) {
  return train::load_generator(options.checkpoint, torch::kCPU);
}

serialization::TensorDict exported_state(const ExportOptions& options) {
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
  if (options.net != "generator" && options.net != "discriminator")
    throw InputError("--net must be generator or discriminator, got '" + options.net + "'");
  if (options.format != "state_dict" && options.format != "torchscript")
    throw InputError("--format must be state_dict or torchscript, got '" + options.format + "'");
  check_output_file(options.out);
  const auto info = checkpoint_info(options.checkpoint);
  const bool torchscript = options.format == "torchscript";
  // A conditional module carries the run's class names; a state_dict holds tensors only.
  if (torchscript && options.net == "generator") {
    auto generator = generator_for_export(options);
    write_file_atomically(options.out, module_bytes(generator_module(generator, info.class_names)));
  } else if (torchscript) {
    auto discriminator = train::load_discriminator(options.checkpoint, torch::kCPU);
    write_file_atomically(options.out,
                          module_bytes(discriminator_module(discriminator, info.class_names)));
  } else {
    write_file_atomically(options.out, serialization::state_dict_bytes(exported_state(options)));
  }
  // A state_dict's keys are those of the arch's PyTorch classes; a TorchScript module needs none.
  const std::string layout =
      torchscript ? ""
                  : (info.arch == models::Arch::kNotebook ? "; the notebook's layout"
                                                          : "; pytorch/examples' main.N layout") +
                        (info.conditioning == models::Conditioning::kNone
                             ? std::string()
                             : " with " + models::to_string(info.conditioning) + "'s class layers");
  // D's minibatch std layer and projection term say nothing of the generator.
  auto described = info;
  if (options.net == "generator") {
    described.minibatch_std = 0;
    described.acgan_projection = false;
  }
  return (options.net == "generator" ? "Generator (" : "Discriminator (") +
         train::describe(described) + layout + ")" +
         (options.net == "generator" && info.has_g_ema
              ? ", the moving average of its weights (--g-ema)"
              : "");
}

serialization::TensorDict read_model_weights(const std::string& path,
                                             ExportedAttributes* attributes) {
  serialization::TensorDict state;
  switch (serialization::file_kind(path)) {
    case serialization::FileKind::kTorchScript:
      state = torchscript_state(path, attributes);
      break;
    case serialization::FileKind::kLegacyTorchSave:
      throw InputError(path +
                       ": is a PyTorch file in the legacy torch.save format (before PyTorch "
                       "1.6), which dcgan does not read; re-save it in Python with "
                       "torch.save(torch.load(path), 'G.pt')");
    default:  // a state_dict; serialization::read_state_dict names a checkpoint or any other file
              // itself
      state = serialization::read_state_dict(path);
  }
  require_finite(state, path, "the model's training had diverged; use weights saved before that");
  return state;
}

std::string model_file_instead_of_data(const std::string& path) {
  const std::string not_data = ": is a model file, not images: ";
  switch (serialization::file_kind(path)) {
    case serialization::FileKind::kDcganCheckpoint:
      return path + not_data + "a dcgan checkpoint; sample it with `dcgan generate --checkpoint " +
             path + "`";
    case serialization::FileKind::kTorchSave:
      return path + not_data + "a PyTorch file (torch.save); make a run of a state_dict with " +
             "`dcgan import --generator " + path + " --out RUN`";
    case serialization::FileKind::kTorchScript:
      return path + not_data +
             "a TorchScript module (torch.jit.save); run it with torch.jit.load, " +
             "or make a run of its weights with `dcgan import --generator " + path + " --out RUN`";
    case serialization::FileKind::kLegacyTorchSave:
      return path + not_data +
             "a PyTorch file in the legacy torch.save format (before PyTorch 1.6)";
    default:
      return "";
  }
}

namespace {

// "0".."K-1": a state_dict names no classes. They are the digits' names, so an imported SVHN model
// of 10 classes trains on (train --resume) on SVHN's labels.
std::vector<std::string> numbered_classes(int64_t classes) {
  std::vector<std::string> names;
  for (int64_t k = 0; k < classes; ++k) names.push_back(std::to_string(k));
  return names;
}

}  // namespace

void import_models(ImportOptions options) {
  auto& config = options.config;
  if (options.generator.empty()) throw InputError("--generator FILE is required");
  if (config.out_dir.empty()) throw InputError("--out DIR is required");
  if (options.acgan_classes != 0 &&
      (options.acgan_classes < 2 || options.acgan_classes > models::kMaxClasses)) {
    throw InputError("--acgan-classes must be 2-" + std::to_string(models::kMaxClasses) + ", got " +
                     std::to_string(options.acgan_classes));
  }
  if (fs::exists(fs::path(config.out_dir) / "checkpoints" / "last.pt")) {
    throw InputError(config.out_dir + ": already holds a run; choose another --out");
  }
  ExportedAttributes g_exported, d_exported;
  const auto g_state = read_model_weights(options.generator, &g_exported);
  auto g_options = options_of(g_state, options.generator, &generator_options);
  // An AC-GAN generator reads as an unconditional one with a longer z: its class count comes from
  // a dcgan module's attributes, --acgan-classes, or its discriminator's classifier (below).
  const bool g_keys_conditional = g_options.conditioning() != models::Conditioning::kNone;
  auto as_acgan = [&](int64_t classes) {
    if (g_keys_conditional) {
      throw InputError(options.generator + ": a generator with " +
                       models::to_string(g_options.conditioning()) + " conditioning (" +
                       std::to_string(g_options.classes()) +
                       " classes), not AC-GAN's; leave out --acgan-classes");
    }
    g_options = as_acgan_generator(g_options, classes, options.generator);
  };
  if (g_exported.conditioning == models::Conditioning::kAcgan)
    as_acgan(static_cast<int64_t>(g_exported.class_names.size()));
  if (options.acgan_classes > 0 && g_options.conditioning() != models::Conditioning::kAcgan)
    as_acgan(options.acgan_classes);
  serialization::TensorDict d_state;
  if (!options.discriminator.empty()) {
    d_state = read_model_weights(options.discriminator, &d_exported);
    const auto d_options = options_of(d_state, options.discriminator, &discriminator_options);
    if (d_options.conditioning() == models::Conditioning::kAcgan &&
        g_options.conditioning() == models::Conditioning::kNone) {
      as_acgan(d_options.classes());
    }
    const auto differs = [&](const std::string& what, const std::string& d_value,
                             const std::string& g_value) {
      if (d_value == g_value) return;
      throw InputError(options.discriminator + ": " + what + " " + d_value +
                       " differs from the generator's " + g_value + " (" + options.generator +
                       "); dcgan trains both at one " + what);
    };
    differs("arch", models::to_string(d_options.arch()), models::to_string(g_options.arch()));
    differs("image size", std::to_string(d_options.image_size()),
            std::to_string(g_options.image_size()));
    differs("conv_dim", std::to_string(d_options.conv_dim()), std::to_string(g_options.conv_dim()));
    differs("conditioning", models::to_string(d_options.conditioning()),
            models::to_string(g_options.conditioning()));
    differs("class count", std::to_string(d_options.classes()),
            std::to_string(g_options.classes()));
    // The minibatch std layer has no weights of its own: the channel it adds shows in the logit
    // layer's shape, its group size only in a dcgan module's attributes or --minibatch-std.
    const bool has_channel = has_minibatch_std_channel(d_state, d_options);
    const auto said = d_exported.minibatch_std;
    if (!has_channel && options.minibatch_std > 0) {
      throw InputError(options.discriminator +
                       ": has no minibatch standard deviation channel; leave out --minibatch-std");
    }
    if (has_channel && said > 0 && options.minibatch_std > 0 && said != options.minibatch_std) {
      throw InputError(options.discriminator + ": says its minibatch std group size is " +
                       std::to_string(said) + ", not the " + std::to_string(options.minibatch_std) +
                       " of --minibatch-std");
    }
    if (has_channel && said == 0 && options.minibatch_std == 0) {
      throw InputError(options.discriminator +
                       ": has a minibatch standard deviation channel (its last layer takes one "
                       "more channel than its features), whose group size a state_dict does not "
                       "hold; give it with --minibatch-std N");
    }
    config.minibatch_std = has_channel ? std::max(said, options.minibatch_std) : 0;
    config.acgan_projection = d_options.acgan_projection();
  } else {
    // A fresh discriminator: as `dcgan train` would build it for this generator.
    config.minibatch_std = options.minibatch_std > 0
                               ? options.minibatch_std
                               : models::default_minibatch_std(g_options.conditioning());
    config.acgan_projection = models::default_acgan_projection(g_options.conditioning());
  }
  if (options.acgan_classes > 0 && g_options.classes() != options.acgan_classes) {
    throw InputError(options.generator + ": has " + std::to_string(g_options.classes()) +
                     " classes, not the " + std::to_string(options.acgan_classes) +
                     " of --acgan-classes");
  }
  config.conv_dim = g_options.conv_dim();
  config.z_size = g_options.z_size();
  config.image_size = g_options.image_size();
  config.arch = models::to_string(g_options.arch());
  config.conditional = models::to_string(g_options.conditioning());
  const bool conditional = g_options.conditioning() != models::Conditioning::kNone;
  const auto class_names = !g_exported.class_names.empty() ? g_exported.class_names
                           : !d_exported.class_names.empty()
                               ? d_exported.class_names
                               : numbered_classes(g_options.classes());
  if (!config.seed_given) config.seed = std::random_device{}() & 0x7FFFFFFF;
  config.seed_given = true;
  train::validate(config);

  // The seed makes a fresh discriminator and the sample grid's fixed z reproducible.
  torch::manual_seed(config.seed);
  auto gan_options = train::gan_options(config);
  gan_options.g_ema_decay = 0;
  gan_options.classes = g_options.classes();
  train::Gan gan(gan_options, torch::kCPU);
  load_pytorch_state_dict(gan.generator, g_state, options.generator);
  if (!d_state.empty()) load_pytorch_state_dict(gan.discriminator, d_state, options.discriminator);

  train::TrainingProgress progress;
  // A conditional run's grid, as train makes it: one row per class, each column one z.
  progress.fixed_z =
      conditional
          ? train::sample_z(gan_options, config.nrow, torch::kCPU).repeat({gan_options.classes, 1})
          : train::sample_z(gan_options, config.sample_size, torch::kCPU);
  if (conditional) progress.class_names = class_names;
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
