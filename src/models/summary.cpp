#include "dcgan/models/summary.h"

#include <functional>
#include <iomanip>
#include <sstream>

namespace dcgan::models {
namespace {

// `run` passes one sample through the model, calling the observer after each layer.
template <typename Model>
ModelSummary summarize_model(Model& model, const std::function<void(const LayerObserver&)>& run) {
  ModelSummary summary;
  const bool was_training = model->is_training();
  model->eval();
  const auto children = model->named_children();
  {
    torch::NoGradGuard no_grad;
    run([&](const std::string& layer, const torch::Tensor& output) {
      // The projection term is D's class embedding at work.
      const auto* child = children.find(layer == "projection" ? "embed" : layer);
      summary.layers.push_back(
          {layer, output.sizes().vec(), child ? count_parameters(**child) : 0});
    });
  }
  model->train(was_training);
  summary.total_params = count_parameters(*model);
  return summary;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

std::string with_commas(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t total = 0;
  for (const auto& p : module.parameters(/*recurse=*/true)) total += p.numel();
  return total;
}

ModelSummary summarize(Generator& generator) {
  const auto z = torch::zeros({1, generator->options().z_size()});
  // A conditional generator is asked for class 0.
  const auto label = generator->conditional() ? torch::zeros({1}, torch::kInt64) : torch::Tensor();
  return summarize_model(generator, [&](const LayerObserver& observe) {
    generator->forward_with_labels(z, label, observe);
  });
}

ModelSummary summarize(Discriminator& discriminator) {
  const int64_t side = discriminator->options().image_size();
  const auto images = torch::zeros({1, 3, side, side});
  const auto label = discriminator->options().conditioning() != Conditioning::kNone
                         ? torch::zeros({1}, torch::kInt64)
                         : torch::Tensor();
  return summarize_model(discriminator, [&](const LayerObserver& observe) {
    discriminator->judge(images, label, observe);
  });
}

nlohmann::json to_json(const ModelSummary& summary) {
  auto layers = nlohmann::json::array();
  for (const auto& layer : summary.layers) {
    layers.push_back(
        {{"name", layer.name}, {"output_shape", layer.output_shape}, {"params", layer.params}});
  }
  return {{"layers", layers}, {"total_params", summary.total_params}};
}

std::string to_table(const std::string& title, const ModelSummary& summary) {
  std::ostringstream out;
  const std::string rule(56, '-');
  out << title << "\n"
      << rule << "\n"
      << std::left << std::setw(14) << "Layer" << std::setw(26) << "Output shape" << std::right
      << std::setw(16) << "Params"
      << "\n"
      << rule << "\n";
  for (const auto& layer : summary.layers) {
    out << std::left << std::setw(14) << layer.name << std::setw(26)
        << shape_string(layer.output_shape) << std::right << std::setw(16)
        << with_commas(layer.params) << "\n";
  }
  out << rule << "\n"
      << std::left << std::setw(40) << "Total params" << std::right << std::setw(16)
      << with_commas(summary.total_params) << "\n";
  return out.str();
}

}  // namespace dcgan::models
