#include "dcgan/interop/torchscript.h"

#include <functional>
#include <iomanip>
#include <sstream>

#include "dcgan/interop/state_dict_layout.h"
#include "dcgan/models/minibatch_std.h"
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

// Calls visit(attribute, key, tensor, is_parameter, layer) for every parameter and buffer (but the
// training state) of every layer, in PyTorch's order; a sublayer's tensors (a conditional
// BatchNorm's bn, gain and bias) are named after both: bn1_gain_weight.
using TensorVisitor = std::function<void(const std::string&, const std::string&, torch::Tensor&,
                                         bool, torch::nn::Module&)>;

void visit_layer(torch::nn::Module& layer, const std::string& name, const TensorVisitor& visit) {
  for (auto& p : layer.named_parameters(/*recurse=*/false)) {
    if (p.value().defined()) visit(attribute_name(name, p.key()), p.key(), p.value(), true, layer);
  }
  for (auto& b : layer.named_buffers(/*recurse=*/false)) {
    if (b.value().defined() && !is_training_state(b.key()))
      visit(attribute_name(name, b.key()), b.key(), b.value(), false, layer);
  }
  for (const auto& child : layer.named_children())
    visit_layer(*child.value(), attribute_name(name, child.key()), visit);
}

void visit_tensors(torch::nn::Module& model, const TensorVisitor& visit) {
  for (const auto& layer : model.named_children()) visit_layer(*layer.value(), layer.key(), visit);
}

// Copies every layer's parameters and buffers into `module` under their attribute names. A
// spectrally normalised layer gives the weight it computes with, W / sigma.
void register_tensors(torch::jit::Module& module, torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  visit_tensors(model, [&](const std::string& attribute, const std::string& key,
                           torch::Tensor& tensor, bool parameter, torch::nn::Module& layer) {
    if (!parameter) {
      module.register_buffer(attribute, tensor.detach().clone().cpu());
      return;
    }
    auto value = tensor;
    if (key == "weight" && layer.named_buffers(/*recurse=*/false).contains("weight_u"))
      value = models::spectrally_normalized_weight(layer, value, /*update=*/false);
    module.register_parameter(attribute, value.detach().clone().cpu(), /*is_buffer=*/false);
  });
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

// A conditional model's `conditioning` ("projection" or "acgan"), `classes` and `class_names`
// (a list of str; "0".."K-1" when none are given).
void register_class_attributes(torch::jit::Module& module, models::Conditioning conditioning,
                               int64_t classes, const std::vector<std::string>& class_names) {
  if (!class_names.empty() && static_cast<int64_t>(class_names.size()) != classes) {
    throw std::invalid_argument("TorchScript export: " + std::to_string(class_names.size()) +
                                " class names for a model of " + std::to_string(classes) +
                                " classes");
  }
  c10::List<std::string> names;
  for (int64_t k = 0; k < classes; ++k)
    names.push_back(class_names.empty() ? std::to_string(k) : class_names[static_cast<size_t>(k)]);
  module.register_attribute("conditioning", c10::StringType::get(),
                            models::to_string(conditioning));
  module.register_attribute("classes", c10::IntType::get(), classes);
  module.register_attribute("class_names", c10::ListType::ofStrings(), names);
}

// A double as TorchScript reads it back bit for bit.
std::string float_literal(double value) {
  std::ostringstream out;
  out << std::setprecision(17) << std::scientific << value;
  return out.str();
}

// A TorchScript list literal of ints: [1, 2].
std::string ints(std::initializer_list<int64_t> values) {
  std::string out = "[";
  for (const auto v : values) out += (out.size() > 1 ? ", " : "") + std::to_string(v);
  return out + "]";
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

  // Conditional BatchNorm in eval mode: BatchNorm without affine, then the gain and bias of each
  // image's class, as ConditionalBatchNorm2dImpl::forward.
  std::string conditional_batch_norm(const std::string& layer,
                                     const models::ConditionalBatchNorm2d& norm) const {
    if (norm.is_empty()) return "";
    const auto bn = attribute_name(layer, "bn");
    const auto per_class = [&](const std::string& embedding) {
      return "self." + attribute_name(layer, embedding) + "_weight.index_select(0, labels).view(" +
             ints({-1, norm->options().features(), 1, 1}) + ")";
    };
    return "    x = torch.batch_norm(x, None, None, " + tensor(bn, "running_mean") + ", " +
           tensor(bn, "running_var") + ", False, 0.0, " + float_literal(norm->options().eps()) +
           ", True)\n    x = x * " + per_class("gain") + " + " + per_class("bias") + "\n";
  }

 private:
  const torch::jit::Module& module_;
};

}  // namespace

torch::jit::Module generator_module(models::Generator& generator,
                                    const std::vector<std::string>& class_names) {
  const auto& o = generator->options();
  torch::jit::Module module("__torch__.dcgan.Generator");
  register_common_attributes(module, o.arch(), o.image_size(), o.conv_dim(), o.batch_norm());
  const bool uniform =
      models::latent_distribution(o.arch()) == models::LatentDistribution::kUniform;
  module.register_attribute("z_size", c10::IntType::get(), o.z_size());
  module.register_attribute("latent", c10::StringType::get(),
                            std::string(uniform ? "uniform(-1, 1)" : "normal(0, 1)"));
  const bool conditional = generator->conditional();
  const bool acgan = o.conditioning() == models::Conditioning::kAcgan;
  const int64_t classes = o.classes();
  if (conditional) register_class_attributes(module, o.conditioning(), classes, class_names);
  register_tensors(module, *generator);

  const Source s(module);
  const int64_t z = o.z_size();
  // AC-GAN's first layer takes z with the one-hot label after it, as models::with_one_hot.
  const int64_t in = z + (acgan ? classes : 0);
  const int64_t first_width = generator->t_convs[1]->options.in_channels();
  // The same layers in the same order as GeneratorImpl::forward.
  std::string forward = conditional ? "def forward(self, z: Tensor, labels: Tensor) -> Tensor:\n"
                                    : "def forward(self, z: Tensor) -> Tensor:\n";
  if (acgan) {
    forward += "    z = z.reshape(" + ints({-1, z}) + ")\n";
    forward +=
        "    z = torch.cat([z, torch.zeros([z.size(0), " + std::to_string(classes) +
        "], dtype=z.dtype, device=z.device).scatter_(1, labels.reshape([-1, 1]), 1.0)], 1)\n";
  }
  auto norm = [&](size_t i) {
    const auto name = "bn" + std::to_string(i);
    return conditional && !generator->class_bns[i].is_empty()
               ? s.conditional_batch_norm(name, generator->class_bns[i])
               : s.batch_norm(name, generator->bns[i]);
  };
  if (o.arch() == Arch::kNotebook) {
    forward += "    x = torch.linear(z.reshape(" + ints({-1, in}) + "), self.fc_weight, " +
               s.tensor("fc", "bias") + ").view(" + ints({-1, first_width, 4, 4}) + ")\n";
  } else {
    forward += "    x = torch.conv_transpose2d(z.reshape(" + ints({-1, in, 1, 1}) +
               "), self.t_conv0_weight, " + s.tensor("t_conv0", "bias") + ", " + ints({1, 1}) +
               ", " + ints({0, 0}) + ")\n";
    forward += norm(0);
    forward += "    x = torch.relu(x)\n";
  }
  const size_t last = generator->t_convs.size() - 1;
  for (size_t i = 1; i <= last; ++i) {
    const auto n = std::to_string(i);
    forward += "    x = torch.conv_transpose2d(x, self.t_conv" + n + "_weight, " +
               s.tensor("t_conv" + n, "bias") + ", " + ints({2, 2}) + ", " + ints({1, 1}) + ")\n";
    if (i == last) break;
    forward += norm(i);
    forward += "    x = torch.relu(x)\n";
  }
  forward += "    return torch.tanh(x)\n";
  const std::string weight = o.arch() == Arch::kNotebook ? "self.fc_weight" : "self.t_conv0_weight";
  const std::string draw_z = std::string("    z = torch.") + (uniform ? "rand" : "randn") +
                             "([n, " + std::to_string(z) + "], device=" + weight + ".device)\n" +
                             (uniform ? "    z = z * 2.0 - 1.0\n" : "");
  std::string sample = "def sample(self, n: int) -> Tensor:\n" + draw_z;
  if (!conditional) {
    sample += "    return self.forward(z)\n";
    module.define(forward + "\n" + sample);
    return module;
  }
  // Balanced classes: 0, 1, ..., K-1, 0, 1, ...
  sample += "    labels = torch.remainder(torch.arange(n, device=" + weight + ".device), " +
            std::to_string(classes) + ")\n";
  sample += "    return self.forward(z, labels)\n";
  std::string sample_class = "def sample_class(self, n: int, k: int) -> Tensor:\n";
  sample_class += "    assert k >= 0 and k < " + std::to_string(classes) +
                  ", \"sample_class: class \" + str(k) + "
                  "\" is not one of this generator's classes 0-" +
                  std::to_string(classes - 1) + "\"\n";
  sample_class += draw_z;
  sample_class +=
      "    labels = torch.full_like(torch.arange(n, device=" + weight + ".device), k)\n";
  sample_class += "    return self.forward(z, labels)\n";
  module.define(forward + "\n" + sample + "\n" + sample_class);
  return module;
}

torch::jit::Module discriminator_module(models::Discriminator& discriminator,
                                        const std::vector<std::string>& class_names) {
  const auto& o = discriminator->options();
  torch::jit::Module module("__torch__.dcgan.Discriminator");
  register_common_attributes(module, o.arch(), o.image_size(), o.conv_dim(), o.batch_norm());
  const bool conditional = o.conditioning() != models::Conditioning::kNone;
  if (conditional) register_class_attributes(module, o.conditioning(), o.classes(), class_names);
  if (o.minibatch_std() > 0)
    module.register_attribute("minibatch_std", c10::IntType::get(), o.minibatch_std());
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
  const int64_t width = models::feature_widths(o.conv_dim(), o.image_size()).front();  // {W0,4,4}
  // The logit of features h: through models::append_minibatch_std first when D has it.
  std::string logit_of_h;
  std::string judged = "h";
  if (o.minibatch_std() > 0) {
    logit_of_h +=
        "    x = self.features_with_minibatch_std(h.view(" + ints({-1, width, 4, 4}) + "))\n";
    judged = "x";
    features +=
        "\ndef features_with_minibatch_std(self, x: Tensor) -> Tensor:\n"
        "    n = x.size(0)\n"
        "    group = min(self.minibatch_std, n)\n"
        "    while n % group != 0:\n"
        "        group -= 1\n"
        "    grouped = x.float().reshape([group, n // group, x.size(1), x.size(2), x.size(3)])\n"
        "    spread = (grouped.var(0, unbiased=False) + 1e-8).sqrt().mean([1, 2, 3])\n"
        "    std_map = spread.repeat([group]).to(x.dtype).view([n, 1, 1, 1])\n"
        "    return torch.cat([x, std_map.expand([n, 1, x.size(2), x.size(3)])], 1)\n";
  }
  const int64_t judged_width = width + (o.minibatch_std() > 0 ? 1 : 0);
  if (o.arch() == Arch::kNotebook) {
    logit_of_h += "    logit = torch.linear(" + judged + ".flatten(1), self.fc_weight, " +
                  s.tensor("fc", "bias") + ")\n";
  } else {
    logit_of_h += "    logit = torch.conv2d(" + judged + ".view(" + ints({-1, judged_width, 4, 4}) +
                  "), self.conv_out_weight, " + s.tensor("conv_out", "bias") + ").flatten(1)\n";
  }
  if (!conditional) {
    const std::string forward =
        "def forward(self, images: Tensor) -> Tensor:\n"
        "    h = self.features(images)\n" +
        logit_of_h + "    return logit\n";
    const std::string probability =
        "def probability(self, images: Tensor) -> Tensor:\n"
        "    return torch.sigmoid(self.forward(images))\n";
    module.define(features + "\n" + forward + "\n" + probability);
    return module;
  }
  // Conditional: forward(images, labels) for both methods; projection (and acgan with
  // acgan_projection) adds the class term of models::projection_term, acgan's classifier is
  // classify(images).
  std::string forward = "def forward(self, images: Tensor, labels: Tensor) -> Tensor:\n";
  forward += "    h = self.features(images)\n" + logit_of_h;
  if (!discriminator->embed.is_empty()) {
    forward += "    pooled = h.view(" + ints({-1, width, 4, 4}) + ").sum([2, 3])\n";
    forward +=
        "    logit = logit + (self.embed_weight.index_select(0, labels) * pooled).sum(1, True)\n";
  }
  forward += "    return logit\n";
  std::string more =
      "def probability(self, images: Tensor, labels: Tensor) -> Tensor:\n"
      "    return torch.sigmoid(self.forward(images, labels))\n";
  if (o.conditioning() == models::Conditioning::kAcgan) {
    more +=
        "\ndef classify(self, images: Tensor) -> Tensor:\n"
        "    return torch.linear(self.features(images), self.classifier_weight, " +
        s.tensor("classifier", "bias") + ")\n";
  }
  module.define(features + "\n" + forward + "\n" + more);
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
  visit_tensors(model, [&](const std::string& attribute, const std::string&, torch::Tensor& into,
                           bool, torch::nn::Module&) {
    if (!module.hasattr(attribute) || !module.attr(attribute).isTensor())
      throw InputError(path + ": TorchScript module exported by dcgan lacks tensor '" + attribute +
                       "'");
    const auto tensor = module.attr(attribute).toTensor();
    if (tensor.sizes() != into.sizes())
      throw InputError(path + ": tensor '" + attribute + "' has the wrong shape");
    into.copy_(tensor);
  });
}

// A discriminator's minibatch std group size; a conditional module's conditioning and class names,
// checked against each other.
ExportedAttributes exported_attributes(const torch::jit::Module& module, const std::string& path) {
  ExportedAttributes said;
  if (module.hasattr("minibatch_std")) {
    said.minibatch_std = module.attr("minibatch_std").toInt();
    if (said.minibatch_std < 1 || said.minibatch_std > models::kMaxMinibatchStdGroup)
      throw InputError(path + ": TorchScript module has a minibatch std group size of " +
                       std::to_string(said.minibatch_std));
  }
  if (!module.hasattr("conditioning")) return said;
  const auto name = module.attr("conditioning").toStringRef();
  if (name != "projection" && name != "acgan")
    throw InputError(path + ": TorchScript module has an unknown conditioning '" + name + "'");
  said.conditioning = models::parse_conditioning(name);
  const int64_t count = module.attr("classes").toInt();
  // Held by name: a range-for over attr(...).toListRef() would outlive the IValue holding the list.
  const auto names = module.attr("class_names");
  for (const auto& class_name : names.toListRef())
    said.class_names.push_back(class_name.toStringRef());
  if (count < 2 || count > models::kMaxClasses ||
      static_cast<int64_t>(said.class_names.size()) != count) {
    throw InputError(path + ": TorchScript module says it has " + std::to_string(count) +
                     " classes and names " + std::to_string(said.class_names.size()));
  }
  return said;
}

// A module `dcgan export --format torchscript` wrote, back in the state_dict layout of its arch.
serialization::TensorDict exported_module_state(const torch::jit::Module& module,
                                                const std::string& path, ExportedAttributes& said) {
  if (module.attr("dcgan_export_version").toInt() > kTorchScriptExportVersion)
    throw InputError(path + ": exported by a newer dcgan; import it with that dcgan");
  const auto arch = models::parse_arch(module.attr("arch").toStringRef());
  const auto image_size = module.attr("image_size").toInt();
  const auto conv_dim = module.attr("conv_dim").toInt();
  const auto batch_norm = module.attr("batch_norm").toBool();
  models::check_image_size(image_size);
  said = exported_attributes(module, path);
  const auto count = static_cast<int64_t>(said.class_names.size());
  if (module.hasattr("z_size")) {
    models::Generator generator(models::GeneratorOptions(module.attr("z_size").toInt(), conv_dim)
                                    .image_size(image_size)
                                    .arch(arch)
                                    .batch_norm(batch_norm)
                                    .conditioning(said.conditioning)
                                    .classes(count));
    load_tensors(module, *generator, path);
    return pytorch_state_dict(generator);
  }
  models::Discriminator discriminator(
      models::DiscriminatorOptions(conv_dim)
          .image_size(image_size)
          .arch(arch)
          .batch_norm(batch_norm)
          .minibatch_std(said.minibatch_std)
          .conditioning(said.conditioning)
          .classes(count)
          .acgan_projection(said.conditioning == models::Conditioning::kAcgan &&
                            module.hasattr("embed_weight")));
  load_tensors(module, *discriminator, path);
  return pytorch_state_dict(discriminator);
}

}  // namespace

serialization::TensorDict torchscript_state(const std::string& path,
                                            ExportedAttributes* attributes) {
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
      ExportedAttributes said;
      auto state = exported_module_state(module, path, said);
      if (attributes) *attributes = said;
      return state;
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
