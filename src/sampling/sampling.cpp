#include "dcgan/sampling/sampling.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "dcgan/data/scale.h"
#include "dcgan/image/png.h"
#include "dcgan/util/files.h"

namespace dcgan::sampling {

torch::Tensor seeded_z(int64_t count, int64_t z_size, uint64_t seed,
                       models::LatentDistribution distribution) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto options = torch::TensorOptions().dtype(torch::kFloat32);
  if (distribution == models::LatentDistribution::kNormal)
    return torch::randn({count, z_size}, generator, options);
  return torch::rand({count, z_size}, generator, options) * 2 - 1;
}

torch::Tensor seeded_z(models::Generator& generator, int64_t count, uint64_t seed) {
  return seeded_z(count, generator->options().z_size(), seed,
                  models::latent_distribution(generator->options().arch()));
}

torch::Tensor latent_walk(int64_t rows, int64_t steps, int64_t z_size, uint64_t seed,
                          models::LatentDistribution distribution) {
  const auto ends = seeded_z(2 * rows, z_size, seed, distribution).view({rows, 2, 1, z_size});
  const auto t = steps == 1 ? torch::zeros({1}) : torch::linspace(0.0, 1.0, steps);
  const auto weights = t.view({1, steps, 1});
  const auto z0 = ends.select(1, 0), z1 = ends.select(1, 1);  // rows x 1 x z
  return (z0 * (1 - weights) + z1 * weights).reshape({rows * steps, z_size});
}

torch::Tensor render(models::Generator& generator, const torch::Tensor& z,
                     const torch::Tensor& labels) {
  torch::NoGradGuard no_grad;
  const bool was_training = generator->is_training();
  generator->eval();
  const auto device = generator->parameters().front().device();
  const int64_t total = z.size(0);
  torch::Tensor classes;
  if (generator->conditional()) {
    classes = labels.defined()
                  ? labels
                  : torch::arange(total, torch::kInt64).remainder(generator->options().classes());
  }
  // In chunks: a million images at once would not fit in memory as floats.
  constexpr int64_t kChunk = 1024;
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < total || parts.empty(); start += kChunk) {
    const auto n = std::min(kChunk, total - start);
    const auto part_classes =
        classes.defined() ? classes.narrow(0, start, n).to(device) : torch::Tensor();
    parts.push_back(
        data::unscale(generator->forward_with_labels(z.narrow(0, start, n).to(device), part_classes))
            .cpu());
  }
  generator->train(was_training);
  return torch::cat(parts);
}

torch::Tensor class_rows(int64_t classes, int64_t per_row) {
  return torch::arange(classes, torch::kInt64).repeat_interleave(per_row);
}

void write_individual_pngs(const std::string& dir, const torch::Tensor& images) {
  ensure_writable_dir(dir);
  for (int64_t i = 0; i < images.size(0); ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "sample_%05lld.png", static_cast<long long>(i));
    image::write_png((std::filesystem::path(dir) / name).string(), images[i]);
  }
}

}  // namespace dcgan::sampling
