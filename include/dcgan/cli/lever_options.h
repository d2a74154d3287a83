#pragma once

#include <cxxopts.hpp>
#include <string>
#include <vector>

#include "dcgan/train/config.h"

namespace dcgan::cli {

// `dcgan train`'s options for the GAN's training levers beyond the notebook: --lr-d, --lr-g,
// --loss, --augment, --augment-strength, --spectral-norm, --no-batch-norm (declared once here, with
// their defaults from `defaults`).
void add_lever_options(cxxopts::Options& options, const train::TrainConfig& defaults);

// Fills those fields of `config` from the parsed arguments.
void read_lever_options(const cxxopts::ParseResult& args, train::TrainConfig& config);

// The command line with a method after a `--conditional` typed without one (last, or followed by
// another option): acgan, the method that measures better. cxxopts' implicit values would do this
// but then stop reading `--conditional acgan` with a space.
std::vector<std::string> with_default_conditional_method(int argc, char** argv);

}  // namespace dcgan::cli
