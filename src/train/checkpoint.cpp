#include "dcgan/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "dcgan/serialization/torch_file.h"
#include "dcgan/util/archive_values.h"
#include "dcgan/util/errors.h"
#include "dcgan/util/finite.h"

namespace dcgan::train {
namespace {

int64_t read_int(torch::serialize::InputArchive& archive, const char* key) {
  torch::Tensor t;
  archive.read(key, t);
  return t.item<int64_t>();
}

uint64_t fnv1a64(const void* data, size_t size) {
  uint64_t hash = 14695981039346656037ULL;
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) hash = (hash ^ bytes[i]) * 1099511628211ULL;
  return hash;
}

// What a model file that is not a checkpoint is, and what to do with it instead.
[[noreturn]] void throw_not_a_checkpoint(const std::string& path) {
  const std::string import = "`dcgan import --generator " + path + " --out RUN`";
  switch (serialization::file_kind(path)) {
    case serialization::FileKind::kTorchSave:
      throw InputError(path +
                       ": is a PyTorch file (torch.save), not a dcgan checkpoint; make a run "
                       "of a notebook or pytorch/examples state_dict with " +
                       import);
    case serialization::FileKind::kTorchScript:
      throw InputError(path +
                       ": is a TorchScript module (torch.jit.save), not a dcgan checkpoint; "
                       "run it with torch.jit.load, or make a run of its weights with " +
                       import);
    case serialization::FileKind::kLegacyTorchSave:
      throw InputError(path +
                       ": is a PyTorch file in the legacy torch.save format (before PyTorch "
                       "1.6), not a dcgan checkpoint; re-save it in Python with "
                       "torch.save(torch.load(path), 'G.pt'), then `dcgan import "
                       "--generator G.pt --out RUN`");
    default:
      throw InputError(path + ": not a dcgan checkpoint (no format version)");
  }
}

// Refuses weights a diverged run left behind: generating from them gives black images, and
// resuming from them can never recover.
void require_finite_model(const torch::nn::Module& model, const std::string& name,
                          const std::string& path) {
  require_finite(named_tensors(model, name + "."), path,
                 "the run had diverged when this checkpoint was written: use an earlier one "
                 "(checkpoints/epoch_NNN.pt)");
}

// Opens the envelope, checks version and checksum, and returns the payload archive with its
// tensors mapped straight to `device` (optimizer state included), so a CPU checkpoint resumes on a
// GPU.
torch::serialize::InputArchive open_archive(const std::string& path,
                                            torch::Device device = torch::kCPU) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw InputError(path + ": no such checkpoint file");
  torch::serialize::InputArchive envelope, archive;
  torch::Tensor payload;
  try {
    envelope.load_from(path, torch::kCPU);
  } catch (const c10::Error& e) {
    if (serialization::file_kind(path) == serialization::FileKind::kOther) {
      throw InputError(path + ": not a readable dcgan checkpoint (truncated or corrupt: " +
                       first_line(e.what_without_backtrace()) + ")");
    }
    throw_not_a_checkpoint(path);
  }
  int64_t version = 0;
  try {
    version = read_int(envelope, "format_version");
  } catch (const c10::Error&) {
    throw_not_a_checkpoint(path);
  }
  if (version > kCheckpointFormatVersion || version < 1) {
    throw InputError(path + ": checkpoint format version " + std::to_string(version) +
                     " is not supported by this dcgan (reads version " +
                     std::to_string(kCheckpointFormatVersion) + "); use the dcgan that wrote it");
  }
  try {
    envelope.read("payload", payload);
    // Checked and parsed in place: a conv_dim 128 checkpoint is ~80 MB, not worth another copy.
    payload = payload.contiguous();
    const auto* bytes = static_cast<const char*>(payload.data_ptr());
    const auto size = static_cast<size_t>(payload.numel());
    if (static_cast<uint64_t>(read_int(envelope, "payload_checksum")) != fnv1a64(bytes, size)) {
      throw InputError(path + ": checkpoint is corrupt (checksum mismatch)");
    }
    archive.load_from(bytes, size, device);
  } catch (const c10::Error& e) {
    throw InputError(path + ": checkpoint is incomplete or corrupt (" +
                     first_line(e.what_without_backtrace()) + ")");
  }
  return archive;
}

CheckpointInfo read_info(torch::serialize::InputArchive& archive, const std::string& path) {
  CheckpointInfo info;
  try {
    info.format_version = read_int(archive, "format_version");
    info.conv_dim = read_int(archive, "conv_dim");
    info.z_size = read_int(archive, "z_size");
    info.epochs_done = read_int(archive, "epochs_done");
  } catch (const c10::Error&) {
    throw InputError(path + ": not a dcgan checkpoint (no model sizes)");
  }
  torch::Tensor image_size, arch;
  if (archive.try_read("image_size", image_size)) info.image_size = image_size.item<int64_t>();
  if (archive.try_read("arch", arch)) {
    const auto name = tensor_string(arch.cpu());
    if (name != "notebook" && name != "pytorch-examples")
      throw InputError(path + ": checkpoint has an unknown architecture '" + name + "'");
    info.arch = models::parse_arch(name);
  }
  if (info.conv_dim < 1 || info.z_size < 1 || !models::is_supported_image_size(info.image_size))
    throw InputError(path + ": checkpoint has invalid model sizes");
  torch::serialize::InputArchive g_ema;
  info.has_g_ema = archive.try_read("g_ema", g_ema);
  // Absent from checkpoints written before --no-batch-norm and --spectral-norm.
  torch::Tensor batch_norm, spectral_norm;
  if (archive.try_read("batch_norm", batch_norm)) info.batch_norm = batch_norm.item<int64_t>() != 0;
  if (archive.try_read("spectral_norm", spectral_norm))
    info.spectral_norm = spectral_norm.item<int64_t>() != 0;
  torch::Tensor minibatch_std;  // absent from checkpoints written before --minibatch-std
  if (archive.try_read("minibatch_std", minibatch_std)) {
    info.minibatch_std = minibatch_std.item<int64_t>();
    if (info.minibatch_std < 0) throw InputError(path + ": checkpoint has invalid model sizes");
  }
  torch::Tensor acgan_projection;  // absent from checkpoints written before it
  if (archive.try_read("acgan_projection", acgan_projection))
    info.acgan_projection = acgan_projection.item<int64_t>() != 0;
  torch::Tensor conditioning, class_names;
  if (archive.try_read("conditioning", conditioning)) {
    const auto name = tensor_string(conditioning.cpu());
    if (name != "projection" && name != "acgan")
      throw InputError(path + ": checkpoint has an unknown conditioning '" + name + "'");
    info.conditioning = models::parse_conditioning(name);
    try {
      archive.read("class_names", class_names);
      info.class_names =
          nlohmann::json::parse(tensor_string(class_names.cpu())).get<std::vector<std::string>>();
    } catch (const std::exception&) {
      throw InputError(path + ": checkpoint's class names are missing or unreadable");
    }
    const auto classes = static_cast<int64_t>(info.class_names.size());
    if (classes < 2 || classes > models::kMaxClasses)
      throw InputError(path + ": checkpoint has " + std::to_string(classes) + " classes");
  }
  return info;
}

}  // namespace

std::string serialize_checkpoint(Gan& gan, const TrainingProgress& progress) {
  torch::serialize::OutputArchive archive;
  archive.write("format_version", int_tensor(kCheckpointFormatVersion));
  archive.write("conv_dim", int_tensor(gan.options.conv_dim));
  archive.write("z_size", int_tensor(gan.options.z_size));
  archive.write("image_size", int_tensor(gan.options.image_size));
  archive.write("arch", string_tensor(models::to_string(gan.options.arch)));
  archive.write("batch_norm", int_tensor(gan.options.batch_norm ? 1 : 0));
  archive.write("spectral_norm", int_tensor(gan.options.spectral_norm ? 1 : 0));
  archive.write("minibatch_std", int_tensor(gan.options.minibatch_std));
  if (gan.options.conditional()) {
    archive.write("conditioning", string_tensor(models::to_string(gan.options.conditioning)));
    archive.write("class_names", string_tensor(nlohmann::json(progress.class_names).dump()));
    archive.write("acgan_projection", int_tensor(gan.options.acgan_projection ? 1 : 0));
  }
  archive.write("epochs_done", int_tensor(progress.epochs_done));
  archive.write("batch_in_epoch", int_tensor(progress.batch_in_epoch));
  archive.write("global_step", int_tensor(progress.global_step));
  archive.write("images_seen", int_tensor(progress.images_seen));
  archive.write("train_seconds", torch::tensor(progress.train_seconds, torch::kFloat64));
  archive.write("fixed_z", progress.fixed_z.cpu());
  archive.write("config_json", string_tensor(progress.config_json));
  if (progress.epoch_order.defined()) archive.write("epoch_order", progress.epoch_order.cpu());
  if (progress.sample_history.defined())
    archive.write("sample_history", progress.sample_history.cpu());
  {
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    archive.write("rng_cpu", generator.get_state());
  }
  torch::serialize::OutputArchive g, d, g_opt, d_opt;
  gan.generator->save(g);
  gan.discriminator->save(d);
  gan.g_optimizer->save(g_opt);
  gan.d_optimizer->save(d_opt);
  archive.write("generator", g);
  archive.write("discriminator", d);
  archive.write("g_optimizer", g_opt);
  archive.write("d_optimizer", d_opt);
  if (!gan.g_ema.is_empty()) {
    torch::serialize::OutputArchive g_ema;
    gan.g_ema->save(g_ema);
    archive.write("g_ema", g_ema);
  }
  std::ostringstream bytes;
  archive.save_to(bytes);
  return seal_checkpoint(bytes.str());
}

std::string seal_checkpoint(const std::string& payload, int64_t format_version) {
  torch::serialize::OutputArchive envelope;
  envelope.write("format_version", int_tensor(format_version));
  envelope.write("payload", string_tensor(payload));
  envelope.write("payload_checksum",
                 int_tensor(static_cast<int64_t>(fnv1a64(payload.data(), payload.size()))));
  std::ostringstream bytes;
  envelope.save_to(bytes);
  return bytes.str();
}

CheckpointInfo read_checkpoint_info(const std::string& path) {
  auto archive = open_archive(path);
  return read_info(archive, path);
}

GanOptions gan_options(const CheckpointInfo& info) {
  GanOptions options;
  options.conv_dim = info.conv_dim;
  options.z_size = info.z_size;
  options.image_size = info.image_size;
  options.arch = info.arch;
  options.batch_norm = info.batch_norm;
  options.spectral_norm = info.spectral_norm;
  options.minibatch_std = info.minibatch_std;
  options.acgan_projection = info.acgan_projection;
  options.conditioning = info.conditioning;
  options.classes =
      info.conditioning == models::Conditioning::kNone ? 0 : static_cast<int64_t>(info.class_names.size());
  return options;
}

std::string describe(const CheckpointInfo& info) {
  const auto side = std::to_string(info.image_size);
  return models::to_string(info.arch) + ", " + side + "x" + side + ", conv_dim " +
         std::to_string(info.conv_dim) + ", z_size " + std::to_string(info.z_size) +
         (info.batch_norm ? "" : ", no batch norm") +
         (info.spectral_norm ? ", spectral norm" : "") +
         (info.minibatch_std > 0 ? ", minibatch std " + std::to_string(info.minibatch_std) : "") +
         (info.conditioning == models::Conditioning::kNone
              ? ""
              : ", conditional (" + models::to_string(info.conditioning) +
                    (info.acgan_projection ? " with projection" : "") + ", " +
                    std::to_string(info.class_names.size()) + " classes)");
}

TrainingProgress load_checkpoint(const std::string& path, Gan& gan) {
  auto archive = open_archive(path, gan.device);
  const auto info = read_info(archive, path);
  if (info.conv_dim != gan.options.conv_dim || info.z_size != gan.options.z_size ||
      info.image_size != gan.options.image_size || info.arch != gan.options.arch ||
      info.batch_norm != gan.options.batch_norm ||
      info.spectral_norm != gan.options.spectral_norm ||
      info.minibatch_std != gan.options.minibatch_std ||
      info.acgan_projection != gan.options.acgan_projection ||
      info.conditioning != gan.options.conditioning ||
      gan_options(info).classes != gan.options.classes) {
    CheckpointInfo wanted = info;
    wanted.conv_dim = gan.options.conv_dim;
    wanted.z_size = gan.options.z_size;
    wanted.image_size = gan.options.image_size;
    wanted.arch = gan.options.arch;
    wanted.batch_norm = gan.options.batch_norm;
    wanted.spectral_norm = gan.options.spectral_norm;
    wanted.minibatch_std = gan.options.minibatch_std;
    wanted.acgan_projection = gan.options.acgan_projection;
    wanted.conditioning = gan.options.conditioning;
    wanted.class_names.assign(static_cast<size_t>(gan.options.classes), "");
    throw InputError(path + ": checkpoint is of another architecture (" + describe(info) +
                     "; expected " + describe(wanted) + ")");
  }
  TrainingProgress progress;
  try {
    progress.epochs_done = info.epochs_done;
    progress.batch_in_epoch = read_int(archive, "batch_in_epoch");
    progress.global_step = read_int(archive, "global_step");
    progress.images_seen = read_int(archive, "images_seen");
    torch::Tensor seconds, rng, config;
    archive.read("train_seconds", seconds);
    progress.train_seconds = seconds.item<double>();
    archive.read("fixed_z", progress.fixed_z);
    archive.read("config_json", config);
    progress.config_json = tensor_string(config.cpu());
    progress.class_names = info.class_names;
    archive.try_read("epoch_order", progress.epoch_order);
    archive.try_read("sample_history", progress.sample_history);
    archive.read("rng_cpu", rng);
    torch::serialize::InputArchive g, d, g_opt, d_opt;
    archive.read("generator", g);
    archive.read("discriminator", d);
    archive.read("g_optimizer", g_opt);
    archive.read("d_optimizer", d_opt);
    gan.generator->load(g);
    gan.discriminator->load(d);
    gan.g_optimizer->load(g_opt);
    gan.d_optimizer->load(d_opt);
    if (!gan.g_ema.is_empty()) {
      torch::serialize::InputArchive g_ema;
      // A run that starts keeping the average on resume starts it from the current generator.
      if (archive.try_read("g_ema", g_ema)) {
        gan.g_ema->load(g_ema);
      } else {
        reset_g_ema(gan);
      }
    }
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(rng.cpu());
  } catch (const c10::Error& e) {
    throw InputError(path + ": checkpoint is incomplete or corrupt (" +
                     first_line(e.what_without_backtrace()) + ")");
  }
  require_finite_model(*gan.generator, "generator", path);
  require_finite_model(*gan.discriminator, "discriminator", path);
  if (!gan.g_ema.is_empty()) require_finite_model(*gan.g_ema, "g_ema", path);
  if (progress.fixed_z.dim() != 2 || progress.fixed_z.size(1) != gan.options.z_size) {
    throw InputError(path + ": checkpoint's fixed_z does not match z_size " +
                     std::to_string(gan.options.z_size));
  }
  gan.generator->to(gan.device);
  gan.discriminator->to(gan.device);
  if (!gan.g_ema.is_empty()) gan.g_ema->to(gan.device);
  progress.fixed_z = progress.fixed_z.to(gan.device);
  // Bookkeeping tensors live on the CPU whatever the training device (the archive mapped all to
  // it).
  if (progress.epoch_order.defined()) progress.epoch_order = progress.epoch_order.cpu();
  if (progress.sample_history.defined()) progress.sample_history = progress.sample_history.cpu();
  return progress;
}

models::Generator load_generator(const std::string& path, torch::Device device,
                                 CheckpointInfo* info_out) {
  auto archive = open_archive(path, device);
  const auto info = read_info(archive, path);
  if (info_out) *info_out = info;
  models::Generator generator(gan_options(info).generator());
  std::string name;
  try {
    // The moving average of the generator's weights when the run kept one: it samples better.
    torch::serialize::InputArchive g;
    name = archive.try_read("g_ema", g) ? "g_ema" : "generator";
    if (name == "generator") archive.read("generator", g);
    generator->load(g);
  } catch (const c10::Error& e) {
    throw InputError(path + ": checkpoint's generator is incomplete or corrupt (" +
                     first_line(e.what_without_backtrace()) + ")");
  }
  require_finite_model(*generator, name, path);
  generator->to(device);
  generator->eval();
  return generator;
}

models::Discriminator load_discriminator(const std::string& path, torch::Device device) {
  auto archive = open_archive(path, device);
  const auto info = read_info(archive, path);
  models::Discriminator discriminator{gan_options(info).discriminator()};
  try {
    torch::serialize::InputArchive d;
    archive.read("discriminator", d);
    discriminator->load(d);
  } catch (const c10::Error& e) {
    throw InputError(path + ": checkpoint's discriminator is incomplete or corrupt (" +
                     first_line(e.what_without_backtrace()) + ")");
  }
  require_finite_model(*discriminator, "discriminator", path);
  discriminator->to(device);
  discriminator->eval();
  return discriminator;
}

}  // namespace dcgan::train
