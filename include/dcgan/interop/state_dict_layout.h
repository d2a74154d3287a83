#pragma once

#include <string>

#include "dcgan/serialization/torch_file.h"
#include "dcgan/models/discriminator.h"
#include "dcgan/models/generator.h"

namespace dcgan::interop {

// The models' weights and BatchNorm buffers as PyTorch's own classes name them, in their order,
// chosen by the model's arch:
// - notebook: the DCGAN_Exercise notebook wraps each layer with its BatchNorm in an nn.Sequential,
//   so our t_conv1 and bn1 are its t_conv1.0 and t_conv1.1, our conv2 and bn2 its conv2.0 and
//   conv2.1, and fc is fc;
// - pytorch-examples: pytorch/examples/dcgan/main.py keeps one nn.Sequential `main` with the
//   activations in it: G's t_conv<i> and bn<i> are main.<3i> and main.<3i+1>; D's conv1 is main.0,
//   conv<i> and bn<i> are main.<3i-4> and main.<3i-3>, conv_out is the last.
serialization::TensorDict pytorch_state_dict(models::Generator& generator);
serialization::TensorDict pytorch_state_dict(models::Discriminator& discriminator);

// The architecture a state_dict of either layout describes (arch, image size, widths, z size), read
// from its keys and its tensors' shapes; a `module.` prefix (nn.DataParallel) is ignored. Throws
// dcgan::InputError naming `source` when it is neither layout or not a 3-channel model of a
// supported size.
models::GeneratorOptions generator_options(const serialization::TensorDict& state, const std::string& source);
models::DiscriminatorOptions discriminator_options(const serialization::TensorDict& state,
                                                   const std::string& source);

// Copies a state_dict of the model's layout into it. Every key must be present with the right shape
// and no other key may be: the error names the key, the shape expected and the shape found.
void load_pytorch_state_dict(models::Generator& generator, const serialization::TensorDict& state,
                             const std::string& source);
void load_pytorch_state_dict(models::Discriminator& discriminator, const serialization::TensorDict& state,
                             const std::string& source);

}  // namespace dcgan::interop
