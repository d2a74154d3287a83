#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "dcgan/train/gan.h"

namespace dcgan::train {

struct StepOptions {
  bool smooth_labels = false;
  Precision precision = Precision::kFp32;
  bool channels_last = false;  // convolution weights and inputs in NHWC (CUDA tensor cores)
  int64_t batch_size = 128;    // the full batch; a static step captures this size
};

// One notebook training step, as the training loop sees it. The loop hands over each epoch's
// shuffled order once and then asks for batches by position in it; it never knows which
// implementation it holds.
class TrainStep {
 public:
  virtual ~TrainStep() = default;

  // `order`: the epoch's permutation of the image indices (int64, any device).
  virtual void start_epoch(const torch::Tensor& order) = 0;

  // Trains on the images at order[first, first + count). The losses stay on the device; a step
  // may reuse their tensors, so read them before the next call.
  virtual StepLosses step(int64_t first, int64_t count) = 0;

  // Makes the Gan's torch::optim::Adam objects current (a step may keep part of their state on the
  // device), so that a checkpoint taken now is complete.
  virtual void sync_optimizer_state() {}

  // "eager", "static" or "graph": recorded in config.json.
  virtual std::string name() const = 0;
};

// The implementations:
// - eager: train_step as written, on CPU or CUDA.
// - static: the same step on fixed buffers with CapturableAdam and autograd::grad, exactly what a
//   CUDA graph captures, run without capture (any device; the CPU tests use it).
// - graph: the static step captured in one CUDA graph and replayed (CUDA, LibTorch 2.x).
enum class StepKind { kEager, kStatic, kGraph };

// The batch at positions [first, first + count) of an epoch's `order`: those images and, when
// labels are given, theirs (picked by the same indices: a label never leaves its image).
struct Batch {
  torch::Tensor images, labels;
};
Batch pick_batch(const torch::Tensor& images, const torch::Tensor& labels,
                 const torch::Tensor& order, int64_t first, int64_t count);

// Whether this build has the CUDA-graph step (LibTorch 2.x with CUDA).
bool cuda_graphs_available();

// --step: auto (graph on CUDA when this build has it, else eager), eager, graph. InputError when
// graph is asked for where it can't run.
StepKind resolve_step_kind(const std::string& name, torch::Device device);

// `images`: the whole dataset, uint8 N x 3 x 32 x 32 on the training device; `labels`: their class
// indices (int64, N, same device) for a conditional GAN, undefined otherwise.
// Converts the models to channels_last first when options ask for it.
std::unique_ptr<TrainStep> make_train_step(StepKind kind, Gan& gan, torch::Tensor images,
                                           const StepOptions& options, torch::Tensor labels = {});

// Puts the convolution weights of both networks in channels_last (NHWC) layout.
void use_channels_last(Gan& gan);

}  // namespace dcgan::train
