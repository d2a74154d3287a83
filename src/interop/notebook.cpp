#include "dcgan/interop/notebook.h"

#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include "dcgan/util/errors.h"

namespace dcgan::interop {
namespace {

// (notebook prefix, our layer), in the order the notebook's __init__ creates them.
using LayerNames = std::vector<std::pair<std::string, std::string>>;

const LayerNames& generator_layers() {
  static const LayerNames layers = {{"fc", "fc"},         {"t_conv1.0", "t_conv1"},
                                    {"t_conv1.1", "bn1"}, {"t_conv2.0", "t_conv2"},
                                    {"t_conv2.1", "bn2"}, {"t_conv3.0", "t_conv3"}};
  return layers;
}

const LayerNames& discriminator_layers() {
  static const LayerNames layers = {{"conv1.0", "conv1"}, {"conv2.0", "conv2"}, {"conv2.1", "bn2"},
                                    {"conv3.0", "conv3"}, {"conv3.1", "bn3"},   {"fc", "fc"}};
  return layers;
}

// Parameters, then buffers, of each layer: the order of PyTorch's state_dict().
TensorDict renamed_state(torch::nn::Module& model, const LayerNames& layers) {
  std::map<std::string, std::shared_ptr<torch::nn::Module>> children;
  for (const auto& child : model.named_children()) children[child.key()] = child.value();
  TensorDict state;
  for (const auto& [notebook, ours] : layers) {
    const auto& layer = children.at(ours);
    for (const auto& p : layer->named_parameters(/*recurse=*/false))
      state.emplace_back(notebook + "." + p.key(), p.value());
    for (const auto& b : layer->named_buffers(/*recurse=*/false))
      state.emplace_back(notebook + "." + b.key(), b.value());
  }
  return state;
}

std::string shape(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

const torch::Tensor* find(const TensorDict& state, const std::string& key) {
  for (const auto& [name, tensor] : state) {
    if (name == key) return &tensor;
  }
  return nullptr;
}

// The tensor under `key`, which must be there for `model` (Generator or Discriminator); a file of
// the other model gets told so.
const torch::Tensor& require(const TensorDict& state, const std::string& key,
                             const std::string& model, const std::string& source) {
  if (const auto* t = find(state, key)) return *t;
  const bool is_discriminator = find(state, "conv1.0.weight") != nullptr;
  const bool is_generator = find(state, "t_conv1.0.weight") != nullptr;
  if (model == "Generator" && is_discriminator)
    throw InputError(source + ": holds a Discriminator state_dict, expected a Generator's");
  if (model == "Discriminator" && is_generator)
    throw InputError(source + ": holds a Generator state_dict, expected a Discriminator's");
  throw InputError(
      source + ": missing key '" + key + "': not a state_dict of the notebook's " + model +
      (state.empty() ? " (the dict is empty)" : " (first key '" + state.front().first + "')"));
}

void load(torch::nn::Module& model, const LayerNames& layers, const TensorDict& state,
          const std::string& source) {
  const auto expected = renamed_state(model, layers);
  for (const auto& [key, tensor] : state) {
    if (!find(expected, key))
      throw InputError(source + ": unexpected key '" + key + "' of shape " + shape(tensor));
  }
  for (const auto& [key, target] : expected) {
    const auto* found = find(state, key);
    if (!found) {
      throw InputError(source + ": missing key '" + key + "' (expected shape " + shape(target) +
                       ")");
    }
    if (found->sizes() != target.sizes()) {
      throw InputError(source + ": key '" + key + "' has shape " + shape(*found) + ", expected " +
                       shape(target));
    }
  }
  torch::NoGradGuard no_grad;
  for (const auto& [key, target] : expected) {
    target.copy_(find(state, key)->to(target.dtype()));
  }
}

}  // namespace

TensorDict notebook_state_dict(models::Generator& generator) {
  return renamed_state(*generator, generator_layers());
}

TensorDict notebook_state_dict(models::Discriminator& discriminator) {
  return renamed_state(*discriminator, discriminator_layers());
}

models::GeneratorOptions generator_options(const TensorDict& state, const std::string& source) {
  // fc: z_size -> 4*conv_dim x 4 x 4
  const auto fc = require(state, "fc.weight", "Generator", source);
  require(state, "t_conv1.0.weight", "Generator", source);
  if (fc.dim() != 2 || fc.size(0) < 64 || fc.size(0) % 64 != 0 || fc.size(1) < 1) {
    throw InputError(source + ": key 'fc.weight' has shape " + shape(fc) +
                     ", expected [64 * conv_dim, z_size]");
  }
  return models::GeneratorOptions(/*z_size=*/fc.size(1), /*conv_dim=*/fc.size(0) / 64);
}

models::DiscriminatorOptions discriminator_options(const TensorDict& state,
                                                   const std::string& source) {
  // conv1: 3 -> conv_dim channels, 4x4 kernel
  const auto conv1 = require(state, "conv1.0.weight", "Discriminator", source);
  if (conv1.dim() != 4 || conv1.size(0) < 1) {
    throw InputError(source + ": key 'conv1.0.weight' has shape " + shape(conv1) +
                     ", expected [conv_dim, 3, 4, 4]");
  }
  return models::DiscriminatorOptions(/*conv_dim=*/conv1.size(0));
}

void load_notebook_state_dict(models::Generator& generator, const TensorDict& state,
                              const std::string& source) {
  load(*generator, generator_layers(), state, source);
}

void load_notebook_state_dict(models::Discriminator& discriminator, const TensorDict& state,
                              const std::string& source) {
  load(*discriminator, discriminator_layers(), state, source);
}

}  // namespace dcgan::interop
