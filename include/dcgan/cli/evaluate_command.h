#pragma once

namespace dcgan::cli {

// `dcgan evaluate`: sample quality (Fréchet distance in a digit classifier's features) and the
// DCGAN paper's representation probe of a checkpoint. Returns the exit code; throws InputError.
int evaluate_command(int argc, char** argv);

}  // namespace dcgan::cli
