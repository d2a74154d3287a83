#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "dcgan/models/discriminator.h"
#include "dcgan/models/generator.h"
#include "dcgan/train/gan.h"

namespace dcgan::train {

// Bumped whenever the checkpoint layout changes; files with a newer version are refused.
constexpr int64_t kCheckpointFormatVersion = 1;

// A checkpoint file is a LibTorch archive holding `format_version`, `payload` (the serialized
// archive with models, optimizers and progress) and `payload_checksum` (FNV-1a 64 of the payload).
// LibTorch's zip reader does not verify CRCs, so without the checksum a flipped byte would load as
// silently different weights. seal_checkpoint wraps archive bytes in that envelope.
std::string seal_checkpoint(const std::string& payload,
                            int64_t format_version = kCheckpointFormatVersion);

// Where a run stands, saved with the models so that resuming continues bit for bit.
struct TrainingProgress {
  int64_t epochs_done = 0;  // completed epochs
  int64_t batch_in_epoch =
      0;  // batches done of the epoch in progress (non-zero after an interrupt)
  int64_t global_step = 0;
  int64_t images_seen = 0;
  double train_seconds = 0.0;
  torch::Tensor
      epoch_order;  // int64 permutation of the epoch in progress (defined when batch_in_epoch > 0)
  torch::Tensor fixed_z;  // the latent vectors of the sample grids
  torch::Tensor
      sample_history;  // uint8 E x S x 3 x H x W (H, W <= 64): every epoch's fixed-z samples so far
  std::string config_json;  // the run's TrainConfig
  std::vector<std::string> class_names;  // a conditional run's classes, in label order
};

// What a checkpoint is, read without building models.
struct CheckpointInfo {
  int64_t format_version = 0;
  int64_t conv_dim = 0;
  int64_t z_size = 0;
  int64_t image_size = 32;  // checkpoints written before --image-size hold the notebook's 32x32
  models::Arch arch = models::Arch::kNotebook;
  int64_t epochs_done = 0;
  bool has_g_ema = false;  // the run kept a moving average of the generator's weights (--g-ema)
  bool batch_norm = true;      // false: trained with --no-batch-norm
  bool spectral_norm = false;  // D trained with --spectral-norm
  int64_t minibatch_std = 0;   // D's minibatch standard deviation group size (--minibatch-std)
  bool acgan_projection = false;  // acgan D's logit has the projection term too
  // A conditional run (--conditional): how, and its classes' names (class i is class_names[i]).
  models::Conditioning conditioning = models::Conditioning::kNone;
  std::vector<std::string> class_names;
};

// Serialises models (with BatchNorm running statistics), both optimizers, progress and the CPU RNG
// state, and writes it with write_file_atomically. Returns the bytes written, so the caller can
// store the same checkpoint under a second name without serialising twice.
std::string serialize_checkpoint(Gan& gan, const TrainingProgress& progress);

CheckpointInfo read_checkpoint_info(const std::string& path);

// The networks a checkpoint holds (sizes and arch; the optimizer settings keep their defaults).
GanOptions gan_options(const CheckpointInfo& info);

// "notebook, 64x64, conv_dim 32, z_size 100", for logs and errors.
std::string describe(const CheckpointInfo& info);

// Restores everything serialize_checkpoint saved into `gan` (built with the checkpoint's arch,
// image size, conv_dim and z_size) and the global CPU RNG. Throws dcgan::InputError naming the file when it is missing,
// truncated, corrupt, of another version or of another architecture.
TrainingProgress load_checkpoint(const std::string& path, Gan& gan);

// The generator alone, for `generate`, `interpolate` and `evaluate`: architecture read from the
// file; the moving average of its weights (g_ema) when the run kept one. `info`, when given,
// receives what the checkpoint is (its classes, for one), read in the same pass over the file.
models::Generator load_generator(const std::string& path, torch::Device device,
                                 CheckpointInfo* info = nullptr);

// The discriminator alone (eval mode), for `evaluate`'s representation probe.
models::Discriminator load_discriminator(const std::string& path, torch::Device device);

}  // namespace dcgan::train
