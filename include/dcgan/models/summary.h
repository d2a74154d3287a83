#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dcgan/models/discriminator.h"
#include "dcgan/models/generator.h"

namespace dcgan::models {

struct LayerSummary {
  std::string name;
  std::vector<int64_t> output_shape;  // with batch size 1
  int64_t params = 0;                 // trainable parameters owned by this layer
};

struct ModelSummary {
  std::vector<LayerSummary> layers;
  int64_t total_params = 0;
};

// Runs one sample through the model (eval mode, no grad; class 0 for a conditional model) and
// records each layer, like torchinfo.
ModelSummary summarize(Generator& generator);
ModelSummary summarize(Discriminator& discriminator);

// Trainable parameters, BatchNorm weight and bias included, running statistics not.
int64_t count_parameters(const torch::nn::Module& module);

nlohmann::json to_json(const ModelSummary& summary);
std::string to_table(const std::string& title, const ModelSummary& summary);

}  // namespace dcgan::models
