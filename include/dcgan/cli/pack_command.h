#pragma once

namespace dcgan::cli {

// `dcgan pack DIR --out data.mat [--image-size N]`: an image folder as one SVHN-layout MAT file
// (data::write_svhn_mat), so it can be shared as one file. Returns the exit code; throws
// InputError.
int pack_command(int argc, char** argv);

}  // namespace dcgan::cli
