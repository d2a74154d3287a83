#pragma once
// Private to src/data: the MAT v5 reader's size checks (mat5_size_checks.cpp) and one-shot inflate
// (mat5_inflate.cpp), and the v7.3 reader's child process (mat73_child.cpp), for svhn.cpp.

#include <sys/mman.h>
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dcgan/data/svhn.h"

namespace dcgan::data::detail {

// A 32-bit field of a MAT v5 file, byte-swapped when the file's endianness is not ours.
inline uint32_t to_u32(const unsigned char* b, bool swap) {
  return swap ? uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3]
              : uint32_t(b[3]) << 24 | uint32_t(b[2]) << 16 | uint32_t(b[1]) << 8 | b[0];
}

// A top-level MAT v5 variable as the size check saw it: where it is in the file and the first bytes
// of its miMATRIX element (inflated for a compressed one), from which its name and layout are read.
struct Mat5Variable {
  int64_t pos = 0, end = 0;
  bool compressed = false;
  std::vector<unsigned char> header;
};

// matio 1.5.23 trusts the size fields of a MAT v5 file, so these are checked first: every top-level
// variable of `path` (whose size is `file_bytes`) as seen, `swap_out` set for a big-endian file.
// Throws InputError naming the file for any size that cannot fit in the file or its variable.
std::vector<Mat5Variable> check_mat5_sizes(const std::string& path, int64_t file_bytes,
                                           bool& swap_out);

// The layout of a numeric miMATRIX element, read from its first bytes: flags, dims, name, then the
// real part's data element. `ok` is false when the header does not parse within `header`.
struct MatrixLayout {
  bool ok = false;
  uint32_t mx_class = 0;
  bool complex = false;
  std::string name;
  uint32_t data_type = 0;
  int64_t data_at = 0;  // offset of the pixel bytes from the element's start
  int64_t data_bytes = 0;
};
MatrixLayout parse_matrix_layout(const std::vector<unsigned char>& header, bool swap);

// Anonymous memory asked for in transparent huge pages: a 225 MB buffer then costs ~110 page
// faults instead of ~55,000.
struct PixelBuffer {
  unsigned char* data = nullptr;
  size_t size = 0;
  explicit PixelBuffer(size_t bytes) : size(bytes) {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    ::madvise(p, bytes, MADV_HUGEPAGE);
    data = static_cast<unsigned char*>(p);
  }
  ~PixelBuffer() {
    if (data) ::munmap(data, size);
  }
  PixelBuffer(const PixelBuffer&) = delete;
  PixelBuffer& operator=(const PixelBuffer&) = delete;
  // A uint8 tensor of `bytes` at `offset` that owns the whole buffer from here on.
  torch::Tensor release_as_tensor(int64_t offset, int64_t bytes) {
    unsigned char* base = data;
    const size_t length = size;
    data = nullptr;
    return torch::from_blob(
        base + offset, {bytes}, [base, length](void*) { ::munmap(base, length); },
        torch::TensorOptions().dtype(torch::kUInt8));
  }
};

// X as uint8 pixels straight from the file (see mat5_inflate.cpp); undefined when X is not plain
// uint8 data of `expected_bytes`.
torch::Tensor read_uint8_x(const std::string& path, const std::vector<Mat5Variable>& variables,
                           bool swap, int64_t expected_bytes);

// A MAT v7.3 (HDF5) file read in a child process, so that an HDF5 crash on a corrupt file becomes
// a one-line error (mat73_child.cpp).
ImageSet read_mat_isolated(const std::string& path, int64_t file_bytes);

}  // namespace dcgan::data::detail
