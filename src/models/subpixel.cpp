#include "dcgan/models/subpixel.h"

namespace dcgan::models {

torch::Tensor subpixel_conv_transpose(const torch::Tensor& input, const torch::Tensor& weight) {
  TORCH_CHECK(weight.dim() == 4 && weight.size(2) == 4 && weight.size(3) == 4,
              "subpixel_conv_transpose: expected a Cin x Cout x 4 x 4 weight, got ",
              weight.sizes());
  const int64_t in_channels = weight.size(0), out_channels = weight.size(1);
  // Output pixel 2m+a gets input pixels m-1..m+1 through kernel taps: for a = 0, taps 3, 1, none;
  // for a = 1, none, 2, 0. Index 4 points at a zero row padded onto the kernel.
  static const auto taps = torch::tensor({3, 1, 4, 4, 2, 0}, torch::kInt64);
  const auto padded = torch::constant_pad_nd(weight, {0, 1, 0, 1});
  const auto idx = taps.to(weight.device());
  const auto kernel = padded.index_select(2, idx)
                          .index_select(3, idx)
                          .view({in_channels, out_channels, 2, 3, 2, 3})  // cin, cout, a, j, b, l
                          .permute({1, 2, 4, 0, 3, 5})                    // cout, a, b, cin, j, l
                          .reshape({out_channels * 4, in_channels, 3, 3});
  return torch::pixel_shuffle(torch::conv2d(input, kernel, {}, /*stride=*/1, /*padding=*/1), 2);
}

}  // namespace dcgan::models
