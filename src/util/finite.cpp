#include "dcgan/util/finite.h"

#include "dcgan/util/errors.h"

namespace dcgan {

NamedTensors named_tensors(const torch::nn::Module& model, const std::string& prefix) {
  NamedTensors tensors;
  for (const auto& p : model.named_parameters()) tensors.emplace_back(prefix + p.key(), p.value());
  for (const auto& b : model.named_buffers()) tensors.emplace_back(prefix + b.key(), b.value());
  return tensors;
}

void require_finite(const NamedTensors& tensors, const std::string& source,
                    const std::string& advice) {
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined() || !tensor.is_floating_point()) continue;
    const auto bad = (~torch::isfinite(tensor)).sum().item<int64_t>();
    if (bad == 0) continue;
    throw InputError(source + ": tensor '" + name + "' holds " + std::to_string(bad) +
                     " non-finite value" + (bad == 1 ? "" : "s") + " (NaN or Inf) of " +
                     std::to_string(tensor.numel()) + "; " + advice);
  }
}

}  // namespace dcgan
