#pragma once

#include <torch/torch.h>

#include <string>

namespace dcgan::data {

// Images and labels held in memory as the compact types they are stored in: a 73,257-image file
// is 225 MB as uint8 and would be 900 MB as float, so conversion happens per batch (see scale.h).
struct ImageSet {
  torch::Tensor images;  // uint8, N x 3 x 32 x 32 (channel, row, column)
  torch::Tensor labels;  // int64, N, digits 0-9 (-1 where a source has no labels)
  std::string format;    // "MAT v5", "MAT v7.3", "image folder"

  int64_t size() const { return images.defined() ? images.size(0) : 0; }
};

// Reads an SVHN-format .mat file (MAT v5 compressed or not, or MAT v7.3/HDF5) through libmatio.
// `X` must be 32x32x3xN (MATLAB's column-major order); uint8, or another real numeric class whose
// values are all whole numbers in 0-255 (converted). `y` must hold N labels in 1-10, 10 meaning 0.
// Throws dcgan::InputError naming the file and the problem.
ImageSet load_svhn_mat(const std::string& path);

}  // namespace dcgan::data
