#pragma once

#include <torch/torch.h>

#include <string>

#include "dcgan/models/generator.h"

namespace dcgan::sampling {

// `count` latent vectors z ~ U(-1, 1) (or N(0, 1)) from their own generator seeded with `seed`: the
// same seed gives the same vectors, whatever else the process has drawn.
torch::Tensor seeded_z(
    int64_t count, int64_t z_size, uint64_t seed,
    models::LatentDistribution distribution = models::LatentDistribution::kUniform);

// The same for `generator`: its z size and its arch's distribution.
torch::Tensor seeded_z(models::Generator& generator, int64_t count, uint64_t seed);

// The DCGAN paper's latent walk: `rows` random pairs (z0, z1), each row `steps` points on the
// straight line from z0 to z1 (both ends included). Returns rows*steps x z_size, row-major.
torch::Tensor latent_walk(
    int64_t rows, int64_t steps, int64_t z_size, uint64_t seed,
    models::LatentDistribution distribution = models::LatentDistribution::kUniform);

// G(z) in eval mode without gradients, mapped to uint8 N x 3 x S x S on the CPU, computed 1,024
// images at a time (any count fits in memory). A conditional
// generator draws the classes in `labels`, or, without them, every class in turn (image i is of
// class i mod classes), so that any count of samples is balanced over the classes.
torch::Tensor render(models::Generator& generator, const torch::Tensor& z,
                     const torch::Tensor& labels = {});

// Class indices for a grid with one row per class, `per_row` images each: k repeated per_row
// times, for k = 0 .. classes - 1.
torch::Tensor class_rows(int64_t classes, int64_t per_row);

// Writes images as DIR/sample_00000.png ... (one PNG each), the input FID tools expect.
void write_individual_pngs(const std::string& dir, const torch::Tensor& images);

}  // namespace dcgan::sampling
