#pragma once

#include <cxxopts.hpp>

#include "dcgan/train/config.h"

namespace dcgan::cli {

// `dcgan train`'s options for the GAN's training levers beyond the notebook: --lr-d, --lr-g,
// --loss, --augment, --augment-strength, --spectral-norm, --no-batch-norm (declared once here, with
// their defaults from `defaults`).
void add_lever_options(cxxopts::Options& options, const train::TrainConfig& defaults);

// Fills those fields of `config` from the parsed arguments.
void read_lever_options(const cxxopts::ParseResult& args, train::TrainConfig& config);

}  // namespace dcgan::cli
