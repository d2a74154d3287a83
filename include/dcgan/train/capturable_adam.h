#pragma once

#include <torch/torch.h>

#include <vector>

namespace dcgan::train {

// Adam whose update is device work only, so it can be captured in a CUDA graph and replayed:
// the step count lives in a device tensor and the bias corrections are computed from it on the
// device, instead of on the host as torch::optim::Adam does (a captured host value would freeze).
//
// It works on the state of an existing torch::optim::Adam: its exp_avg and exp_avg_sq tensors
// are updated in place (created, zero, when that optimizer has not stepped yet), and
// sync_to_optimizer() writes the step count back. A checkpoint of that optimizer therefore holds
// this one's state, and either can continue where the other stopped.
class CapturableAdam {
 public:
  // `optimizer`'s parameters and options (lr, betas, eps; no weight decay) are used.
  explicit CapturableAdam(torch::optim::Adam& optimizer);

  // One Adam update of every parameter with `grads` (same order as the parameters). On CUDA with
  // LibTorch 2.x it is one fused kernel; elsewhere a few element-wise ops per parameter.
  void step(const std::vector<torch::Tensor>& grads);

  // Copies the step count into the wrapped torch::optim::Adam (reads the device: a sync).
  void sync_to_optimizer();

  // Re-reads the step count from the wrapped optimizer (after it was stepped or loaded).
  void sync_from_optimizer();

  const std::vector<torch::Tensor>& parameters() const { return params_; }
  // Every tensor the update changes (parameters, moments, step counts), for snapshots.
  std::vector<torch::Tensor> state_tensors() const;

 private:
  torch::optim::Adam& optimizer_;
  double lr_, beta1_, beta2_, eps_;
  bool fused_;
  std::vector<torch::Tensor> params_, exp_avgs_, exp_avg_sqs_;
  // One float32 step count per parameter, as PyTorch's capturable Adam keeps it; all equal.
  std::vector<torch::Tensor> steps_;
};

}  // namespace dcgan::train
