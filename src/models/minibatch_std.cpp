#include "dcgan/models/minibatch_std.h"

#include <algorithm>
#include <string>

#include "dcgan/util/errors.h"

namespace dcgan::models {

int64_t minibatch_std_group(int64_t n, int64_t group_size) {
  TORCH_CHECK(group_size >= 1, "minibatch std: the group size must be at least 1, got ",
              group_size);
  int64_t group = std::max<int64_t>(1, std::min(group_size, n));
  while (n % group != 0) --group;
  return group;
}

int64_t default_minibatch_std(Conditioning conditioning) {
  return conditioning == Conditioning::kAcgan ? kAcganMinibatchStd : 0;
}

void check_minibatch_std_option(int64_t group_size) {
  if (group_size < 0 || group_size > kMaxMinibatchStdGroup) {
    throw InputError("--minibatch-std must be 0 (off) or a group size up to " +
                     std::to_string(kMaxMinibatchStdGroup) + ", got " + std::to_string(group_size));
  }
}

torch::Tensor append_minibatch_std(const torch::Tensor& x, int64_t group_size) {
  TORCH_CHECK(x.dim() == 4, "minibatch std: expected N x C x H x W features, got ", x.sizes());
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t group = minibatch_std_group(n, group_size);
  const auto grouped = x.to(torch::kFloat32).reshape({group, n / group, c, h, w});
  // The epsilon keeps sqrt's gradient finite for a group of identical images (or of one).
  const auto spread = (grouped.var(/*dim=*/0, /*unbiased=*/false) + 1e-8).sqrt().mean({1, 2, 3});
  const auto map =
      spread.repeat({group}).to(x.scalar_type()).view({n, 1, 1, 1}).expand({n, 1, h, w});
  return torch::cat({x, map}, /*dim=*/1);
}

}  // namespace dcgan::models
