#include <matio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "dcgan/data/svhn.h"
#include "dcgan/util/errors.h"

namespace dcgan::data {
namespace {

bool digit_classes(const std::vector<std::string>& classes) {
  if (classes.size() != 10) return false;
  for (size_t d = 0; d < 10; ++d)
    if (classes[d] != std::to_string(d)) return false;
  return true;
}

}  // namespace

void write_svhn_mat(const std::string& path, const ImageSet& set) {
  const int64_t n = set.size(), side = set.side();
  if (n == 0) throw InputError(path + ": no images to write");
  // MATLAB's column-major SxSx3xN is, byte for byte, our N x 3 x S(col) x S(row).
  auto x = set.images.transpose(2, 3).contiguous();
  const bool svhn_labels = set.classes.empty() || digit_classes(set.classes);
  auto y = torch::zeros({n}, torch::kFloat64);
  if (set.labels.defined() && set.labels.numel() == n) {
    const auto labels = set.labels.to(torch::kInt64);
    y = svhn_labels ? labels.masked_fill(labels == 0, 10).to(torch::kFloat64)
                    : (labels + 1).to(torch::kFloat64);
    y.masked_fill_(labels < 0, 0);  // none
  }
  y = y.contiguous();
  const bool large = x.numel() > (int64_t{2} << 30);
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  std::remove(temporary.c_str());
  mat_t* mat = Mat_CreateVer(temporary.c_str(), nullptr, large ? MAT_FT_MAT73 : MAT_FT_MAT5);
  if (!mat) throw std::runtime_error(path + ": cannot create the file");
  bool ok = true;
  auto write = [&](const char* name, matio_classes cls, matio_types type, std::vector<size_t> dims,
                   void* data) {
    matvar_t* var = Mat_VarCreate(name, cls, type, static_cast<int>(dims.size()), dims.data(), data,
                                  MAT_F_DONT_COPY_DATA);
    ok = ok && var && Mat_VarWrite(mat, var, MAT_COMPRESSION_ZLIB) == 0;
    if (var) Mat_VarFree(var);
  };
  const auto s = static_cast<size_t>(side);
  write("X", MAT_C_UINT8, MAT_T_UINT8, {s, s, 3, static_cast<size_t>(n)}, x.data_ptr());
  write("y", MAT_C_DOUBLE, MAT_T_DOUBLE, {static_cast<size_t>(n), 1}, y.data_ptr());
  std::vector<uint8_t> names;
  if (!svhn_labels) {
    size_t width = 1;
    for (const auto& c : set.classes) width = std::max(width, c.size());
    const size_t k = set.classes.size();
    names.assign(k * width, ' ');
    for (size_t r = 0; r < k; ++r)
      for (size_t c = 0; c < set.classes[r].size(); ++c)
        names[c * k + r] = static_cast<uint8_t>(set.classes[r][c]);
    write("classes", MAT_C_CHAR, MAT_T_UINT8, {k, width}, names.data());
  }
  Mat_Close(mat);
  if (!ok || std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    throw std::runtime_error(path + ": cannot write the MAT file (disk full or not writable?)");
  }
}

}  // namespace dcgan::data
