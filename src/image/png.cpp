#include "dcgan/image/png.h"

#include <stb_image.h>
#include <stb_image_write.h>

#include <memory>

#include "dcgan/util/errors.h"
#include "dcgan/util/files.h"

namespace dcgan::image {
namespace {

void append_bytes(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data),
                                             static_cast<size_t>(size));
}

}  // namespace

void write_png(const std::string& path, const torch::Tensor& chw) {
  TORCH_CHECK(chw.dim() == 3 && (chw.size(0) == 1 || chw.size(0) == 3) &&
                  chw.scalar_type() == torch::kUInt8,
              "write_png: expected a uint8 1 x H x W or 3 x H x W image, got ", chw.sizes());
  const auto hwc = chw.permute({1, 2, 0}).contiguous().cpu();
  const int height = static_cast<int>(hwc.size(0)), width = static_cast<int>(hwc.size(1));
  const int channels = static_cast<int>(hwc.size(2));
  std::string encoded;
  const int ok = stbi_write_png_to_func(&append_bytes, &encoded, width, height, channels,
                                        hwc.data_ptr<uint8_t>(), width * channels);
  if (!ok || encoded.empty()) throw std::runtime_error(path + ": PNG encoding failed");
  write_file_atomically(path, encoded);
}

torch::Tensor read_image(const std::string& path) {
  int width = 0, height = 0, channels = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load(path.c_str(), &width, &height, &channels, 3), stbi_image_free);
  if (!pixels)
    throw InputError(path + ": cannot read image (" + std::string(stbi_failure_reason()) + ")");
  return torch::from_blob(pixels.get(), {height, width, 3}, torch::kUInt8)
      .permute({2, 0, 1})
      .clone();
}

}  // namespace dcgan::image
