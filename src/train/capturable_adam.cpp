#include "dcgan/train/capturable_adam.h"

#include "dcgan/util/compat.h"

namespace dcgan::train {

CapturableAdam::CapturableAdam(torch::optim::Adam& optimizer) : optimizer_(optimizer) {
  TORCH_CHECK(optimizer.param_groups().size() == 1, "CapturableAdam: one parameter group expected");
  const auto& options =
      static_cast<const torch::optim::AdamOptions&>(optimizer.param_groups()[0].options());
  TORCH_CHECK(options.weight_decay() == 0 && !options.amsgrad(),
              "CapturableAdam: weight decay and amsgrad are not supported");
  lr_ = options.lr();
  beta1_ = std::get<0>(options.betas());
  beta2_ = std::get<1>(options.betas());
  eps_ = options.eps();
  params_ = optimizer.param_groups()[0].params();
  TORCH_CHECK(!params_.empty(), "CapturableAdam: no parameters");
  fused_ = compat::kTorch2 && params_.front().is_cuda();
  for (const auto& p : params_) {
    auto* state = compat::find_adam_state(optimizer, p);
    if (state == nullptr) {
      auto fresh = std::make_unique<torch::optim::AdamParamState>();
      fresh->step(0);
      fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
      fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
      state = fresh.get();
      compat::set_adam_state(optimizer, p, std::move(fresh));
    }
    // Moments laid out like the parameter, which the fused kernel needs (see step()).
    const auto layout = p.suggest_memory_format();
    if (!state->exp_avg().is_contiguous(layout))
      state->exp_avg(state->exp_avg().contiguous(layout));
    if (!state->exp_avg_sq().is_contiguous(layout))
      state->exp_avg_sq(state->exp_avg_sq().contiguous(layout));
    exp_avgs_.push_back(state->exp_avg());
    exp_avg_sqs_.push_back(state->exp_avg_sq());
    steps_.push_back(torch::zeros({}, p.options().dtype(torch::kFloat32)));
  }
  sync_from_optimizer();
}

void CapturableAdam::sync_from_optimizer() {
  for (size_t i = 0; i < params_.size(); ++i) {
    steps_[i].fill_(static_cast<double>(compat::find_adam_state(optimizer_, params_[i])->step()));
  }
}

void CapturableAdam::sync_to_optimizer() {
  for (size_t i = 0; i < params_.size(); ++i) {
    compat::find_adam_state(optimizer_, params_[i])
        ->step(static_cast<int64_t>(steps_[i].item<double>()));
  }
}

std::vector<torch::Tensor> CapturableAdam::state_tensors() const {
  std::vector<torch::Tensor> all = params_;
  all.insert(all.end(), exp_avgs_.begin(), exp_avgs_.end());
  all.insert(all.end(), exp_avg_sqs_.begin(), exp_avg_sqs_.end());
  all.insert(all.end(), steps_.begin(), steps_.end());
  return all;
}

void CapturableAdam::step(const std::vector<torch::Tensor>& grads) {
  TORCH_CHECK(grads.size() == params_.size(), "CapturableAdam: ", params_.size(),
              " gradients expected, got ", grads.size());
  torch::NoGradGuard no_grad;
  at::_foreach_add_(steps_, 1);
  if (fused_) {
    // The fused kernel walks each tensor's memory as a flat array, so a gradient must be laid out
    // like its parameter (channels_last weights); contiguous() is free when it already is.
    std::vector<torch::Tensor> laid_out;
    for (size_t i = 0; i < grads.size(); ++i)
      laid_out.push_back(grads[i].contiguous(params_[i].suggest_memory_format()));
    at::_fused_adam_(params_, laid_out, exp_avgs_, exp_avg_sqs_, /*max_exp_avg_sqs=*/{}, steps_,
                     lr_, beta1_, beta2_, /*weight_decay=*/0.0, eps_, /*amsgrad=*/false,
                     /*maximize=*/false);
    return;
  }
  // torch::optim::Adam's arithmetic, with the bias corrections taken from the device step count
  // (in float64, as the host computes them).
  const auto step = steps_.front().to(torch::kFloat64);
  const auto bias_correction1 = 1 - torch::pow(beta1_, step);
  const auto bias_correction2_sqrt = torch::sqrt(1 - torch::pow(beta2_, step));
  const auto neg_step_size = (-lr_ / bias_correction1).to(torch::kFloat32);
  const auto inv_bias_correction2_sqrt = (1 / bias_correction2_sqrt).to(torch::kFloat32);
  for (size_t i = 0; i < params_.size(); ++i) {
    exp_avgs_[i].mul_(beta1_).add_(grads[i], 1 - beta1_);
    exp_avg_sqs_[i].mul_(beta2_).addcmul_(grads[i], grads[i], 1 - beta2_);
    const auto denom = (exp_avg_sqs_[i].sqrt() * inv_bias_correction2_sqrt).add_(eps_);
    params_[i].addcdiv_(exp_avgs_[i] * neg_step_size, denom);
  }
}

}  // namespace dcgan::train
