#include "dcgan/interop/torchscript.h"

#include <iomanip>
#include <sstream>

#include "dcgan/interop/state_dict_layout.h"
#include "dcgan/models/spectral_norm.h"
#include "dcgan/util/archive_values.h"
#include "dcgan/util/errors.h"

namespace dcgan::interop {
namespace {

using models::Arch;

// The module attribute of a dcgan tensor: TorchScript names cannot hold the '.' of "bn1.weight".
std::string attribute_name(const std::string& layer, const std::string& tensor) {
  return layer + "_" + tensor;
}

// Spectral normalisation's power-iteration vectors: the module stores the weights normalised.
// (BatchNorm's batch counter stays, though the module never trains, so that a module read back
// by `dcgan import` is the model exported, buffer for buffer.)
bool is_training_state(const std::string& buffer) {
  return buffer == "weight_u" || buffer == "weight_v";
}

// Copies every layer's parameters and buffers into `module` under their attribute names. A
// spectrally normalised layer gives the weight it computes with, W / sigma.
void register_tensors(torch::jit::Module& module, torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  for (const auto& layer : model.named_children()) {
    auto& l = *layer.value();
    const bool spectral = l.named_buffers(/*recurse=*/false).contains("weight_u");
    for (const auto& p : l.named_parameters(/*recurse=*/false)) {
      auto tensor = p.value();
      if (spectral && p.key() == "weight")
        tensor = models::spectrally_normalized_weight(l, tensor, /*update=*/false);
      module.register_parameter(attribute_name(layer.key(), p.key()), tensor.detach().clone().cpu(),
                                /*is_buffer=*/false);
    }
    for (const auto& b : l.named_buffers(/*recurse=*/false)) {
      if (is_training_state(b.key())) continue;
      module.register_buffer(attribute_name(layer.key(), b.key()),
                             b.value().detach().clone().cpu());
    }
  }
}

void register_common_attributes(torch::jit::Module& module, Arch arch, int64_t image_size,
                                int64_t conv_dim, bool batch_norm) {
  // torch.jit.load's users call .eval()/.train(), which set `training` on every module.
  module.register_attribute("training", c10::BoolType::get(), false);
  module.register_attribute("dcgan_export_version", c10::IntType::get(), kTorchScriptExportVersion);
  module.register_attribute("arch", c10::StringType::get(), models::to_string(arch));
  module.register_attribute("image_size", c10::IntType::get(), image_size);
  module.register_attribute("conv_dim", c10::IntType::get(), conv_dim);
  module.register_attribute("batch_norm", c10::BoolType::get(), batch_norm);
}

// A double as TorchScript reads it back bit for bit.
std::string float_literal(double value) {
  std::ostringstream out;
  out << std::setprecision(17) << std::scientific << value;
  return out.str();
}

// TorchScript source for the layers of `module`: "self.bn1_weight", or "None" for a tensor the
// layer does not have (a convolution without bias).
class Source {
 public:
  explicit Source(const torch::jit::Module& module) : module_(module) {}

  std::string tensor(const std::string& layer, const std::string& name) const {
    const auto attribute = attribute_name(layer, name);
    return module_.hasattr(attribute) ? "self." + attribute : "None";
  }

  // x = batch_norm(x) in eval mode, with the layer's eps, when the layer exists.
  std::string batch_norm(const std::string& layer, const torch::nn::BatchNorm2d& bn) const {
    if (bn.is_empty()) return "";
    return "    x = torch.batch_norm(x, " + tensor(layer, "weight") + ", " + tensor(layer, "bias") +
           ", " + tensor(layer, "running_mean") + ", " + tensor(layer, "running_var") +
           ", False, 0.0, " + float_literal(bn->options.eps()) + ", True)\n";
  }

 private:
  const torch::jit::Module& module_;
};

std::string ints(std::initializer_list<int64_t> values) {
  std::string out = "[";
  for (const auto v : values) out += (out.size() > 1 ? ", " : "") + std::to_string(v);
  return out + "]";
}

}  // namespace

torch::jit::Module generator_module(models::Generator& generator) {
  const auto& o = generator->options();
  torch::jit::Module module("__torch__.dcgan.Generator");
  register_common_attributes(module, o.arch(), o.image_size(), o.conv_dim(), o.batch_norm());
  const bool uniform =
      models::latent_distribution(o.arch()) == models::LatentDistribution::kUniform;
  module.register_attribute("z_size", c10::IntType::get(), o.z_size());
  module.register_attribute("latent", c10::StringType::get(),
                            std::string(uniform ? "uniform(-1, 1)" : "normal(0, 1)"));
  register_tensors(module, *generator);

  const Source s(module);
  const int64_t z = o.z_size();
  const int64_t first_width = generator->t_convs[1]->options.in_channels();
  // The same layers in the same order as GeneratorImpl::forward.
  std::string forward = "def forward(self, z: Tensor) -> Tensor:\n";
  if (o.arch() == Arch::kNotebook) {
    forward += "    x = torch.linear(z.reshape(" + ints({-1, z}) + "), self.fc_weight, " +
               s.tensor("fc", "bias") + ").view(" + ints({-1, first_width, 4, 4}) + ")\n";
  } else {
    forward += "    x = torch.conv_transpose2d(z.reshape(" + ints({-1, z, 1, 1}) +
               "), self.t_conv0_weight, " + s.tensor("t_conv0", "bias") + ", " + ints({1, 1}) +
               ", " + ints({0, 0}) + ")\n";
    forward += s.batch_norm("bn0", generator->bns[0]);
    forward += "    x = torch.relu(x)\n";
  }
  const size_t last = generator->t_convs.size() - 1;
  for (size_t i = 1; i <= last; ++i) {
    const auto n = std::to_string(i);
    forward += "    x = torch.conv_transpose2d(x, self.t_conv" + n + "_weight, " +
               s.tensor("t_conv" + n, "bias") + ", " + ints({2, 2}) + ", " + ints({1, 1}) + ")\n";
    if (i == last) break;
    forward += s.batch_norm("bn" + n, generator->bns[i]);
    forward += "    x = torch.relu(x)\n";
  }
  forward += "    return torch.tanh(x)\n";
  const auto weight = o.arch() == Arch::kNotebook ? "self.fc_weight" : "self.t_conv0_weight";
  std::string sample = "def sample(self, n: int) -> Tensor:\n";
  sample += std::string("    z = torch.") + (uniform ? "rand" : "randn") + "([n, " +
            std::to_string(z) + "], device=" + weight + ".device)\n";
  if (uniform) sample += "    z = z * 2.0 - 1.0\n";
  sample += "    return self.forward(z)\n";
  module.define(forward + "\n" + sample);
  return module;
}

torch::jit::Module discriminator_module(models::Discriminator& discriminator) {
  const auto& o = discriminator->options();
  torch::jit::Module module("__torch__.dcgan.Discriminator");
  register_common_attributes(module, o.arch(), o.image_size(), o.conv_dim(), o.batch_norm());
  register_tensors(module, *discriminator);

  const Source s(module);
  std::string features = "def features(self, images: Tensor) -> Tensor:\n    x = images\n";
  for (size_t i = 1; i <= discriminator->halvings(); ++i) {
    const auto n = std::to_string(i);
    features += "    x = torch.conv2d(x, self.conv" + n + "_weight, " +
                s.tensor("conv" + n, "bias") + ", " + ints({2, 2}) + ", " + ints({1, 1}) + ")\n";
    features += s.batch_norm("bn" + n, discriminator->bns[i]);
    features += "    x = torch.leaky_relu(x, 0.2)\n";
  }
  features += "    return x.flatten(1)\n";
  std::string forward = "def forward(self, images: Tensor) -> Tensor:\n";
  if (o.arch() == Arch::kNotebook) {
    forward += "    return torch.linear(self.features(images), self.fc_weight, " +
               s.tensor("fc", "bias") + ")\n";
  } else {
    const int64_t width = discriminator->conv_out->options.in_channels();
    forward += "    x = self.features(images).view(" + ints({-1, width, 4, 4}) + ")\n";
    forward += "    return torch.conv2d(x, self.conv_out_weight, " + s.tensor("conv_out", "bias") +
               ").flatten(1)\n";
  }
  const std::string probability =
      "def probability(self, images: Tensor) -> Tensor:\n"
      "    return torch.sigmoid(self.forward(images))\n";
  module.define(features + "\n" + forward + "\n" + probability);
  return module;
}

std::string module_bytes(const torch::jit::Module& module) {
  std::ostringstream out;
  module.save(out);
  return out.str();
}

namespace {

// Copies the module's tensors into a model of the same layers, by attribute name.
void load_tensors(const torch::jit::Module& module, torch::nn::Module& model,
                  const std::string& path) {
  torch::NoGradGuard no_grad;
  for (const auto& layer : model.named_children()) {
    auto copy = [&](const std::string& name, torch::Tensor& into) {
      const auto attribute = attribute_name(layer.key(), name);
      if (!module.hasattr(attribute) || !module.attr(attribute).isTensor())
        throw InputError(path + ": TorchScript module exported by dcgan lacks tensor '" +
                         attribute + "'");
      const auto tensor = module.attr(attribute).toTensor();
      if (tensor.sizes() != into.sizes())
        throw InputError(path + ": tensor '" + attribute + "' has the wrong shape");
      into.copy_(tensor);
    };
    for (auto& p : layer.value()->named_parameters(/*recurse=*/false)) copy(p.key(), p.value());
    for (auto& b : layer.value()->named_buffers(/*recurse=*/false)) {
      if (!is_training_state(b.key())) copy(b.key(), b.value());
    }
  }
}

// A module `dcgan export --format torchscript` wrote, back in the state_dict layout of its arch.
serialization::TensorDict exported_module_state(const torch::jit::Module& module, const std::string& path) {
  if (module.attr("dcgan_export_version").toInt() > kTorchScriptExportVersion)
    throw InputError(path + ": exported by a newer dcgan; import it with that dcgan");
  const auto arch = models::parse_arch(module.attr("arch").toStringRef());
  const auto image_size = module.attr("image_size").toInt();
  const auto conv_dim = module.attr("conv_dim").toInt();
  const auto batch_norm = module.attr("batch_norm").toBool();
  models::check_image_size(image_size);
  if (module.hasattr("z_size")) {
    models::Generator generator(models::GeneratorOptions(module.attr("z_size").toInt(), conv_dim)
                                    .image_size(image_size)
                                    .arch(arch)
                                    .batch_norm(batch_norm));
    load_tensors(module, *generator, path);
    return pytorch_state_dict(generator);
  }
  models::Discriminator discriminator(models::DiscriminatorOptions(conv_dim)
                                          .image_size(image_size)
                                          .arch(arch)
                                          .batch_norm(batch_norm));
  load_tensors(module, *discriminator, path);
  return pytorch_state_dict(discriminator);
}

}  // namespace

serialization::TensorDict torchscript_state(const std::string& path) {
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, torch::kCPU);
  } catch (const c10::Error& e) {
    throw InputError(path + ": is a TorchScript archive this LibTorch cannot load (" +
                     first_line(e.what_without_backtrace()) +
                     "); in Python save its state_dict instead: torch.save(torch.jit.load(path)"
                     ".state_dict(), 'G.pt')");
  }
  if (module.hasattr("dcgan_export_version")) {
    try {
      return exported_module_state(module, path);
    } catch (const c10::Error& e) {
      throw InputError(path + ": TorchScript module exported by dcgan is damaged (" +
                       first_line(e.what_without_backtrace()) + ")");
    }
  }
  // Recursive names ("t_conv1.0.weight"), as the scripted module's state_dict() gives them.
  serialization::TensorDict state;
  for (const auto& p : module.named_parameters()) state.emplace_back(p.name, p.value);
  for (const auto& b : module.named_buffers()) state.emplace_back(b.name, b.value);
  return state;
}

}  // namespace dcgan::interop
