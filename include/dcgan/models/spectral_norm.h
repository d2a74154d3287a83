#pragma once

#include <torch/torch.h>

namespace dcgan::models {

// Spectral normalisation (Miyato et al. 2018), as torch.nn.utils.spectral_norm computes it: the
// weight divided by its largest singular value sigma, estimated by power iteration with vectors u
// (output side) and v (input side) kept between calls. The weight is read as a matrix with one row
// per output channel (rows x everything else).

// Registers the buffers `weight_u` and `weight_v` on `layer` (random unit vectors, as PyTorch
// starts them), whose `weight` is then normalised by spectrally_normalized_weight.
void add_spectral_norm_buffers(torch::nn::Module& layer, const torch::Tensor& weight);

// W / sigma. With `update` (training), u and v first take one power-iteration step, in place:
// v = normalize(W^T u), u = normalize(W v). sigma = u^T W v carries the gradient to W; u and v do
// not. Device work only, so a CUDA graph captures it.
torch::Tensor spectrally_normalized_weight(torch::nn::Module& layer, const torch::Tensor& weight,
                                           bool update);

}  // namespace dcgan::models
