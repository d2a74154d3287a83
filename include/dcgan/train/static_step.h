#pragma once

#include <torch/torch.h>

#include "dcgan/train/capturable_adam.h"
#include "dcgan/train/step.h"

namespace dcgan::train {

// The notebook step written the way a CUDA graph needs it: the batch is gathered from the
// on-device dataset through an index tensor and scaled inside the step, gradients come from
// autograd::grad (no .grad fields to reset or reallocate), the update from CapturableAdam, and
// the losses land in tensors that stay put. Run as is, it is the eager step's twin on any device;
// CudaGraphStep captures compute() once and replays it. A conditional GAN's labels are gathered
// with their images through the same index tensor.
class StaticStep : public TrainStep {
 public:
  // `labels`: the images' class indices (int64, same device) for a conditional GAN, else undefined.
  StaticStep(Gan& gan, torch::Tensor images, const StepOptions& options,
             torch::Tensor labels = {});

  void start_epoch(const torch::Tensor& order) override;
  StepLosses step(int64_t first, int64_t count) override;
  void sync_optimizer_state() override;
  std::string name() const override { return "static"; }

 protected:
  // One D step and one G step on images_[index] (and labels_[index]) with the step's z,
  // augmentation uniforms and the classes asked of G; writes d_loss_ and g_loss_. Device work
  // only: no host reads, no new parameter tensors.
  void compute(const torch::Tensor& index, const StepNoise& noise);

  Gan& gan_;
  torch::Tensor images_;  // uint8, on the device
  torch::Tensor labels_;  // int64, on the device; undefined when unconditional
  torch::Tensor order_;   // the epoch's order, on the device
  StepOptions options_;
  CapturableAdam d_adam_, g_adam_;
  torch::Tensor d_loss_, g_loss_;  // fp32 scalars, fixed
};

}  // namespace dcgan::train
