#pragma once

namespace dcgan::cli {

// `dcgan inspect` (a data file or folder: counts, digits, means) and `dcgan summary` (both models
// layer by layer). Return the exit code; throw InputError.
int inspect_command(int argc, char** argv);
int summary_command(int argc, char** argv);

}  // namespace dcgan::cli
