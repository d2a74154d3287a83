#pragma once

namespace dcgan::cli {

// `dcgan export` and `dcgan import`: move models between dcgan and PyTorch (the notebook). Each
// takes the subcommand's argc/argv and returns an exit code, like the other commands.
int export_command(int argc, char** argv);
int import_command(int argc, char** argv);

}  // namespace dcgan::cli
