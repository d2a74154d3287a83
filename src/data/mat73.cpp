// MAT v7.3 files are HDF5 files with a 512-byte MATLAB header. Read with HDF5 directly (not through
// matio) for two reasons: matio reads the `MATLAB_class` string converted to a NULLTERM string of
// the same size, which cuts h5py's NULLPAD 'uint8' (5 bytes, no terminator) to 'uint', an unknown
// class; and HDF5 inflates gzip chunks on one thread, where we inflate them on every core.

#include <hdf5.h>
#include <libdeflate.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dcgan/util/errors.h"
#include "mat_detail.h"

namespace dcgan::data::detail {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw InputError(path + ": " + problem);
}

// An HDF5 identifier closed with its own close function.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  operator hid_t() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// The innermost messages of HDF5's error stack, on one line ("" when it is empty).
std::string hdf5_error() {
  std::string text;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned n, const H5E_error2_t* e, void* out) -> herr_t {
        auto& t = *static_cast<std::string*>(out);
        if (n < 2 && e && e->desc) t += (t.empty() ? "" : "; ") + std::string(e->desc);
        return 0;
      },
      &text);
  H5Eclear2(H5E_DEFAULT);
  return text.empty() ? "" : ": HDF5 error: " + text;
}

// The MATLAB_class attribute: "" when absent, "?" when not a string.
std::string matlab_class(hid_t dataset) {
  if (H5Aexists(dataset, "MATLAB_class") <= 0) return "";
  Handle attr(H5Aopen(dataset, "MATLAB_class", H5P_DEFAULT), H5Aclose);
  if (!attr.valid()) return "?";
  Handle type(H5Aget_type(attr), H5Tclose);
  if (!type.valid() || H5Tget_class(type) != H5T_STRING) return "?";
  std::string value;
  if (H5Tis_variable_str(type) > 0) {  // h5py's default for a Python str
    Handle memory(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(memory, H5T_VARIABLE);
    char* text = nullptr;
    if (H5Aread(attr, memory, &text) < 0 || !text) return "?";
    value = text;
    H5free_memory(text);
  } else {
    const size_t size = H5Tget_size(type);
    if (size == 0 || size > 64) return "?";
    // Read in the file's own string type, so no padding conversion can cut a character: NULLTERM
    // (MATLAB), NULLPAD (h5py's np.bytes_) and SPACEPAD all arrive whole.
    std::string buffer(size, '\0');
    if (H5Aread(attr, type, buffer.data()) < 0) return "?";
    value = buffer.c_str();
    while (!value.empty() && value.back() == ' ') value.pop_back();
  }
  return value;
}

bool numeric_class(const std::string& name) {
  static const char* names[] = {"double", "single", "int8",   "uint8", "int16",
                                "uint16", "int32",  "uint32", "int64", "uint64"};
  return std::any_of(std::begin(names), std::end(names), [&](const char* n) { return name == n; });
}

struct Variable {
  std::string cls;            // MATLAB class, or the HDF5 type's kind when the attribute is absent
  std::vector<hsize_t> dims;  // HDF5 order (MATLAB's reversed)
  bool one_byte_integer = false;
};

std::string matlab_dims(const std::vector<hsize_t>& dims) {
  std::string out;
  for (auto d = dims.rbegin(); d != dims.rend(); ++d)
    out += (out.empty() ? "" : "x") + std::to_string(*d);
  return out;
}

Variable describe(const std::string& path, hid_t dataset, const char* name) {
  Variable v;
  v.cls = matlab_class(dataset);
  Handle type(H5Dget_type(dataset), H5Tclose);
  const auto kind = type.valid() ? H5Tget_class(type) : H5T_NO_CLASS;
  if (v.cls.empty()) {  // plain HDF5 written without MATLAB's attribute: go by the stored type
    v.cls = kind == H5T_INTEGER ? "int" : kind == H5T_FLOAT ? "double" : "non-numeric";
  }
  if (v.cls != "int" && !numeric_class(v.cls)) {
    fail(path, std::string("variable '") + name + "' is " + (v.cls == "?" ? "non-numeric" : v.cls) +
                   (name[0] == 'X' ? ", expected uint8 images" : ", expected numeric labels"));
  }
  if (kind != H5T_INTEGER && kind != H5T_FLOAT) {
    fail(path, std::string("variable '") + name + "' is stored as a non-numeric HDF5 type");
  }
  v.one_byte_integer =
      kind == H5T_INTEGER && H5Tget_size(type) == 1 && H5Tget_sign(type) == H5T_SGN_NONE;
  Handle space(H5Dget_space(dataset), H5Sclose);
  const int rank = space.valid() ? H5Sget_simple_extent_ndims(space) : -1;
  if (rank < 0 || rank > 8)
    fail(path, std::string("variable '") + name + "' has no readable shape");
  v.dims.resize(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space, v.dims.data(), nullptr);
  return v;
}

// Every value whole and in [lo, hi]?
bool whole_in_range(const std::vector<double>& values, double lo, double hi) {
  return std::all_of(values.begin(), values.end(), [&](double v) {
    return std::isfinite(v) && v == std::round(v) && v >= lo && v <= hi;
  });
}

// Copies one decoded chunk (full chunk shape `chunk`, C order) into `out` (shape `dims`), clipped
// at the dataset's edge.
void scatter_chunk(const uint8_t* chunk_data, const std::vector<hsize_t>& chunk,
                   const std::vector<hsize_t>& offset, const std::vector<hsize_t>& dims,
                   uint8_t* out) {
  const size_t rank = dims.size();
  std::vector<hsize_t> index(rank, 0);  // position inside the chunk, last dimension excluded
  const hsize_t row = std::min(chunk[rank - 1], dims[rank - 1] - offset[rank - 1]);
  while (true) {
    bool inside = true;
    size_t src = 0, dst = 0;
    for (size_t d = 0; d + 1 < rank; ++d) {
      inside = inside && offset[d] + index[d] < dims[d];
      src = src * chunk[d] + index[d];
      dst = dst * dims[d] + offset[d] + index[d];
    }
    src = src * chunk[rank - 1];
    dst = dst * dims[rank - 1] + offset[rank - 1];
    if (inside) std::memcpy(out + dst, chunk_data + src, row);
    size_t d = rank - 1;  // odometer over all but the last dimension
    while (d > 0) {
      --d;
      if (++index[d] < chunk[d]) break;
      index[d] = 0;
      if (d == 0) return;
    }
    if (rank == 1) return;
  }
}

// Reads a gzip-chunked uint8 dataset by fetching raw chunks (HDF5 is not thread-safe: one thread)
// and inflating them on `threads` threads. False when the layout does not suit (then H5Dread).
bool read_chunks_parallel(const std::string& path, hid_t dataset, const std::vector<hsize_t>& dims,
                          int threads, uint8_t* out) {
  Handle plist(H5Dget_create_plist(dataset), H5Pclose);
  if (!plist.valid() || H5Pget_layout(plist) != H5D_CHUNKED || H5Pget_nfilters(plist) != 1)
    return false;
  unsigned flags = 0, config = 0;
  size_t values = 0;
  if (H5Pget_filter2(plist, 0, &flags, &values, nullptr, 0, nullptr, &config) != H5Z_FILTER_DEFLATE)
    return false;
  const size_t rank = dims.size();
  std::vector<hsize_t> chunk(rank);
  if (H5Pget_chunk(plist, static_cast<int>(rank), chunk.data()) != static_cast<int>(rank))
    return false;
  size_t chunk_bytes = 1;
  std::vector<hsize_t> per_dim(rank);
  size_t chunks = 1;
  for (size_t d = 0; d < rank; ++d) {
    if (chunk[d] == 0) return false;
    chunk_bytes *= chunk[d];
    per_dim[d] = (dims[d] + chunk[d] - 1) / chunk[d];
    chunks *= per_dim[d];
  }
  // Whole images per chunk (h5py's chunks=(k, 3, S, S), MATLAB's): inflate straight into `out`.
  bool contiguous = true;
  for (size_t d = 1; d < rank; ++d) contiguous = contiguous && chunk[d] == dims[d];
  size_t total = 1;
  for (auto d : dims) total *= d;

  struct Raw {
    std::vector<hsize_t> offset;
    uint8_t* bytes = nullptr;  // inside `arena`
    size_t size = 0;
    uint32_t filter_mask = 0;
  };
  // One buffer for a batch of raw chunks, reused batch after batch: no allocation, zeroing or page
  // faults per chunk.
  const size_t arena_bytes = (size_t{64} << 20) + chunk_bytes + chunk_bytes / 8 + 1024;
  std::unique_ptr<uint8_t[]> arena(new uint8_t[arena_bytes]);
  const size_t batch_bytes = size_t{64} << 20;  // raw chunks fetched before inflating them
  std::vector<Raw> batch;
  std::vector<hsize_t> index(rank, 0);
  size_t next_chunk = 0;
  while (next_chunk < chunks) {
    batch.clear();
    size_t held = 0;
    while (next_chunk < chunks && held < batch_bytes) {
      Raw raw;
      raw.offset.resize(rank);
      size_t rest = next_chunk++;
      for (size_t d = rank; d-- > 0;) {
        raw.offset[d] = (rest % per_dim[d]) * chunk[d];
        rest /= per_dim[d];
      }
      hsize_t stored = 0;
      if (H5Dget_chunk_storage_size(dataset, raw.offset.data(), &stored) < 0 || stored == 0 ||
          stored > chunk_bytes + chunk_bytes / 8 + 1024)
        return false;  // an unwritten (fill-value) chunk or an odd one: let H5Dread handle it
      raw.bytes = arena.get() + held;
      raw.size = stored;
      if (H5Dread_chunk(dataset, H5P_DEFAULT, raw.offset.data(), &raw.filter_mask, raw.bytes) < 0)
        fail(path,
             "variable 'X' could not be read (file truncated or corrupt" + hdf5_error() + ")");
      held += stored;
      batch.push_back(std::move(raw));
    }
    parallel_range(static_cast<int64_t>(batch.size()), threads, [&](int64_t begin, int64_t end) {
      std::unique_ptr<libdeflate_decompressor, void (*)(libdeflate_decompressor*)> inflater(
          libdeflate_alloc_decompressor(), libdeflate_free_decompressor);
      std::vector<uint8_t> scratch;
      for (int64_t i = begin; i < end; ++i) {
        const Raw& raw = batch[static_cast<size_t>(i)];
        const size_t start = static_cast<size_t>(raw.offset[0]) * (chunk_bytes / chunk[0]);
        const bool direct = contiguous && start + chunk_bytes <= total;
        uint8_t* target = direct ? out + start : (scratch.resize(chunk_bytes), scratch.data());
        if (raw.filter_mask & 1) {  // the deflate filter was skipped for this chunk: stored raw
          if (raw.size != chunk_bytes)
            throw InputError(path + ": variable 'X': a chunk has the wrong size (corrupt)");
          std::memcpy(target, raw.bytes, chunk_bytes);
        } else {
          size_t produced = 0;
          if (!inflater ||
              libdeflate_zlib_decompress(inflater.get(), raw.bytes, raw.size, target, chunk_bytes,
                                         &produced) != LIBDEFLATE_SUCCESS ||
              produced != chunk_bytes) {
            throw InputError(path +
                             ": variable 'X': a compressed chunk does not inflate (corrupt)");
          }
        }
        if (!direct) scatter_chunk(target, chunk, raw.offset, dims, out);
      }
    });
  }
  return true;
}

std::vector<double> read_doubles(const std::string& path, hid_t dataset, size_t count,
                                 const char* name) {
  std::vector<double> values(count);
  if (H5Dread(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0)
    fail(path, std::string("variable '") + name + "' could not be read (file truncated or corrupt" +
                   hdf5_error() + ")");
  return values;
}

}  // namespace

void parallel_range(int64_t n, int threads, const std::function<void(int64_t, int64_t)>& body) {
  threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, n)));
  if (threads <= 1) {
    if (n > 0) body(0, n);
    return;
  }
  std::vector<std::thread> workers;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      try {
        body(n * t / threads, n * (t + 1) / threads);
      } catch (...) {
        errors[static_cast<size_t>(t)] = std::current_exception();
      }
    });
  }
  for (auto& w : workers) w.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

MatResult read_mat73(const std::string& path, int64_t file_bytes, int threads,
                     const PixelAllocator& allocate) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors become our one-line messages
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.valid()) fail(path, "corrupt MAT v7.3 file (HDF5 cannot open it" + hdf5_error() + ")");
  if (H5Lexists(file, "X", H5P_DEFAULT) <= 0)
    fail(path, "no variable 'X' (expected SVHN images, SxSx3xN)");
  Handle x(H5Dopen2(file, "X", H5P_DEFAULT), H5Dclose);
  if (!x.valid()) fail(path, "variable 'X' is not a numeric array");
  const Variable xv = describe(path, x, "X");
  // HDF5 holds MATLAB's SxSx3xN as N x 3 x S x S; a single image drops the N.
  auto d = xv.dims;
  if (d.size() == 3) d.insert(d.begin(), 1);
  const bool shape_ok = d.size() == 4 && d[1] == kChannels && d[2] == d[3] && d[2] >= 1 &&
                        d[2] <= static_cast<hsize_t>(kMaxSide);
  if (!shape_ok) {
    fail(path, "variable 'X' is " + matlab_dims(xv.dims) +
                   ", expected SxSx3xN (square RGB images, e.g. 32x32x3xN)");
  }
  MatResult result;
  result.count = static_cast<int64_t>(d[0]);
  result.side = static_cast<int64_t>(d[2]);
  if (result.count == 0) fail(path, "variable 'X' holds zero images");
  const int64_t image_bytes = result.side * result.side * kChannels;
  if (result.count > (int64_t{1} << 40) / image_bytes ||
      result.count * image_bytes / 1100 > file_bytes) {
    fail(path, "variable 'X' claims " + std::to_string(result.count) +
                   " images, more than the file can hold");
  }
  const size_t total = static_cast<size_t>(result.count * image_bytes);

  uint8_t* pixels = allocate(total);
  if ((xv.cls == "uint8" || xv.cls == "int") && xv.one_byte_integer) {
    if (!read_chunks_parallel(path, x, d, threads, pixels) &&
        H5Dread(x, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, pixels) < 0) {
      fail(path, "variable 'X' could not be read (file truncated or corrupt" + hdf5_error() + ")");
    }
  } else {
    // Documented conversion: any real numeric X whose values are whole numbers in 0-255.
    const auto values = read_doubles(path, x, total, "X");
    if (!whole_in_range(values, 0, 255)) {
      fail(path, "variable 'X' is " + xv.cls +
                     " with values outside whole numbers 0-255, expected uint8 pixels");
    }
    for (size_t i = 0; i < total; ++i) pixels[i] = static_cast<uint8_t>(values[i]);
  }
  matlab_planes_to_row_major(pixels, result.count, result.side, threads);

  if (H5Lexists(file, "y", H5P_DEFAULT) <= 0)
    fail(path, "no variable 'y' (expected N labels in 1-10)");
  Handle y(H5Dopen2(file, "y", H5P_DEFAULT), H5Dclose);
  if (!y.valid()) fail(path, "variable 'y' is not a numeric array");
  const Variable yv = describe(path, y, "y");
  const bool vector = yv.dims.size() == 2 && (yv.dims[0] == 1 || yv.dims[1] == 1);
  if (!vector || static_cast<int64_t>(yv.dims[0] * yv.dims[1]) != result.count) {
    fail(path, "variable 'y' is " + matlab_dims(yv.dims) + ", expected " +
                   std::to_string(result.count) + "x1 (one label per image)");
  }
  // Class names (dcgan pack): a K x L char matrix, stored by HDF5 as L x K code units.
  if (H5Lexists(file, "classes", H5P_DEFAULT) > 0) {
    Handle names(H5Dopen2(file, "classes", H5P_DEFAULT), H5Dclose);
    Handle space(names.valid() ? H5Dget_space(names) : -1, H5Sclose);
    hsize_t dims[2] = {0, 0};
    if (!space.valid() || H5Sget_simple_extent_ndims(space) != 2 ||
        H5Sget_simple_extent_dims(space, dims, nullptr) < 0 || dims[0] * dims[1] > (1u << 24))
      fail(path, "variable 'classes' is not a char matrix of class names");
    std::vector<uint16_t> units(dims[0] * dims[1]);
    if (!units.empty() &&
        H5Dread(names, H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, units.data()) < 0)
      fail(path, "variable 'classes' could not be read" + hdf5_error());
    Handle type(H5Dget_type(names), H5Tclose);
    const bool bytes = type.valid() && H5Tget_size(type) == 1;
    result.classes = char_rows(std::vector<uint32_t>(units.begin(), units.end()),
                               static_cast<int64_t>(dims[1]), static_cast<int64_t>(dims[0]), bytes);
  }
  result.labels = labels_from_y(path, read_doubles(path, y, static_cast<size_t>(result.count), "y"),
                                static_cast<int64_t>(result.classes.size()));
  return result;
}

}  // namespace dcgan::data::detail
