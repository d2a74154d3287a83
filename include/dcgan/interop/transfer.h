#pragma once

#include <string>

#include "dcgan/interop/torchscript.h"
#include "dcgan/models/generator.h"
#include "dcgan/serialization/torch_file.h"
#include "dcgan/train/config.h"

namespace dcgan::interop {

struct ExportOptions {
  std::string checkpoint;         // a dcgan checkpoint (run/checkpoints/last.pt)
  std::string out;                // the PyTorch file to write
  std::string net = "generator";  // generator | discriminator
  // state_dict: torch.save of the notebook's (or pytorch/examples') keys, for their classes;
  // torchscript: a module that runs with no model code (torchscript.h).
  std::string format = "state_dict";
};

// The generator `export` writes, in eval mode on the CPU. Which weights to export is decided here
// and only here: the moving average of G's weights when the run kept one (--g-ema), as for
// `generate`.
models::Generator generator_for_export(const ExportOptions& options);

// The notebook state_dict `export` writes for options.net.
serialization::TensorDict exported_state(const ExportOptions& options);

// Writes the model to options.out in options.format. Returns the model's description for the log,
// e.g. "Generator (notebook, 32x32, conv_dim 32, z_size 100; the notebook's layout)".
std::string export_model(const ExportOptions& options);

// The weights in a model file that `import` reads: a torch.save state_dict, or a TorchScript
// module (dcgan's export, or a scripted notebook / pytorch/examples model), with every other kind
// of file refused in one line that names it and says what to do. Non-finite weights are refused.
// `attributes`, when given, receives what a module dcgan exported says of itself (its classes, D's
// minibatch std group size).
serialization::TensorDict read_model_weights(const std::string& path,
                                             ExportedAttributes* attributes = nullptr);

// For commands that read data: when `path` is a model file (a checkpoint, a state_dict, a
// TorchScript module or a legacy torch.save file), one line naming its kind and the command that
// reads it; empty otherwise.
std::string model_file_instead_of_data(const std::string& path);

struct ImportOptions {
  std::string generator;      // the Generator's state_dict or TorchScript module (required)
  std::string discriminator;  // the Discriminator's, or empty for a fresh one
  // > 0: the generator is AC-GAN's, its first layer taking this many one-hot classes after z (a
  // state_dict cannot say so; its discriminator's classifier or a dcgan TorchScript module can).
  int64_t acgan_classes = 0;
  // > 0: the discriminator's minibatch standard deviation group size, which its state_dict cannot
  // say (a dcgan TorchScript module does). Without a discriminator: the fresh one's.
  int64_t minibatch_std = 0;
  // The run's options for a later `train --resume` (out_dir, data, seed, lr, ...); conv_dim and
  // z_size are replaced by those read from the files.
  train::TrainConfig config;
};

// Makes the run folder config.out_dir (config.json, checkpoints/last.pt, losses.csv) holding the
// notebook's models as a run with no epochs done. Adam starts fresh: a state_dict holds no
// optimizer. A conditional pair (state_dict_layout.h) makes a conditional run whose classes are
// named "0".."K-1" (a dcgan TorchScript module's own names when it has them). Throws
// dcgan::InputError when a file is not a notebook state_dict, the generator and discriminator
// disagree (arch, size, width, conditioning, classes) or the folder already holds a run.
void import_models(ImportOptions options);

}  // namespace dcgan::interop
