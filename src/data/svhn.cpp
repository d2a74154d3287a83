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
#include "mat5_reader.h"
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

using detail::check_mat5_sizes;
using detail::kChannels;
using detail::kMaxSide;
using detail::Mat5Variable;
using detail::read_mat_isolated;
using detail::read_uint8_x;

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
