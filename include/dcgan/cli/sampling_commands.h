#pragma once

namespace dcgan::cli {

// `dcgan generate` and `dcgan interpolate`: images from a checkpoint's generator, as a grid (and
// one PNG per image), or as rows of straight walks between random z pairs. Return the exit code;
// throw InputError.
int generate_command(int argc, char** argv);
int interpolate_command(int argc, char** argv);

}  // namespace dcgan::cli
