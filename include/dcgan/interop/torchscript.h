#pragma once

#include <torch/script.h>

#include <string>
#include <vector>

#include "dcgan/models/discriminator.h"
#include "dcgan/models/generator.h"
#include "dcgan/serialization/torch_file.h"

namespace dcgan::interop {

// Bumped when the exported modules' attributes or methods change.
constexpr int64_t kTorchScriptExportVersion = 1;

// The generator as a self-contained TorchScript module (weights, BatchNorm buffers and the forward
// pass in TorchScript), in eval mode on the CPU: torch.jit.load in Python and torch::jit::load in
// C++ run it with no model code. Its methods:
//   forward(z) -> images: z [N, z_size] (or [N, z_size, 1, 1]) -> [N, 3, S, S] in [-1, 1], as
//                         `dcgan generate` computes them;
//   sample(n)  -> images: n images from z drawn as the run drew it (the `latent` attribute).
// Attributes for its users: arch, image_size, conv_dim, z_size, latent ("uniform(-1, 1)" or
// "normal(0, 1)"), batch_norm and dcgan_export_version. The tensors are named after dcgan's layers
// with '_' for '.': t_conv1_weight, bn1_running_mean, ...
// A class-conditional generator (--conditional) instead has
//   forward(z, labels) -> images: labels [N] int64 class indices;
//   sample(n)          -> images: n images over the classes in turn (0, 1, ..., K-1, 0, ...);
//   sample_class(n, k) -> images: n images of class k;
// and the attributes conditioning ("projection" or "acgan"), classes and class_names (a list of
// str, `class_names` or "0".."K-1" when empty); conditional BatchNorm's tensors are
// bn1_bn_running_mean, bn1_gain_weight, bn1_bias_weight, ...
torch::jit::Module generator_module(models::Generator& generator,
                                    const std::vector<std::string>& class_names = {});

// The discriminator likewise (eval mode; spectrally normalised weights stored as used):
//   forward(images) -> logits [N, 1] (images [N, 3, S, S] in [-1, 1]; the sigmoid is not applied);
//   probability(images) -> sigmoid(forward): how real each image looks;
//   features(images) -> [N, F]: the last feature map before the logit, flattened.
// A conditional one takes the images' classes: forward(images, labels) (projection: with the
// class term; acgan: labels unused) and probability(images, labels); acgan adds
// classify(images) -> class logits [N, classes]. Attributes as the generator's.
torch::jit::Module discriminator_module(models::Discriminator& discriminator,
                                        const std::vector<std::string>& class_names = {});

// torch.jit.save's bytes of `module`.
std::string module_bytes(const torch::jit::Module& module);

// What a module dcgan exported says that its weights cannot: its classes (conditioning kNone for an
// unconditional one or any other file, whose keys must tell), and a discriminator's minibatch
// standard deviation group size (0: none, or not said).
struct ExportedAttributes {
  models::Conditioning conditioning = models::Conditioning::kNone;
  std::vector<std::string> class_names;
  int64_t minibatch_std = 0;
};

// The weights of a TorchScript file, for `dcgan import`, in the layout of a PyTorch state_dict
// (notebook or pytorch-examples keys): a module dcgan exported is rebuilt from its attributes
// (and says its classes in `classes`, when given); any other module (torch.jit.script of the
// notebook's or pytorch/examples' classes) gives its parameters and buffers under their own names,
// which import then matches against the known layouts. Throws dcgan::InputError naming `path` when
// the file cannot be loaded.
serialization::TensorDict torchscript_state(const std::string& path,
                                            ExportedAttributes* attributes = nullptr);

}  // namespace dcgan::interop
