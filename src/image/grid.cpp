#include "dcgan/image/grid.h"

#include <algorithm>

namespace dcgan::image {

torch::Tensor make_grid(const torch::Tensor& images, int64_t nrow, int64_t padding,
                        uint8_t pad_value) {
  TORCH_CHECK(images.dim() == 4, "make_grid: expected N x C x H x W images, got ", images.sizes());
  TORCH_CHECK(images.scalar_type() == torch::kUInt8, "make_grid: expected uint8 images");
  TORCH_CHECK(nrow >= 1 && padding >= 0, "make_grid: nrow must be >= 1 and padding >= 0");
  const int64_t n = images.size(0), channels = images.size(1);
  const int64_t height = images.size(2) + padding, width = images.size(3) + padding;
  const int64_t columns = std::max<int64_t>(1, std::min(nrow, n));
  const int64_t rows = (n + columns - 1) / columns;
  auto grid = torch::full({channels, rows * height + padding, columns * width + padding}, pad_value,
                          torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t y = (i / columns) * height + padding, x = (i % columns) * width + padding;
    grid.narrow(1, y, images.size(2)).narrow(2, x, images.size(3)).copy_(images[i]);
  }
  return grid;
}

}  // namespace dcgan::image
