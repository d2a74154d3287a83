#include "dcgan/data/svhn.h"

#include <ATen/Parallel.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <matio.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dcgan/util/compat.h"
#include "dcgan/util/errors.h"
#include "mat_detail.h"

namespace fs = std::filesystem;

namespace dcgan::data {
namespace detail {

void matlab_planes_to_row_major(uint8_t* data, int64_t images, int64_t side, int threads) {
  // MATLAB stores X column-major: byte (row, col, channel, image) sits at
  // row + S*col + S*S*channel + 3*S*S*image. Each image is contiguous, so transposing every SxS
  // plane in place gives N x 3 x S(row) x S(col) without a second full-size buffer. Blocks of 8
  // columns keep reads and writes within a few cache lines.
  const int64_t plane_bytes = side * side;
  auto body = [&](int64_t begin, int64_t end) {
    std::vector<uint8_t> plane(static_cast<size_t>(plane_bytes));
    for (int64_t p = begin; p < end; ++p) {
      uint8_t* base = data + p * plane_bytes;
      std::memcpy(plane.data(), base, plane.size());
      for (int64_t row0 = 0; row0 < side; row0 += 8) {
        const int64_t row1 = std::min(side, row0 + 8);
        for (int64_t col = 0; col < side; ++col)
          for (int64_t row = row0; row < row1; ++row)
            base[row * side + col] = plane[static_cast<size_t>(col * side + row)];
      }
    }
  };
  const int64_t planes = images * kChannels;
  if (threads > 0) {
    parallel_range(planes, threads, body);
  } else {
    at::parallel_for(0, planes, std::max<int64_t>(1, 65536 / plane_bytes), body);
  }
}

}  // namespace detail

namespace {

using detail::kChannels;
using detail::kMaxSide;

// matio reports problems through a log callback; its default one aborts the process on errors.
// We record the last message instead and turn it into an exception after the call returns.
thread_local std::string matio_last_error;

void matio_log(int level, compat::MatioLogMessage<decltype(&Mat_LogInitFunc)> message) {
  if (level & (MATIO_LOG_LEVEL_ERROR | MATIO_LOG_LEVEL_CRITICAL)) {
    // HDF5 errors come as an indented multi-line stack; our messages are one line (found by
    // fuzzing).
    std::string flat;
    bool newline = false;
    for (const char* c = message ? message : "unknown matio error"; *c; ++c) {
      if (*c == '\n' || *c == '\r') {
        newline = true;
      } else if (newline && (*c == ' ' || *c == '\t')) {
        continue;
      } else {
        if (newline && !flat.empty()) flat += "; ";
        newline = false;
        flat += *c;
      }
    }
    matio_last_error = flat;
  }
}

void install_matio_logger() {
  static std::once_flag once;
  std::call_once(once, [] { Mat_LogInitFunc("dcgan", &matio_log); });
}

struct MatCloser {
  void operator()(mat_t* mat) const { Mat_Close(mat); }
};
struct VarFreer {
  void operator()(matvar_t* var) const { Mat_VarFree(var); }
};
using MatFile = std::unique_ptr<mat_t, MatCloser>;
using MatVar = std::unique_ptr<matvar_t, VarFreer>;

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw InputError(path + ": " + problem);
}

std::string dims_string(const matvar_t* var) {
  std::string out;
  for (int i = 0; i < var->rank; ++i) out += (i ? "x" : "") + std::to_string(var->dims[i]);
  return out;
}

const char* class_name(matio_classes c) {
  switch (c) {
    case MAT_C_DOUBLE:
      return "double";
    case MAT_C_SINGLE:
      return "single";
    case MAT_C_INT8:
      return "int8";
    case MAT_C_UINT8:
      return "uint8";
    case MAT_C_INT16:
      return "int16";
    case MAT_C_UINT16:
      return "uint16";
    case MAT_C_INT32:
      return "int32";
    case MAT_C_UINT32:
      return "uint32";
    case MAT_C_INT64:
      return "int64";
    case MAT_C_UINT64:
      return "uint64";
    case MAT_C_CELL:
      return "cell";
    case MAT_C_STRUCT:
      return "struct";
    case MAT_C_CHAR:
      return "char";
    case MAT_C_SPARSE:
      return "sparse";
    default:
      return "non-numeric";
  }
}

// The torch dtype that holds a matio numeric class without loss; nullopt for non-numeric classes.
c10::optional<torch::ScalarType> torch_type(matio_classes c) {
  switch (c) {
    case MAT_C_DOUBLE:
      return torch::kFloat64;
    case MAT_C_SINGLE:
      return torch::kFloat32;
    case MAT_C_INT8:
      return torch::kInt8;
    case MAT_C_UINT8:
      return torch::kUInt8;
    case MAT_C_INT16:
      return torch::kInt16;
    case MAT_C_INT32:
      return torch::kInt32;
    case MAT_C_INT64:
      return torch::kInt64;
    // torch has no uint16/32/64: matio stores them in the same width, which we widen below.
    case MAT_C_UINT16:
      return torch::kInt16;
    case MAT_C_UINT32:
      return torch::kInt32;
    case MAT_C_UINT64:
      return torch::kInt64;
    default:
      return c10::nullopt;
  }
}

int64_t element_count(const matvar_t* var) {
  int64_t n = 1;
  for (int i = 0; i < var->rank; ++i) n *= static_cast<int64_t>(var->dims[i]);
  return n;
}

// Reads a whole numeric variable and hands its buffer to a 1-D tensor without copying.
torch::Tensor read_numeric(mat_t* mat, const std::string& path, const char* name) {
  matio_last_error.clear();
  MatVar var(Mat_VarRead(mat, name));
  if (!var || !var->data || !matio_last_error.empty()) {
    fail(path, std::string("variable '") + name + "' could not be read (file truncated or corrupt" +
                   (matio_last_error.empty() ? "" : ": " + matio_last_error) + ")");
  }
  auto dtype = torch_type(var->class_type);
  if (!dtype) fail(path, std::string("variable '") + name + "' is not numeric");
  const int64_t n = element_count(var.get());
  const size_t expected = static_cast<size_t>(n) * torch::elementSize(*dtype);
  if (var->nbytes != expected) {
    fail(path, std::string("variable '") + name + "' holds " + std::to_string(var->nbytes) +
                   " bytes, expected " + std::to_string(expected));
  }
  void* buffer = var->data;
  var->data = nullptr;  // the tensor owns it from here; matio allocated it with malloc
  auto tensor = torch::from_blob(
      buffer, {n}, [](void* p) { std::free(p); }, torch::TensorOptions().dtype(*dtype));
  switch (var->class_type) {
    case MAT_C_UINT16:
      return tensor.to(torch::kInt32).bitwise_and_(0xFFFF);
    case MAT_C_UINT32:
      return tensor.to(torch::kInt64).bitwise_and_(static_cast<int64_t>(0xFFFFFFFF));
    default:
      return tensor;
  }
}

// Every value a whole number in [lo, hi]?
bool all_whole_in_range(const torch::Tensor& t, double lo, double hi) {
  if (t.numel() == 0) return true;
  if (t.is_floating_point()) {
    if (!torch::isfinite(t).all().item<bool>()) return false;
    if (!torch::equal(t, t.round())) return false;
  }
  return t.min().item<double>() >= lo && t.max().item<double>() <= hi;
}

void check_regular_file(const std::string& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) fail(path, "no such file");
  if (fs::is_directory(status)) fail(path, "is a directory, expected an SVHN .mat file");
  if (!fs::is_regular_file(status)) fail(path, "is not a regular file");
  if (fs::file_size(path, ec) == 0) fail(path, "file is empty");
  std::ifstream probe(path, std::ios::binary);
  if (!probe) fail(path, "cannot be opened for reading (permission denied?)");
}

// matio 1.5.23 trusts the size fields of a MAT v5 file: a variable whose dims or name tag claims
// gigabytes makes Mat_VarReadInfo malloc that much and then read it 4 bytes at a time (seconds per
// file; found by fuzzing). So walk the top-level elements first and refuse any size that cannot fit
// in the file or in its variable.
using ReadU32 = std::function<uint32_t(int64_t)>;

// Checks one miMATRIX element spanning [pos, end): its dims and name tags must end inside it, and a
// cell array must have room for a tag per cell. `at` names the element in messages.
void check_matrix_element(const std::string& path, const ReadU32& read_u32, int64_t pos,
                          int64_t end, const std::string& at) {
  // A tag is (type, byte count) in 8 bytes, or (count << 16 | type, up to 4 data bytes) when small.
  auto tag_bytes = [&](int64_t tag) -> int64_t {
    const uint32_t first = read_u32(tag);
    return (first >> 16) ? int64_t{8} : 8 + int64_t{read_u32(tag + 4)};
  };
  // Array flags (16 bytes), then the dims and name tags; each must end inside this element.
  const int64_t dims_at = pos + 8 + 16;
  const int64_t name_at = dims_at + 8 <= end ? dims_at + (tag_bytes(dims_at) + 7) / 8 * 8 : end;
  if (name_at + 8 > end || name_at + tag_bytes(name_at) > end) {
    fail(path,
         "MAT v5 variable " + at + " has a dims or name size larger than the variable (corrupt)");
  }
  // Cell arrays: matio callocs a pointer per cell before reading any, so a 32x32x4e6 cell in a
  // 3 KB file asked for 32 GB. Each cell needs at least an 8-byte tag. (Structs are not checked:
  // a valid struct with no fields holds no bytes per element.)
  constexpr uint32_t kMxCell = 1;
  if ((read_u32(pos + 16) & 0xFF) == kMxCell && read_u32(dims_at) >> 16 == 0) {
    const int64_t limit = end - pos;
    int64_t elements = 1;
    for (int64_t dim_at = dims_at + 8; dim_at + 4 <= dims_at + tag_bytes(dims_at); dim_at += 4) {
      const int64_t dim = read_u32(dim_at);
      elements = dim && elements > limit / dim ? limit + 1 : elements * dim;  // no overflow
    }
    if (elements * 8 > limit)
      fail(path, "MAT v5 variable " + at + " claims more cells than it can hold (corrupt)");
  }
}

uint32_t to_u32(const unsigned char* b, bool swap) {
  return swap ? uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3]
              : uint32_t(b[3]) << 24 | uint32_t(b[2]) << 16 | uint32_t(b[1]) << 8 | b[0];
}

// A compressed variable's header is only visible after inflating: inflate its first few KB and
// check the miMATRIX inside like an uncompressed one. zlib cannot expand more than ~1032x, so the
// inner element may not claim more than that of its compressed size either. (Found by fuzzing: a
// 276-byte file made matio allocate 2.9 GB, a 499-byte one 4.9 GB.)
// A top-level MAT v5 variable as the size check saw it: where it is in the file and the first bytes
// of its miMATRIX element (inflated for a compressed one), from which its name and layout are read.
struct Mat5Variable {
  int64_t pos = 0, end = 0;
  bool compressed = false;
  std::vector<unsigned char> header;
};

void check_compressed_element(const std::string& path, std::ifstream& in, bool swap, int64_t pos,
                              int64_t end, std::vector<Mat5Variable>& seen) {
  constexpr uint32_t kMiMatrix = 14;
  constexpr int64_t kHeaderBytes = 4096;  // flags, dims and name of any sane variable fit easily
  const int64_t compressed = end - pos - 8;
  std::string input(static_cast<size_t>(std::min<int64_t>(compressed, 64 * 1024)), '\0');
  in.clear();
  in.seekg(pos + 8);
  in.read(input.data(), static_cast<std::streamsize>(input.size()));
  unsigned char header[kHeaderBytes];
  z_stream z{};
  if (inflateInit(&z) != Z_OK) throw std::runtime_error("zlib: inflateInit failed");
  z.next_in = reinterpret_cast<Bytef*>(input.data());
  z.avail_in = static_cast<uInt>(in.gcount());
  z.next_out = header;
  z.avail_out = kHeaderBytes;
  const int status = inflate(&z, Z_SYNC_FLUSH);
  const int64_t have = kHeaderBytes - z.avail_out;
  inflateEnd(&z);
  const std::string at = "at byte " + std::to_string(pos) + " (compressed)";
  if ((status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR) || have < 8) {
    fail(path, "MAT v5 variable " + at + " does not decompress (corrupt)");
  }
  if (to_u32(header, swap) != kMiMatrix) return;  // matio refuses anything else itself
  seen.push_back({pos, end, true, std::vector<unsigned char>(header, header + have)});
  const int64_t inner_end = 8 + int64_t{to_u32(header + 4, swap)};
  if (inner_end > compressed * 1100 + 1024) {
    fail(path, "MAT v5 variable " + at + " claims " + std::to_string(inner_end) +
                   " bytes, more than " + std::to_string(compressed) +
                   " compressed bytes can hold (corrupt)");
  }
  const ReadU32 read_u32 = [&](int64_t offset) {
    if (offset < 0 || offset + 4 > have)
      fail(path, "MAT v5 variable " + at + " has an oversized header (corrupt)");
    return to_u32(header + offset, swap);
  };
  check_matrix_element(path, read_u32, 0, inner_end, at);
}

// matio 1.5.23 trusts the size fields of a MAT v5 file: a variable whose dims or name tag claims
// gigabytes makes Mat_VarReadInfo malloc that much and then read it 4 bytes at a time (seconds per
// file; found by fuzzing). So walk the top-level elements first and refuse any size that cannot fit
// in the file or in its variable.
std::vector<Mat5Variable> check_mat5_sizes(const std::string& path, int64_t file_bytes,
                                           bool& swap_out) {
  std::vector<Mat5Variable> seen;
  constexpr uint32_t kMiMatrix = 14, kMiCompressed = 15;
  constexpr int64_t kFirstElement =
      128;  // after the text header, subsystem offset, version, endian
  std::ifstream in(path, std::ios::binary);
  char endian[2] = {};
  in.seekg(126);
  in.read(endian, 2);
  const bool swap = endian[0] == 'M' && endian[1] == 'I';  // written on a big-endian machine
  swap_out = swap;
  const ReadU32 read_u32 = [&](int64_t at) {
    unsigned char b[4] = {};
    in.seekg(at);
    in.read(reinterpret_cast<char*>(b), 4);
    if (!in)
      fail(path,
           "MAT v5 element header at byte " + std::to_string(at) + " is cut off (file truncated)");
    return to_u32(b, swap);
  };
  for (int64_t pos = kFirstElement; pos + 8 <= file_bytes;) {
    const uint32_t type = read_u32(pos);
    if (type >> 16) {  // small data element at top level: 8 bytes, nothing to allocate
      pos += 8;
      continue;
    }
    const int64_t end = pos + 8 + read_u32(pos + 4);
    if (end > file_bytes) {
      fail(path, "MAT v5 element at byte " + std::to_string(pos) + " runs " +
                     std::to_string(end - file_bytes) +
                     " bytes past the end of the file (truncated or corrupt)");
    }
    if (type == kMiMatrix && end > pos + 8) {
      check_matrix_element(path, read_u32, pos, end, "at byte " + std::to_string(pos));
      Mat5Variable variable{pos, end, false, {}};
      variable.header.resize(static_cast<size_t>(std::min<int64_t>(end - pos, 4096)));
      in.clear();
      in.seekg(pos);
      in.read(reinterpret_cast<char*>(variable.header.data()),
              static_cast<std::streamsize>(variable.header.size()));
      seen.push_back(std::move(variable));
    } else if (type == kMiCompressed && end > pos + 8) {
      check_compressed_element(path, in, swap, pos, end, seen);
    }
    pos = end;
  }
  return seen;
}

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

MatrixLayout parse_matrix_layout(const std::vector<unsigned char>& header, bool swap) {
  MatrixLayout layout;
  const auto have = static_cast<int64_t>(header.size());
  auto u32 = [&](int64_t at) { return to_u32(header.data() + at, swap); };
  // A tag: (type, bytes) in 8 bytes then the data padded to 8, or (bytes << 16 | type) with up to
  // 4 data bytes inside the tag itself.
  struct Tag {
    uint32_t type;
    int64_t bytes, data_at, next;
  };
  auto tag = [&](int64_t at, Tag& t) {
    if (at + 8 > have) return false;
    const uint32_t first = u32(at);
    if (first >> 16) {
      t = {first & 0xFFFF, int64_t{first >> 16}, at + 4, at + 8};
    } else {
      t = {first, int64_t{u32(at + 4)}, at + 8, at + 8 + (int64_t{u32(at + 4)} + 7) / 8 * 8};
    }
    return true;
  };
  Tag flags{}, dims{}, name{}, data{};
  if (!tag(8, flags) || flags.bytes < 8 || flags.data_at + 4 > have) return layout;
  const uint32_t flag_word = u32(flags.data_at);
  layout.mx_class = flag_word & 0xFF;
  layout.complex = (flag_word & 0x800) != 0;
  if (!tag(flags.next, dims) || !tag(dims.next, name) || name.data_at + name.bytes > have ||
      !tag(name.next, data) || data.data_at != data.next - ((data.bytes + 7) / 8 * 8))
    return layout;
  layout.name.assign(reinterpret_cast<const char*>(header.data() + name.data_at),
                     static_cast<size_t>(name.bytes));
  layout.data_type = data.type;
  layout.data_at = data.data_at;
  layout.data_bytes = data.bytes;
  layout.ok = true;
  return layout;
}

// One-shot inflate of a compressed variable into a buffer that also holds its input: the
// compressed bytes are read into the buffer's tail and inflated towards its head. Deflate output
// never falls behind its input by more than a stored block's 5-byte header per 64 KiB, so with a
// margin the writer never reaches bytes not yet read; libdeflate checks the zlib Adler-32 anyway,
// and any mismatch sends the caller to the streaming reader. Peak memory: the pixels plus ~0.5%,
// where a separate input buffer would cost the compressed size again. Returns the buffer holding
// the whole inflated element (or nullptr).
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

// The optional `classes` variable (`dcgan pack` of a class folder): a K x L char matrix, one class
// name per row. Empty when absent.
std::vector<std::string> read_class_names(mat_t* mat, const std::string& path) {
  matio_last_error.clear();
  MatVar info(Mat_VarReadInfo(mat, "classes"));
  if (!info) return {};
  if (info->class_type != MAT_C_CHAR || info->rank != 2 || info->isComplex ||
      element_count(info.get()) > (1 << 24))
    fail(path, "variable 'classes' is not a char matrix of class names");
  info.reset();
  matio_last_error.clear();
  MatVar var(Mat_VarRead(mat, "classes"));
  if (!var || (!var->data && element_count(var.get()) > 0))
    fail(path, "variable 'classes' could not be read (file truncated or corrupt)");
  const int64_t n = element_count(var.get());
  std::vector<uint32_t> units(static_cast<size_t>(n));
  const bool bytes = var->data_size == 1;
  for (int64_t i = 0; i < n; ++i) {
    units[static_cast<size_t>(i)] = bytes ? static_cast<const uint8_t*>(var->data)[i]
                                          : static_cast<const uint16_t*>(var->data)[i];
  }
  if (!bytes && var->data_size != 2) fail(path, "variable 'classes' has an unknown character type");
  return detail::char_rows(units, static_cast<int64_t>(var->dims[0]),
                           static_cast<int64_t>(var->dims[1]), bytes);
}

// Reads X and y through matio in this process; `path` has passed the header checks.
ImageSet read_mat(const std::string& path, int64_t file_bytes) {
  matio_last_error.clear();
  MatFile mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
  if (!mat) fail(path, "not a MAT file (no MAT v5 or v7.3 header)");
  const auto version = Mat_GetVersion(mat.get());
  std::string format;
  std::vector<Mat5Variable> variables;
  bool swap = false;
  if (version == MAT_FT_MAT5) {
    format = "MAT v5";
    variables = check_mat5_sizes(path, file_bytes, swap);
  } else if (version == MAT_FT_MAT73) {
    format = "MAT v7.3";
  } else {
    fail(path, "MAT v4 files are not supported (SVHN files are MAT v5 or v7.3)");
  }

  // Check X's header before reading it, so a bad shape never costs a large allocation.
  matio_last_error.clear();
  MatVar info(Mat_VarReadInfo(mat.get(), "X"));
  if (!info) {
    fail(path, matio_last_error.empty() ? "no variable 'X' (expected SVHN images, 32x32x3xN)"
                                        : "cannot read variable 'X' (file truncated or corrupt)");
  }
  if (info->isComplex || !torch_type(info->class_type)) {
    fail(path, std::string("variable 'X' is ") +
                   (info->isComplex ? "complex" : class_name(info->class_type)) +
                   ", expected uint8 images");
  }
  // A single image drops MATLAB's trailing singleton dimension: SxSx3 is one image.
  const int64_t side = info->rank >= 2 ? static_cast<int64_t>(info->dims[0]) : 0;
  const bool shape_ok = (info->rank == 4 || info->rank == 3) && side >= 1 && side <= kMaxSide &&
                        static_cast<int64_t>(info->dims[1]) == side && info->dims[2] == kChannels;
  if (!shape_ok) {
    fail(path, "variable 'X' is " + dims_string(info.get()) +
                   ", expected SxSx3xN (square RGB images, e.g. 32x32x3xN)");
  }
  const int64_t count = info->rank == 4 ? static_cast<int64_t>(info->dims[3]) : 1;
  if (count == 0) fail(path, "variable 'X' holds zero images");
  const int64_t image_bytes = side * side * kChannels;
  // zlib cannot expand data more than ~1032x; a header claiming more is corrupt.
  if (count > (int64_t{1} << 40) / image_bytes) {
    fail(path,
         "variable 'X' claims " + std::to_string(count) + " images, more than the file can hold");
  }
  const int64_t claimed =
      count * image_bytes * static_cast<int64_t>(Mat_SizeOfClass(info->class_type));
  if (claimed / 1100 > file_bytes) {
    fail(path,
         "variable 'X' claims " + std::to_string(count) + " images, more than the file can hold");
  }
  const matio_classes x_class = info->class_type;
  info.reset();

  torch::Tensor flat;
  if (version == MAT_FT_MAT5 && x_class == MAT_C_UINT8)
    flat = read_uint8_x(path, variables, swap, count * image_bytes);
  if (!flat.defined()) flat = read_numeric(mat.get(), path, "X");
  if (x_class != MAT_C_UINT8) {
    // Documented conversion: any real numeric X whose values are whole numbers in 0-255.
    if (!all_whole_in_range(flat, 0, 255)) {
      fail(path, std::string("variable 'X' is ") + class_name(x_class) +
                     " with values outside whole numbers 0-255, expected uint8 pixels");
    }
    flat = flat.to(torch::kUInt8);
  }
  detail::matlab_planes_to_row_major(flat.data_ptr<uint8_t>(), count, side);
  ImageSet set;
  set.images = flat.view({count, kChannels, side, side});
  set.format = format;

  matio_last_error.clear();
  MatVar y_info(Mat_VarReadInfo(mat.get(), "y"));
  if (!y_info) fail(path, "no variable 'y' (expected N labels in 1-10)");
  if (y_info->isComplex || !torch_type(y_info->class_type)) {
    fail(path, std::string("variable 'y' is ") + class_name(y_info->class_type) +
                   ", expected numeric labels");
  }
  const bool y_vector = y_info->rank == 2 && (y_info->dims[0] == 1 || y_info->dims[1] == 1);
  if (!y_vector || element_count(y_info.get()) != count) {
    fail(path, "variable 'y' is " + dims_string(y_info.get()) + ", expected " +
                   std::to_string(count) + "x1 (one label per image)");
  }
  y_info.reset();
  set.classes = read_class_names(mat.get(), path);
  const auto y = read_numeric(mat.get(), path, "y").to(torch::kFloat64).contiguous();
  const auto labels = detail::labels_from_y(
      path, std::vector<double>(y.data_ptr<double>(), y.data_ptr<double>() + y.numel()),
      static_cast<int64_t>(set.classes.size()));
  set.labels = torch::tensor(labels, torch::kInt64);
  return set;
}

// Present only in sanitizer builds. libFuzzer registers a death callback that saves the current
// input as a crash; a reader child inherits it, so a contained HDF5 crash would be recorded as one.
extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

// Pipe I/O for read_mat_isolated. Reads give up when the child sends nothing for a minute.
bool write_exact(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool read_exact(int fd, void* data, size_t size) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    pollfd waiting{fd, POLLIN, 0};
    const int ready = ::poll(&waiting, 1, /*timeout_ms=*/60000);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    const ssize_t n = ::read(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// HDF5 1.10 can crash (out-of-bounds reads, found by fuzzing) or print to stderr on a corrupt
// v7.3 file, and no pre-check rules that out. So v7.3 files are read in a child process: a crash
// there becomes a one-line error here. The child writes the pixels into a memfd the parent maps
// afterwards (no copy through a pipe), and sends 'E' + message, or 'K' + N + S + labels.
ImageSet read_mat_isolated(const std::string& path, int64_t file_bytes) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error(path + ": cannot create a pipe for the reader");
  const int pixels_fd = ::memfd_create("dcgan-mat73-pixels", MFD_CLOEXEC);
  if (pixels_fd < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error(path + ": cannot create shared memory for the reader");
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } pixels_closer{pixels_fd};
  const int threads = std::max(1, std::min(16, at::get_num_threads()));
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(path + ": cannot start the reader process");
  if (pid == 0) {
    ::close(fds[0]);
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, STDERR_FILENO);  // HDF5's own diagnostics
    at::set_num_threads(1);                      // OpenMP's thread pool does not survive fork
    if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(nullptr);
    char tag = 'E';
    std::string message;
    try {
      const auto allocate = [&](size_t bytes) -> uint8_t* {
        if (::ftruncate(pixels_fd, static_cast<off_t>(bytes)) != 0)
          throw std::runtime_error(path + ": no memory for the pixels");
        // Populated at once: shared memory has no huge pages here, and a fault per 4 KiB page
        // while inflating into it cost more than the inflating.
        void* p =
            ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, pixels_fd, 0);
        if (p == MAP_FAILED) throw std::runtime_error(path + ": no memory for the pixels");
        return static_cast<uint8_t*>(p);
      };
      const auto result = detail::read_mat73(path, file_bytes, threads, allocate);
      tag = 'K';
      const bool sent =
          write_exact(fds[1], &tag, 1) && write_exact(fds[1], &result.count, sizeof(int64_t)) &&
          write_exact(fds[1], &result.side, sizeof(int64_t)) &&
          write_exact(fds[1], result.labels.data(), result.labels.size() * sizeof(int64_t));
      bool names_sent = sent;
      const uint64_t names = result.classes.size();
      names_sent = names_sent && write_exact(fds[1], &names, sizeof(names));
      for (const auto& name : result.classes) {
        const uint64_t length = name.size();
        names_sent = names_sent && write_exact(fds[1], &length, sizeof(length)) &&
                     write_exact(fds[1], name.data(), name.size());
      }
      ::_exit(names_sent ? 0 : 1);
    } catch (const std::exception& e) {
      message = e.what();
    }
    const uint64_t length = message.size();
    const bool sent = write_exact(fds[1], &tag, 1) &&
                      write_exact(fds[1], &length, sizeof(length)) &&
                      write_exact(fds[1], message.data(), message.size());
    ::_exit(sent ? 0 : 1);
  }
  ::close(fds[1]);
  struct Reaper {  // never leave the child running or unreaped, whatever happens below
    pid_t pid;
    int fd;
    int status = 0;
    bool reaped = false;
    int wait() {
      if (!reaped) {
        ::close(fd);
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        reaped = true;
      }
      return status;
    }
    ~Reaper() {
      if (!reaped) ::kill(pid, SIGKILL);
      wait();
    }
  } child{pid, fds[0]};

  char tag = 0;
  int64_t count = 0, side = 0;
  if (read_exact(fds[0], &tag, 1) && tag == 'E') {
    uint64_t length = 0;
    std::string message(1024, '\0');
    if (read_exact(fds[0], &length, sizeof(length)) && length <= (1 << 20)) {
      message.resize(length);
      if (read_exact(fds[0], message.data(), length)) throw InputError(message);
    }
  } else if (tag == 'K' && read_exact(fds[0], &count, sizeof(count)) &&
             read_exact(fds[0], &side, sizeof(side)) && count > 0 && side >= 1 &&
             side <= kMaxSide && count * side * side * kChannels / 1100 <= file_bytes) {
    ImageSet set;
    set.labels = torch::empty({count}, torch::kInt64);
    set.format = "MAT v7.3";
    const auto bytes = static_cast<size_t>(count * side * side * kChannels);
    struct stat info {};
    uint64_t names = 0;
    bool ok =
        read_exact(fds[0], set.labels.data_ptr(), static_cast<size_t>(count) * sizeof(int64_t)) &&
        read_exact(fds[0], &names, sizeof(names)) && names <= (1u << 20);
    for (uint64_t i = 0; ok && i < names; ++i) {
      uint64_t length = 0;
      ok = read_exact(fds[0], &length, sizeof(length)) && length <= (1u << 16);
      std::string name(ok ? length : 0, '\0');
      ok = ok && read_exact(fds[0], name.data(), name.size());
      set.classes.push_back(std::move(name));
    }
    if (ok && child.wait() == 0 && ::fstat(pixels_fd, &info) == 0 &&
        static_cast<size_t>(info.st_size) == bytes) {
      // Moved into huge-page memory 16 MB at a time, each piece of shared memory freed once read:
      // shared memory has only 4 KiB pages here, which made every later pass over the pixels
      // (statistics, batches) several times slower; peak memory stays ~1x the pixels.
      PixelBuffer buffer(bytes);
      if (!buffer.data) throw std::runtime_error(path + ": no memory for the pixels");
      constexpr size_t kPiece = size_t{16} << 20;
      for (size_t done = 0; done < bytes;) {
        const ssize_t n = ::pread(pixels_fd, buffer.data + done, std::min(kPiece, bytes - done),
                                  static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
          throw std::runtime_error(path + ": cannot read the pixels back from the reader");
        ::fallocate(pixels_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(done),
                    n);
        done += static_cast<size_t>(n);
      }
      set.images = buffer.release_as_tensor(0, static_cast<int64_t>(bytes))
                       .view({count, kChannels, side, side});
      return set;
    }
  }
  ::kill(pid, SIGKILL);
  const int status = child.wait();
  if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL) {
    fail(path, std::string("corrupt MAT v7.3 file (the HDF5 reader crashed: ") +
                   strsignal(WTERMSIG(status)) + ")");
  }
  fail(path, "corrupt MAT v7.3 file (the HDF5 reader failed or stopped responding)");
}

}  // namespace

ImageSet load_svhn_mat(const std::string& path) {
  install_matio_logger();
  check_regular_file(path);
  const auto file_bytes = static_cast<int64_t>(fs::file_size(path));
  if (file_bytes < 128) {
    fail(path,
         "not a MAT file (" + std::to_string(file_bytes) + " bytes, shorter than a MAT header)");
  }

  // Without a v5/v7.3 header Mat_Open falls back to MAT v4, whose reader trusts the name length:
  // a 185-byte file made it allocate and touch 2.4 GB (found by fuzzing). We never read v4 anyway.
  unsigned char header[4] = {};
  std::ifstream in(path, std::ios::binary);
  in.seekg(124);
  in.read(reinterpret_cast<char*>(header), 4);
  const bool little = header[2] == 'I' && header[3] == 'M',
             big = header[2] == 'M' && header[3] == 'I';
  const int version = little ? header[0] | header[1] << 8 : header[0] << 8 | header[1];
  if (!in || !(little || big) || (version != 0x0100 && version != 0x0200)) {
    fail(path, "not a MAT file (no MAT v5 or v7.3 header; MAT v4 is not supported)");
  }
  if (version == 0x0200) return read_mat_isolated(path, file_bytes);
  return read_mat(path, file_bytes);
}

}  // namespace dcgan::data
