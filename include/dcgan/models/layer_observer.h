#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>

namespace dcgan::models {

// Called by the models' forward() after each layer with the layer's name and output; used by the
// layer summary and the shape tests, so both see the real forward pass rather than a copy of it.
using LayerObserver = std::function<void(const std::string& layer, const torch::Tensor& output)>;

}  // namespace dcgan::models
