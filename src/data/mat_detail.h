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
  std::vector<int64_t> labels;  // digits 0-9 (SVHN's label 10 already turned into 0)
};

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
