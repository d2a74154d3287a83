#pragma once

namespace dcgan::cli {

// `dcgan train`: parses the options (recipe, resume, levers, folders), starts local ranks for
// --nproc-per-node, runs the trainer and returns 0, 128 + signal when stopped, or 3 when the run
// diverged. Throws InputError.
int train_command(int argc, char** argv);

}  // namespace dcgan::cli
