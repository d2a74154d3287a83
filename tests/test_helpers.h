#pragma once

#include <gtest/gtest.h>
#include <matio.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "dcgan/data/svhn.h"
#include "dcgan/train/config.h"
#include "dcgan/util/compat.h"
#include "dcgan/util/errors.h"

namespace dcgan::test {

inline std::string data_path(const std::string& name) {
  return std::string(DCGAN_TEST_DATA_DIR) + "/" + name;
}

// A fresh, empty folder under the system temp dir, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "dcgan_test_XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// PNG width and height from the IHDR chunk (big-endian at bytes 16 and 20).
inline std::pair<uint32_t, uint32_t> png_size(const std::string& bytes) {
  if (bytes.size() < 24 || bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0 ||
      bytes.compare(12, 4, "IHDR") != 0) {
    return {0, 0};
  }
  auto be32 = [&](size_t at) {
    return static_cast<uint32_t>(static_cast<unsigned char>(bytes[at])) << 24 |
           static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 1])) << 16 |
           static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 2])) << 8 |
           static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 3]));
  };
  return {be32(16), be32(20)};
}

// The lines of `text`, without their newlines.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A command's output less the start-up warning that a LibTorch with a faulty oneDNN gets (see
// train/cpu_convolution_check.h): on such a machine an error is still one line of its own.
inline std::string without_onednn_warning(const std::string& out) {
  std::string kept;
  for (const auto& line : lines_of(out))
    if (line.find("this LibTorch's oneDNN computes") == std::string::npos) kept += line + "\n";
  return kept;
}

inline std::vector<std::string> file_lines(const std::string& path) {
  return lines_of(read_bytes(path));
}

// Runs `action` expecting it to throw `Error` with a message that contains every one of `needles`
// and is one line; returns the message ("" when nothing was thrown, after recording a failure).
template <class Error = dcgan::InputError, class Action>
std::string expect_error(Action&& action, const std::vector<std::string>& needles) {
  try {
    action();
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const auto& needle : needles)
      EXPECT_NE(message.find(needle), std::string::npos)
          << "'" << needle << "' not in: " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
    return message;
  }
  ADD_FAILURE() << "no error thrown, expected one naming '"
                << (needles.empty() ? std::string() : needles.front()) << "'";
  return "";
}

// One variable for write_mat: MATLAB dims and a contiguous tensor holding the data in MATLAB
// (column-major) order.
struct MatVariable {
  std::string name;
  std::vector<size_t> dims;
  torch::Tensor data;  // uint8, float64, or char (stored as uint8 with char_class)
  bool char_class = false;
  // Store the data under this unsigned class instead (data must have its width: int16 for
  // MAT_C_UINT16, int32 for MAT_C_UINT32); MAT_C_EMPTY: the class follows the dtype.
  matio_classes unsigned_class = MAT_C_EMPTY;
};

inline void write_mat(const std::string& path, const std::vector<MatVariable>& vars,
                      mat_ft version = MAT_FT_MAT5,
                      matio_compression compression = MAT_COMPRESSION_ZLIB) {
  mat_t* mat = Mat_CreateVer(path.c_str(), nullptr, version);
  if (!mat) throw std::runtime_error("cannot create " + path);
  for (const auto& v : vars) {
    auto data = v.data.contiguous();
    matio_classes cls = MAT_C_UINT8;
    matio_types type = MAT_T_UINT8;
    if (v.char_class) {
      cls = MAT_C_CHAR;
      type = MAT_T_UINT8;
    } else if (data.scalar_type() == torch::kFloat64) {
      cls = MAT_C_DOUBLE;
      type = MAT_T_DOUBLE;
    } else if (v.unsigned_class == MAT_C_UINT16) {
      cls = MAT_C_UINT16;
      type = MAT_T_UINT16;
    } else if (v.unsigned_class == MAT_C_UINT32) {
      cls = MAT_C_UINT32;
      type = MAT_T_UINT32;
    }
    std::vector<size_t> dims = v.dims;
    matvar_t* var = Mat_VarCreate(v.name.c_str(), cls, type, static_cast<int>(dims.size()),
                                  dims.data(), data.data_ptr(), MAT_F_DONT_COPY_DATA);
    Mat_VarWrite(mat, var, compression);
    Mat_VarFree(var);
  }
  Mat_Close(mat);
}

// A valid SVHN-style file of n random images (side x side, 32 as SVHN's) with labels 1..10 cycling.
inline void write_svhn(const std::string& path, int64_t n, mat_ft version = MAT_FT_MAT5,
                       matio_compression compression = MAT_COMPRESSION_ZLIB, int64_t side = 32) {
  auto x = torch::randint(0, 256, {n * 3 * side * side}, torch::kUInt8);
  auto y = (torch::arange(n, torch::kFloat64).remainder(10) + 1);
  const auto s = static_cast<size_t>(side);
  write_mat(path, {{"X", {s, s, 3, static_cast<size_t>(n)}, x}, {"y", {static_cast<size_t>(n), 1}, y}},
            version, compression);
}

// Loads `path` expecting an InputError that names the file, contains `problem` and is one line.
inline void expect_load_refused(const std::string& path, const std::string& problem) {
  expect_error([&] { dcgan::data::load_svhn_mat(path); }, {path, problem});
}

// The Adam state of a parameter, in whichever way this LibTorch keys it.
using dcgan::compat::adam_state;

// Every parameter of `a` has the same Adam step and moments as the same parameter of `b`.
// The config of a tiny, quick CPU training run (conv_dim 4, z_size 8, one thread, log lines, no
// plot): each test then sets what it is about.
inline dcgan::train::TrainConfig tiny_config(const std::string& data, const std::string& out_dir,
                                             int64_t epochs, int64_t batch_size = 16,
                                             uint64_t seed = 5) {
  dcgan::train::TrainConfig c;
  c.data = {data};
  c.out_dir = out_dir;
  c.epochs = epochs;
  c.batch_size = batch_size;
  c.conv_dim = 4;
  c.z_size = 8;
  c.seed = seed;
  c.seed_given = true;
  c.device = "cpu";
  c.print_every = 1;
  c.progress = "log";
  c.plot = false;
  c.threads = 1;
  return c;
}

inline void expect_same_adam_state(const torch::optim::Adam& a, const torch::optim::Adam& b) {
  const auto& pa = a.param_groups().at(0).params();
  const auto& pb = b.param_groups().at(0).params();
  ASSERT_EQ(pa.size(), pb.size());
  ASSERT_EQ(a.state().size(), pa.size()) << "not every parameter has Adam state";
  ASSERT_EQ(b.state().size(), pb.size()) << "not every parameter has Adam state";
  for (size_t i = 0; i < pa.size(); ++i) {
    const auto& sa = adam_state(a, pa[i]);
    const auto& sb = adam_state(b, pb[i]);
    EXPECT_EQ(sa.step(), sb.step()) << "parameter " << i;
    EXPECT_TRUE(torch::equal(sa.exp_avg(), sb.exp_avg())) << "parameter " << i;
    EXPECT_TRUE(torch::equal(sa.exp_avg_sq(), sb.exp_avg_sq())) << "parameter " << i;
  }
}

}  // namespace dcgan::test
