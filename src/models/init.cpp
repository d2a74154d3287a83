#include "dcgan/models/init.h"

#include "dcgan/util/errors.h"

namespace dcgan::models {

WeightsInit parse_weights_init(const std::string& name) {
  if (name == "default") return WeightsInit::kDefault;
  if (name == "normal") return WeightsInit::kNormal;
  throw InputError("--weights-init: unknown value '" + name + "', expected default or normal");
}

std::string to_string(WeightsInit init) {
  return init == WeightsInit::kNormal ? "normal" : "default";
}

void apply_weights_init(torch::nn::Module& module, WeightsInit init) {
  if (init == WeightsInit::kDefault) return;  // layers are already initialised by their reset()
  torch::NoGradGuard no_grad;
  for (auto& child : module.modules(/*include_self=*/false)) {
    const bool conv_like = child->as<torch::nn::Conv2d>() ||
                           child->as<torch::nn::ConvTranspose2d>() ||
                           child->as<torch::nn::Linear>();
    if (conv_like) {
      child->named_parameters(false)["weight"].normal_(0.0, 0.02);
      if (auto* bias = child->named_parameters(false).find("bias")) bias->zero_();
    } else if (child->as<torch::nn::BatchNorm2d>()) {
      child->named_parameters(false)["weight"].normal_(1.0, 0.02);
      child->named_parameters(false)["bias"].zero_();
    }
  }
}

}  // namespace dcgan::models
