#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace dcgan {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// A model's parameters and buffers by their full names ("t_conv1.weight"), each under `prefix`.
NamedTensors named_tensors(const torch::nn::Module& model, const std::string& prefix = "");

// Throws dcgan::InputError "<source>: tensor '<name>' holds N non-finite values (NaN or Inf) of M;
// <advice>" for the first tensor with any, so that a model whose training diverged is refused
// rather than turned into black images or a resumed run that can never recover.
void require_finite(const NamedTensors& tensors, const std::string& source,
                    const std::string& advice);

}  // namespace dcgan
