#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace dcgan::data {

// Images and labels held in memory as the compact types they are stored in: a 73,257-image file
// is 225 MB as uint8 and would be 900 MB as float, so conversion happens per batch (see scale.h).
struct ImageSet {
  torch::Tensor images;  // uint8, N x 3 x S x S (channel, row, column); S = side()
  torch::Tensor labels;  // int64, N: SVHN digits 0-9, or class indices; -1 where there are none
  std::string format;    // "MAT v5", "MAT v7.3", "image folder"
  // Class names of a folder of class subfolders, label i being classes[i] (torchvision's
  // ImageFolder order). Empty for SVHN files (labels are digits) and label-less folders.
  std::vector<std::string> classes;

  int64_t size() const { return images.defined() ? images.size(0) : 0; }
  int64_t height() const { return images.defined() ? images.size(2) : 0; }
  int64_t width() const { return images.defined() ? images.size(3) : 0; }
  // Images are square: the side S of every image (0 for an empty set).
  int64_t side() const { return height(); }
  // Labels for every image (SVHN digits or folder classes)?
  bool labelled() const;
  // How many classes the labels can take: 10 for SVHN digits, classes.size() for a class folder.
  int64_t class_count() const;
};

// Reads an SVHN-format .mat file: MAT v5 (compressed or not) or MAT v7.3 (HDF5). `X` must be
// SxSx3xN for any square side S (MATLAB's column-major order; SVHN's is 32); uint8, or another
// real numeric class whose values are all whole numbers in 0-255 (converted). `y` must hold N
// labels in 1-10, 10 meaning 0. Throws dcgan::InputError naming the file and the problem.
ImageSet load_svhn_mat(const std::string& path);

// Writes `set` as an SVHN-layout MAT file that load_svhn_mat reads back to the same images, labels
// and class names: X uint8 SxSx3xN (column-major), y Nx1 double. Labels, by what they mean:
//   - SVHN digits, or a class folder whose classes are exactly "0".."9": SVHN's own y, 1-10 with 10
//     for digit 0, and no other variable: the file is an SVHN file to any SVHN reader;
//   - other class folders: y = class index + 1 (MATLAB's 1-based), and `classes`, a K x L char
//     matrix of the class names, one per row (UTF-8 bytes, blank-padded);
//   - no labels: y all 0.
// MAT v5, zlib-compressed; MAT v7.3 (HDF5) when X exceeds 2 GB, MAT v5's limit per variable.
// Written to a temporary file and renamed. Throws naming the file.
void write_svhn_mat(const std::string& path, const ImageSet& set);

}  // namespace dcgan::data
