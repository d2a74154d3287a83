#pragma once

#include <string>

#include "dcgan/interop/torch_file.h"
#include "dcgan/models/discriminator.h"
#include "dcgan/models/generator.h"

namespace dcgan::interop {

// The models' weights and BatchNorm buffers under the notebook's names, in its order. The
// notebook wraps each layer with its BatchNorm in an nn.Sequential, so our t_conv1 and bn1 are its
// t_conv1.0 and t_conv1.1, our conv2 and bn2 its conv2.0 and conv2.1, and so on.
TensorDict notebook_state_dict(models::Generator& generator);
TensorDict notebook_state_dict(models::Discriminator& discriminator);

// The architecture a notebook state_dict describes, read from its tensors' shapes. Throws
// dcgan::InputError naming `source` when the shapes are not those of the notebook's models.
models::GeneratorOptions generator_options(const TensorDict& state, const std::string& source);
models::DiscriminatorOptions discriminator_options(const TensorDict& state,
                                                   const std::string& source);

// Copies a notebook state_dict into a model of the same architecture. Every key must be present
// with the right shape and no other key may be: the error names the key, the shape expected and
// the shape found.
void load_notebook_state_dict(models::Generator& generator, const TensorDict& state,
                              const std::string& source);
void load_notebook_state_dict(models::Discriminator& discriminator, const TensorDict& state,
                              const std::string& source);

}  // namespace dcgan::interop
