#include "dcgan/interop/state_dict_layout.h"

#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include "dcgan/util/errors.h"

namespace dcgan::interop {
namespace {

using models::Arch;

// (PyTorch's prefix, our layer), in the order PyTorch's __init__ creates them.
using LayerNames = std::vector<std::pair<std::string, std::string>>;

std::string main_index(int64_t i) {
  return "main." + std::to_string(i);
}

LayerNames generator_layers(models::Generator& g) {
  const auto k = static_cast<int64_t>(g->doublings());
  LayerNames layers;
  const bool notebook = g->options().arch() == Arch::kNotebook;
  if (notebook) {
    layers.emplace_back("fc", "fc");
  } else {
    layers.emplace_back(main_index(0), "t_conv0");
    layers.emplace_back(main_index(1), "bn0");
  }
  for (int64_t i = 1; i <= k; ++i) {
    const auto n = std::to_string(i);
    layers.emplace_back(notebook ? "t_conv" + n + ".0" : main_index(3 * i), "t_conv" + n);
    if (i < k)
      layers.emplace_back(notebook ? "t_conv" + n + ".1" : main_index(3 * i + 1), "bn" + n);
  }
  return layers;
}

LayerNames discriminator_layers(models::Discriminator& d) {
  const auto k = static_cast<int64_t>(d->halvings());
  const bool notebook = d->options().arch() == Arch::kNotebook;
  LayerNames layers;
  for (int64_t i = 1; i <= k; ++i) {
    const auto n = std::to_string(i);
    const int64_t conv_index = i == 1 ? 0 : 3 * i - 4;
    layers.emplace_back(notebook ? "conv" + n + ".0" : main_index(conv_index), "conv" + n);
    if (i > 1) layers.emplace_back(notebook ? "conv" + n + ".1" : main_index(3 * i - 3), "bn" + n);
  }
  if (notebook) {
    layers.emplace_back("fc", "fc");
  } else {
    layers.emplace_back(main_index(3 * k - 1), "conv_out");
  }
  // A conditional discriminator's class layers sit beside the network, under their own names.
  layers.emplace_back("embed", "embed");
  layers.emplace_back("classifier", "classifier");
  return layers;
}

// The layer's parameters, then its buffers, then each sublayer's the same way (a conditional
// BatchNorm's bn, gain and bias): the order of PyTorch's state_dict(). Undefined tensors (the
// weight and bias of a BatchNorm without affine) are None in PyTorch and left out, as it does.
void append_layer_state(torch::nn::Module& layer, const std::string& prefix,
                        serialization::TensorDict& state) {
  for (const auto& p : layer.named_parameters(/*recurse=*/false)) {
    if (p.value().defined()) state.emplace_back(prefix + "." + p.key(), p.value());
  }
  for (const auto& b : layer.named_buffers(/*recurse=*/false)) {
    if (b.value().defined()) state.emplace_back(prefix + "." + b.key(), b.value());
  }
  for (const auto& child : layer.named_children())
    append_layer_state(*child.value(), prefix + "." + child.key(), state);
}

serialization::TensorDict renamed_state(torch::nn::Module& model, const LayerNames& layers) {
  std::map<std::string, std::shared_ptr<torch::nn::Module>> children;
  for (const auto& child : model.named_children()) children[child.key()] = child.value();
  serialization::TensorDict state;
  for (const auto& [theirs, ours] : layers) {
    // A model built with --no-batch-norm has no BatchNorm layers to export, an unconditional one
    // no class layers.
    if (!children.count(ours)) continue;
    append_layer_state(*children.at(ours), theirs, state);
  }
  return state;
}

std::string shape(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

const torch::Tensor* find(const serialization::TensorDict& state, const std::string& key) {
  for (const auto& [name, tensor] : state) {
    if (name == key) return &tensor;
  }
  return nullptr;
}

// nn.DataParallel saves every key under `module.`; the models inside are the same.
serialization::TensorDict without_data_parallel_prefix(const serialization::TensorDict& state) {
  const std::string prefix = "module.";
  for (const auto& [key, tensor] : state) {
    if (key.rfind(prefix, 0) != 0) return state;
  }
  serialization::TensorDict stripped;
  for (const auto& [key, tensor] : state) stripped.emplace_back(key.substr(prefix.size()), tensor);
  return stripped;
}

bool is_examples_layout(const serialization::TensorDict& state) {
  return find(state, "main.0.weight") != nullptr;
}

// pytorch-examples' 4-D weights (its convolutions), in index order.
std::vector<const torch::Tensor*> examples_convs(const serialization::TensorDict& state) {
  std::vector<const torch::Tensor*> convs;
  for (int64_t i = 0; i < 1000; ++i) {
    const auto* w = find(state, main_index(i) + ".weight");
    if (w && w->dim() == 4) convs.push_back(w);
  }
  return convs;
}

// Which model a state_dict holds, for telling a user who passed the other one.
enum class Holds { kGenerator, kDiscriminator, kUnknown };

Holds what_it_holds(const serialization::TensorDict& state) {
  if (find(state, "t_conv1.0.weight")) return Holds::kGenerator;
  if (find(state, "conv1.0.weight")) return Holds::kDiscriminator;
  if (is_examples_layout(state)) {
    const auto convs = examples_convs(state);
    if (!convs.empty() && convs.back()->size(0) == 1) return Holds::kDiscriminator;
    if (!convs.empty()) return Holds::kGenerator;
  }
  return Holds::kUnknown;
}

void require_model(const serialization::TensorDict& state, Holds wanted,
                   const std::string& source) {
  const auto holds = what_it_holds(state);
  if (holds == wanted) return;
  const std::string model = wanted == Holds::kGenerator ? "Generator" : "Discriminator";
  if (holds != Holds::kUnknown) {
    throw InputError(source + ": holds a " +
                     (holds == Holds::kGenerator ? "Generator" : "Discriminator") +
                     " state_dict, expected a " + model + "'s");
  }
  throw InputError(
      source + ": not a state_dict of a DCGAN " + model +
      " (neither the notebook's keys nor pytorch/examples' main.N" +
      (state.empty() ? "; the dict is empty)" : "; first key '" + state.front().first + "')"));
}

// The image side of `doublings` 4x4 stride-2 layers on top of a 4x4 map.
int64_t image_side(size_t doublings, const std::string& source) {
  const int64_t side = int64_t{4} << doublings;
  if (doublings > 8 || !models::is_supported_image_size(side)) {
    throw InputError(source + ": its " + std::to_string(doublings) +
                     " up/down-sampling layers make " + std::to_string(side) + "x" +
                     std::to_string(side) + " images; dcgan builds 32, 64, 128 or 256");
  }
  return side;
}

void require_rgb(int64_t channels, const std::string& key, const std::string& source) {
  if (channels != 3) {
    throw InputError(source + ": key '" + key + "' has " + std::to_string(channels) +
                     " image channels; dcgan makes 3-channel (RGB) images");
  }
}

bool ends_with(const std::string& text, const std::string& end) {
  return text.size() >= end.size() && text.compare(text.size() - end.size(), end.size(), end) == 0;
}

// The class count of a conditional layer's weight: one row per class.
int64_t classes_of(const torch::Tensor& weight, const std::string& key, const std::string& source) {
  if (weight.dim() != 2 || weight.size(0) < 2 || weight.size(0) > models::kMaxClasses) {
    throw InputError(source + ": key '" + key + "' has shape " + shape(weight) +
                     "; a conditional layer holds one row per class, and dcgan's models have 2-" +
                     std::to_string(models::kMaxClasses) + " classes");
  }
  return weight.size(0);
}

// Projection conditioning shows in the generator as conditional BatchNorm: `<layer>.gain.weight`.
models::GeneratorOptions with_generator_classes(models::GeneratorOptions options,
                                                const serialization::TensorDict& state,
                                                const std::string& source) {
  for (const auto& [key, tensor] : state) {
    if (ends_with(key, ".gain.weight")) {
      return options.conditioning(models::Conditioning::kProjection)
          .classes(classes_of(tensor, key, source));
    }
  }
  return options;
}

void load(torch::nn::Module& model, const LayerNames& layers,
          const serialization::TensorDict& given, const std::string& source) {
  const auto state = without_data_parallel_prefix(given);
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

serialization::TensorDict pytorch_state_dict(models::Generator& generator) {
  return renamed_state(*generator, generator_layers(generator));
}

serialization::TensorDict pytorch_state_dict(models::Discriminator& discriminator) {
  return renamed_state(*discriminator, discriminator_layers(discriminator));
}

models::GeneratorOptions generator_options(const serialization::TensorDict& given,
                                           const std::string& source) {
  const auto state = without_data_parallel_prefix(given);
  require_model(state, Holds::kGenerator, source);
  if (is_examples_layout(state)) {
    // main.0: ConvTranspose2d(nz, W0, 4, 1, 0); the last: ConvTranspose2d(ngf, nc, 4, 2, 1).
    const auto convs = examples_convs(state);
    const auto& last = *convs.back();
    require_rgb(last.size(1), "main.N.weight (the last ConvTranspose2d)", source);
    return with_generator_classes(
        models::GeneratorOptions(/*z_size=*/convs.front()->size(0), /*conv_dim=*/last.size(0))
            .image_size(image_side(convs.size() - 1, source))
            .arch(Arch::kPytorchExamples),
        state, source);
  }
  // fc: z_size -> W0 x 4 x 4; t_conv1.0 .. t_convK.0, the last ngf -> 3.
  const auto* fc = find(state, "fc.weight");
  size_t k = 0;
  while (find(state, "t_conv" + std::to_string(k + 1) + ".0.weight")) ++k;
  const auto last_key = "t_conv" + std::to_string(k) + ".0.weight";
  const auto& last = *find(state, last_key);
  if (!fc || fc->dim() != 2 || fc->size(1) < 1 || last.dim() != 4) {
    throw InputError(source + ": key 'fc.weight' has shape " + (fc ? shape(*fc) : "none") +
                     ", expected [16 * width of the 4x4 map, z_size]");
  }
  require_rgb(last.size(1), last_key, source);
  return with_generator_classes(
      models::GeneratorOptions(/*z_size=*/fc->size(1), /*conv_dim=*/last.size(0))
          .image_size(image_side(k, source))
          .arch(Arch::kNotebook),
      state, source);
}

models::GeneratorOptions as_acgan_generator(models::GeneratorOptions options, int64_t classes,
                                            const std::string& source) {
  if (options.conditioning() != models::Conditioning::kNone) {
    throw InputError(source + ": a generator with " + models::to_string(options.conditioning()) +
                     " conditioning, not AC-GAN's (one-hot classes after z)");
  }
  const int64_t inputs = options.z_size();
  if (inputs <= classes) {
    throw InputError(source + ": its first layer takes " + std::to_string(inputs) +
                     " inputs, too few for z and a one-hot label of " + std::to_string(classes) +
                     " classes (AC-GAN)");
  }
  return options.z_size(inputs - classes)
      .conditioning(models::Conditioning::kAcgan)
      .classes(classes);
}

models::DiscriminatorOptions discriminator_options(const serialization::TensorDict& given,
                                                   const std::string& source) {
  const auto state = without_data_parallel_prefix(given);
  require_model(state, Holds::kDiscriminator, source);
  const bool examples = is_examples_layout(state);
  const std::string first_key = examples ? "main.0.weight" : "conv1.0.weight";
  // The first conv: 3 -> conv_dim channels, 4x4 kernel.
  const auto& first = *find(state, first_key);
  if (first.dim() != 4 || first.size(0) < 1) {
    throw InputError(source + ": key '" + first_key + "' has shape " + shape(first) +
                     ", expected [conv_dim, 3, 4, 4]");
  }
  require_rgb(first.size(1), first_key, source);
  size_t k = 0;
  if (examples) {
    k = examples_convs(state).size() - 1;  // all but conv_out halve the side
  } else {
    while (find(state, "conv" + std::to_string(k + 1) + ".0.weight")) ++k;
  }
  auto options = models::DiscriminatorOptions(/*conv_dim=*/first.size(0))
                     .image_size(image_side(k, source))
                     .arch(examples ? Arch::kPytorchExamples : Arch::kNotebook);
  // Projection: a class embedding `embed`; AC-GAN: a classifier head `classifier`, and the
  // embedding too when its logit has the projection term.
  const auto* embed = find(state, "embed.weight");
  if (const auto* classifier = find(state, "classifier.weight")) {
    options.conditioning(models::Conditioning::kAcgan)
        .classes(classes_of(*classifier, "classifier.weight", source))
        .acgan_projection(embed != nullptr);
    if (embed && classes_of(*embed, "embed.weight", source) != options.classes()) {
      throw InputError(source + ": embed.weight and classifier.weight hold different class counts");
    }
  } else if (embed) {
    options.conditioning(models::Conditioning::kProjection)
        .classes(classes_of(*embed, "embed.weight", source));
  }
  return options;
}

bool has_minibatch_std_channel(const serialization::TensorDict& given,
                               const models::DiscriminatorOptions& options) {
  const auto state = without_data_parallel_prefix(given);
  const auto widths = models::feature_widths(options.conv_dim(), options.image_size());
  const int64_t width = widths.front();
  const auto halvings = static_cast<int64_t>(widths.size());
  const auto* last =
      find(state, options.arch() == Arch::kNotebook ? "fc.weight"
                                                    : main_index(3 * halvings - 1) + ".weight");
  if (!last || last->dim() < 2) return false;  // load_pytorch_state_dict names what is missing
  const int64_t inputs = last->size(1);
  return options.arch() == Arch::kNotebook ? inputs == (width + 1) * 4 * 4 : inputs == width + 1;
}

void load_pytorch_state_dict(models::Generator& generator, const serialization::TensorDict& state,
                             const std::string& source) {
  load(*generator, generator_layers(generator), state, source);
}

void load_pytorch_state_dict(models::Discriminator& discriminator,
                             const serialization::TensorDict& state, const std::string& source) {
  load(*discriminator, discriminator_layers(discriminator), state, source);
}

}  // namespace dcgan::interop
