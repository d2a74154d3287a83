#pragma once

// CUDA-only: compiled when LibTorch has CUDA and is 2.x (CMake defines DCGAN_WITH_CUDA_GRAPHS).

#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>

#include <array>
#include <functional>
#include <memory>

#include "dcgan/train/static_step.h"

namespace dcgan::train {

// Captures the CUDA work of `work` into `graph` on the current stream (not the default stream).
// When `work` or the capture throws, the capture is ended and its partial graph discarded before
// the first error is rethrown: a stream left capturing fails the next CUDA call with a capture
// error that hides the first one.
void capture_graph(at::cuda::CUDAGraph& graph, const std::function<void()>& work);

// The whole D + G step captured once in one CUDA graph and replayed for every full batch: one
// launch instead of hundreds, which is what bounds these small networks on a GPU.
//
// Inputs reach the graph through fixed device buffers filled before each replay: the batch's
// indices into the on-device uint8 dataset (a device-to-device copy from the epoch's order), and
// both latent batches. z is drawn on the CPU by sample_z exactly as the eager step draws it, into
// one of two pinned host buffers, and uploaded asynchronously: the CPU fills one buffer while the
// GPU still reads the other, and the run's randomness stays in the CPU generator that checkpoints
// already save. --augment's uniforms and a conditional GAN's classes asked of G travel the same
// way; the real images' labels are gathered on the device with the images. The last, partial
// batch of an epoch runs the same step without capture.
//
// Every call makes the dataset's device current for its duration, so that the calls that take no
// device (synchronize, events, capture) act on that GPU, whichever one `--device cuda:N` named.
class CudaGraphStep : public StaticStep {
 public:
  CudaGraphStep(Gan& gan, torch::Tensor images, const StepOptions& options,
                torch::Tensor labels = {});

  StepLosses step(int64_t first, int64_t count) override;
  std::string name() const override { return "graph"; }

 private:
  void capture();
  // The step's noise as views of the fixed device buffers that the graph reads.
  StepNoise noise_buffers() const;

  std::unique_ptr<at::cuda::CUDAGraph> graph_;  // made at capture, on the dataset's device
  bool captured_ = false;
  torch::Tensor index_;                    // int64 [batch], device
  torch::Tensor z_;                        // float [2, batch, z_size], device: z for D, z for G
  std::array<torch::Tensor, 2> staged_z_;  // pinned host copies of z_, used in turn
  // With --augment: float [3, batch, kAugmentUniforms], device (real, fake for D, fake for G), and
  // its pinned host copies; undefined without.
  torch::Tensor augment_;
  std::array<torch::Tensor, 2> staged_augment_;
  // A conditional GAN: int64 [2, batch], device (classes asked of G in D's step, in G's step), and
  // its pinned host copies; undefined when unconditional.
  torch::Tensor classes_;
  std::array<torch::Tensor, 2> staged_classes_;
  std::array<at::cuda::CUDAEvent, 2> uploaded_;  // recorded after each buffer's upload
  int64_t replays_ = 0;
};

}  // namespace dcgan::train
