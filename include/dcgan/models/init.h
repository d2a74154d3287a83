#pragma once

#include <torch/torch.h>

#include <string>

namespace dcgan::models {

enum class WeightsInit {
  kDefault,  // PyTorch's own layer initialisation, as the notebook uses
  kNormal,   // the DCGAN paper: conv weights ~ N(0, 0.02), BatchNorm weights ~ N(1, 0.02), biases 0
};

WeightsInit parse_weights_init(const std::string& name);  // "default" | "normal"
std::string to_string(WeightsInit init);

// Re-initialises every conv, transpose conv, linear and BatchNorm layer of `module` in place.
void apply_weights_init(torch::nn::Module& module, WeightsInit init);

}  // namespace dcgan::models
