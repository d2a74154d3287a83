#pragma once

#include <string>

#include "dcgan/models/discriminator.h"
#include "dcgan/models/generator.h"
#include "dcgan/serialization/torch_file.h"

namespace dcgan::interop {

// The models' weights and BatchNorm buffers as PyTorch's own classes name them, in their order,
// chosen by the model's arch:
// - notebook: the DCGAN_Exercise notebook wraps each layer with its BatchNorm in an nn.Sequential,
//   so our t_conv1 and bn1 are its t_conv1.0 and t_conv1.1, our conv2 and bn2 its conv2.0 and
//   conv2.1, and fc is fc;
// - pytorch-examples: pytorch/examples/dcgan/main.py keeps one nn.Sequential `main` with the
//   activations in it: G's t_conv<i> and bn<i> are main.<3i> and main.<3i+1>; D's conv1 is main.0,
//   conv<i> and bn<i> are main.<3i-4> and main.<3i-3>, conv_out is the last.
// A class-conditional model (`dcgan train --conditional`) keeps those keys and adds, as a PyTorch
// user writes it (tests/conditional_reference.py holds such classes):
// - projection: each BatchNorm of G is a ConditionalBatchNorm2d module under the same key, holding
//   `bn` (BatchNorm2d(affine=False): running_mean, running_var, num_batches_tracked), `gain` and
//   `bias` (Embedding(classes, features): gain.weight, bias.weight), e.g. t_conv1.1.gain.weight;
//   D gets `embed.weight` (Embedding(classes, W0)), after fc / conv_out;
// - acgan: G's first layer (fc, or main.0) takes z_size + classes inputs, z then the one-hot
//   label; D gets `classifier.weight` and `classifier.bias` (Linear(W0 * 4 * 4, classes)), and
//   with the projection term (the default; not with --no-acgan-projection) projection's
//   `embed.weight` as well.
// A discriminator with a minibatch standard deviation channel (--minibatch-std) has no more keys:
// its fc (or last conv) takes W0 + 1 channels.
serialization::TensorDict pytorch_state_dict(models::Generator& generator);
serialization::TensorDict pytorch_state_dict(models::Discriminator& discriminator);

// The architecture a state_dict of either layout describes (arch, image size, widths, z size,
// conditioning and class count), read from its keys and its tensors' shapes; a `module.` prefix
// (nn.DataParallel) is ignored. Throws dcgan::InputError naming `source` when it is neither layout
// or not a 3-channel model of a supported size. An AC-GAN generator cannot be told from an
// unconditional one by its keys (see as_acgan_generator).
models::GeneratorOptions generator_options(const serialization::TensorDict& state,
                                           const std::string& source);
models::DiscriminatorOptions discriminator_options(const serialization::TensorDict& state,
                                                   const std::string& source);

// Whether a discriminator's `state` (read as `options`) has the minibatch standard deviation
// channel: its fc or last conv takes W0 + 1 channels. A state_dict does not hold the group size.
bool has_minibatch_std_channel(const serialization::TensorDict& state,
                               const models::DiscriminatorOptions& options);

// An AC-GAN generator's state_dict reads as an unconditional generator whose z is z_size + classes
// long (the one-hot label joins z in its first layer): `options` (read from it) as AC-GAN's, with
// the z that leaves. InputError naming `source` when the options are conditional already or no z
// is left.
models::GeneratorOptions as_acgan_generator(models::GeneratorOptions options, int64_t classes,
                                            const std::string& source);

// Copies a state_dict of the model's layout into it. Every key must be present with the right shape
// and no other key may be: the error names the key, the shape expected and the shape found.
void load_pytorch_state_dict(models::Generator& generator, const serialization::TensorDict& state,
                             const std::string& source);
void load_pytorch_state_dict(models::Discriminator& discriminator,
                             const serialization::TensorDict& state, const std::string& source);

}  // namespace dcgan::interop
