#pragma once
// Private to src/data: the pieces of the MAT loader shared between svhn.cpp and mat73.cpp.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dcgan::data::detail {

constexpr int64_t kChannels = 3;
// Square images of any side up to this (a 4096x4096x3 image is 48 MB; beyond is surely not SVHN).
constexpr int64_t kMaxSide = 4096;

// What a MAT reader hands back besides the pixels, which it writes into memory it asks for.
struct MatResult {
  int64_t count = 0;
  int64_t side = 0;
  std::vector<int64_t> labels;       // digits 0-9 or class indices; -1 for none
  std::vector<std::string> classes;  // the optional `classes` variable (dcgan pack)
};

// y's values as labels. Without class names (SVHN): 1-10, 10 meaning digit 0. With the K names of
// a `classes` variable (written by `dcgan pack` for a class folder): 1-K, class index + 1. Either
// way an all-zero y means a label-less set (-1). Throws InputError naming `path` otherwise.
std::vector<int64_t> labels_from_y(const std::string& path, const std::vector<double>& y,
                                   int64_t classes);

// The rows of a K x L MATLAB char matrix stored column-major, trailing blanks cut, as UTF-8:
// `units` are UTF-16 code units, or with `utf8_bytes` already UTF-8 bytes (as pack writes them).
std::vector<std::string> char_rows(const std::vector<uint32_t>& units, int64_t rows,
                                   int64_t columns, bool utf8_bytes);

// Returns a buffer of `bytes` for the pixels (N x 3 x S x S once the reader returns).
using PixelAllocator = std::function<uint8_t*(size_t bytes)>;

// Reads X and y of a MAT v7.3 (HDF5) file with the HDF5 library directly: the `MATLAB_class`
// attribute as NULLTERM, NULLPAD (h5py's np.bytes_) or variable-length string; gzip-chunked uint8
// pixels inflated on `threads` threads. Meant to run in the reader child process (svhn.cpp): HDF5
// can crash on corrupt files. Throws InputError naming `path`.
MatResult read_mat73(const std::string& path, int64_t file_bytes, int threads,
                     const PixelAllocator& allocate);

// MATLAB's column-major SxSx3xN bytes to N x 3 x S x S row-major, in place, on `threads` threads
// (0: LibTorch's intra-op pool).
void matlab_planes_to_row_major(uint8_t* data, int64_t images, int64_t side, int threads = 0);

// Runs body(begin, end) over [0, n) split across `threads` std::threads (the reader child cannot
// use LibTorch's OpenMP pool, which does not survive fork).
void parallel_range(int64_t n, int threads, const std::function<void(int64_t, int64_t)>& body);

}  // namespace dcgan::data::detail
