#include "dcgan/data/image_folder.h"

#include <stb_image.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <vector>

#include "dcgan/util/errors.h"

namespace fs = std::filesystem;

namespace dcgan::data {
namespace {

constexpr int64_t kSide = 32;

bool is_image_name(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

// Decodes one image to a 3 x 32 x 32 uint8 tensor: center square crop, then area-average (down) or
// bilinear (up) resize.
torch::Tensor load_square_rgb(const fs::path& path) {
  int width = 0, height = 0, channels = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load(path.c_str(), &width, &height, &channels, /*desired_channels=*/3), stbi_image_free);
  if (!pixels) {
    const char* reason = stbi_failure_reason();
    throw InputError(path.string() + ": cannot decode image (" +
                     (reason ? reason : "unknown error") + ")");
  }
  auto hwc = torch::from_blob(pixels.get(), {height, width, 3}, torch::kUInt8);
  const int64_t side = std::min(width, height);
  auto square = hwc.narrow(0, (height - side) / 2, side).narrow(1, (width - side) / 2, side);
  auto chw = square.permute({2, 0, 1}).to(torch::kFloat32).unsqueeze(0);
  namespace F = torch::nn::functional;
  auto opts = F::InterpolateFuncOptions().size(std::vector<int64_t>{kSide, kSide});
  if (side >= kSide) {
    opts.mode(torch::kArea);
  } else {
    opts.mode(torch::kBilinear).align_corners(false);
  }
  return F::interpolate(chw, opts).squeeze(0).round_().clamp_(0, 255).to(torch::kUInt8);
}

}  // namespace

ImageSet load_image_folder(const std::string& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && is_image_name(entry.path())) files.push_back(entry.path());
  }
  if (ec) throw InputError(dir + ": cannot list folder (" + ec.message() + ")");
  if (files.empty()) throw InputError(dir + ": folder holds no .png, .jpg, .jpeg or .bmp images");
  std::sort(files.begin(), files.end());

  ImageSet set;
  set.images = torch::empty({static_cast<int64_t>(files.size()), 3, kSide, kSide}, torch::kUInt8);
  for (size_t i = 0; i < files.size(); ++i) set.images[i] = load_square_rgb(files[i]);
  set.labels = torch::full({set.size()}, -1, torch::kInt64);
  set.format = "image folder";
  return set;
}

}  // namespace dcgan::data
