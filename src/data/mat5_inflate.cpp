// One-shot inflate of a compressed MAT v5 variable: the reader's fast path for X.
#include <fcntl.h>
#include <libdeflate.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "dcgan/util/errors.h"
#include "mat5_reader.h"

namespace dcgan::data::detail {
namespace {

// One-shot inflate of a compressed variable into a buffer that also holds its input: the
// compressed bytes are read into the buffer's tail and inflated towards its head. Deflate output
// never falls behind its input by more than a stored block's 5-byte header per 64 KiB, so with a
// margin the writer never reaches bytes not yet read; libdeflate checks the zlib Adler-32 anyway,
// and any mismatch sends the caller to the streaming reader. Peak memory: the pixels plus ~0.5%,
// where a separate input buffer would cost the compressed size again. Returns the buffer holding
// the whole inflated element (or nullptr).

std::unique_ptr<PixelBuffer> inflate_in_place(const std::string& path, int64_t pos, int64_t end,
                                              int64_t inflated) {
  const int64_t compressed = end - pos - 8;
  const int64_t margin = compressed / 256 + (int64_t{1} << 16);
  const int64_t size = std::max(inflated, compressed) + margin;
  auto buffer = std::make_unique<PixelBuffer>(static_cast<size_t>(size));
  if (!buffer->data) return nullptr;
  unsigned char* input = buffer->data + (size - compressed);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  int64_t done = 0;
  while (done < compressed) {
    const ssize_t n =
        ::pread(fd, input + done, static_cast<size_t>(compressed - done), pos + 8 + done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += n;
  }
  ::close(fd);
  if (done != compressed) return nullptr;
  std::unique_ptr<libdeflate_decompressor, void (*)(libdeflate_decompressor*)> inflater(
      libdeflate_alloc_decompressor(), libdeflate_free_decompressor);
  size_t produced = 0;
  if (!inflater ||
      libdeflate_zlib_decompress(inflater.get(), input, static_cast<size_t>(compressed),
                                 buffer->data, static_cast<size_t>(inflated),
                                 &produced) != LIBDEFLATE_SUCCESS ||
      static_cast<int64_t>(produced) != inflated) {
    return nullptr;
  }
  return buffer;
}

}  // namespace

// X as uint8 pixels straight from the file, in MATLAB's order: read in place (uncompressed) or
// inflated in one shot (compressed), with no copy. An undefined tensor when X is not plain uint8
// data of the expected size (matio reads it then).
torch::Tensor read_uint8_x(const std::string& path, const std::vector<Mat5Variable>& variables,
                           bool swap, int64_t expected_bytes) {
  constexpr uint32_t kMxUint8 = 9, kMiUint8 = 2;
  for (const auto& variable : variables) {
    const auto layout = parse_matrix_layout(variable.header, swap);
    if (!layout.ok || layout.name != "X") continue;
    if (layout.mx_class != kMxUint8 || layout.complex || layout.data_type != kMiUint8 ||
        layout.data_bytes != expected_bytes || layout.data_at < 16)
      return {};
    if (!variable.compressed) {
      if (variable.pos + layout.data_at + expected_bytes > variable.end) return {};
      auto pixels = torch::empty({expected_bytes}, torch::kUInt8);
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return {};
      int64_t done = 0;
      auto* out = pixels.data_ptr<uint8_t>();
      while (done < expected_bytes) {
        const ssize_t n = ::pread(fd, out + done, static_cast<size_t>(expected_bytes - done),
                                  variable.pos + layout.data_at + done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += n;
      }
      ::close(fd);
      return done == expected_bytes ? pixels : torch::Tensor();
    }
    const int64_t inflated = 8 + int64_t{to_u32(variable.header.data() + 4, swap)};
    if (layout.data_at + expected_bytes > inflated) return {};
    auto buffer = inflate_in_place(path, variable.pos, variable.end, inflated);
    if (!buffer) return {};
    return buffer->release_as_tensor(layout.data_at, expected_bytes);
  }
  return {};
}

}  // namespace dcgan::data::detail
