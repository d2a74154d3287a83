#pragma once

// CUDA-only: compiled when LibTorch has CUDA and is 2.x (CMake defines DCGAN_WITH_CUDA_GRAPHS).

#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>

#include <array>

#include "dcgan/train/static_step.h"

namespace dcgan::train {

// The whole D + G step captured once in one CUDA graph and replayed for every full batch: one
// launch instead of hundreds, which is what bounds these small networks on a GPU.
//
// Inputs reach the graph through fixed device buffers filled before each replay: the batch's
// indices into the on-device uint8 dataset (a device-to-device copy from the epoch's order), and
// both latent batches. z is drawn on the CPU by sample_z exactly as the eager step draws it, into
// one of two pinned host buffers, and uploaded asynchronously: the CPU fills one buffer while the
// GPU still reads the other, and the run's randomness stays in the CPU generator that checkpoints
// already save. The last, partial batch of an epoch runs the same step without capture.
class CudaGraphStep : public StaticStep {
 public:
  CudaGraphStep(Gan& gan, torch::Tensor images, const StepOptions& options);

  StepLosses step(int64_t first, int64_t count) override;
  std::string name() const override { return "graph"; }

 private:
  void capture();

  at::cuda::CUDAGraph graph_;
  bool captured_ = false;
  torch::Tensor index_;                    // int64 [batch], device
  torch::Tensor z_;                        // float [2, batch, z_size], device: z for D, z for G
  std::array<torch::Tensor, 2> staged_z_;  // pinned host copies of z_, used in turn
  std::array<at::cuda::CUDAEvent, 2> uploaded_;  // recorded after each buffer's upload
  int64_t replays_ = 0;
};

}  // namespace dcgan::train
