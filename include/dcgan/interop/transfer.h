#pragma once

#include <string>

#include "dcgan/interop/torch_file.h"
#include "dcgan/models/generator.h"
#include "dcgan/train/config.h"

namespace dcgan::interop {

struct ExportOptions {
  std::string checkpoint;         // a dcgan checkpoint (run/checkpoints/last.pt)
  std::string out;                // the PyTorch file to write
  std::string net = "generator";  // generator | discriminator
};

// The generator `export` writes, in eval mode on the CPU. Which weights to export is decided here
// and only here.
models::Generator generator_for_export(const ExportOptions& options);

// The notebook state_dict `export` writes for options.net.
TensorDict exported_state(const ExportOptions& options);

// Writes exported_state(options) to options.out in torch.save's format. Returns the model's
// description for the log, e.g. "Generator (z_size 100, conv_dim 32)".
std::string export_model(const ExportOptions& options);

struct ImportOptions {
  std::string generator;      // the notebook Generator's state_dict (required)
  std::string discriminator;  // the notebook Discriminator's, or empty for a fresh one
  // The run's options for a later `train --resume` (out_dir, data, seed, lr, ...); conv_dim and
  // z_size are replaced by those read from the files.
  train::TrainConfig config;
};

// Makes the run folder config.out_dir (config.json, checkpoints/last.pt, losses.csv) holding the
// notebook's models as a run with no epochs done. Adam starts fresh: a state_dict holds no
// optimizer. Throws dcgan::InputError when a file is not a notebook state_dict or the folder
// already holds a run.
void import_models(ImportOptions options);

}  // namespace dcgan::interop
