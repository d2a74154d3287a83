#include "dcgan/train/cuda_graph_step.h"

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#include <torch/cuda.h>

namespace dcgan::train {
namespace {

constexpr int kWarmupSteps = 3;

// After an exception inside a capture: ends it as PyTorch's torch.cuda.graph does (capture_end),
// and if the stream is still capturing after that (capture_end threw first), ends it directly.
// The partial graph is discarded. Errors here are dropped: the caller rethrows the first one.
void end_failed_capture(at::cuda::CUDAGraph& graph) {
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream().stream();
  try {
    graph.capture_end();
  } catch (const std::exception&) {
  }
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(stream, &status) == cudaSuccess &&
      status != cudaStreamCaptureStatusNone) {
    cudaGraph_t partial = nullptr;
    if (cudaStreamEndCapture(stream, &partial) == cudaSuccess && partial != nullptr) {
      cudaGraphDestroy(partial);
    }
  }
  try {
    graph.reset();
  } catch (const std::exception&) {
  }
  // A failed capture leaves its (non-sticky) error to be reported by the next unrelated call.
  (void)cudaGetLastError();
}

}  // namespace

void capture_graph(at::cuda::CUDAGraph& graph, const std::function<void()>& work) {
  try {
    graph.capture_begin();
    work();
    graph.capture_end();
  } catch (...) {
    end_failed_capture(graph);
    throw;
  }
}

CudaGraphStep::CudaGraphStep(Gan& gan, torch::Tensor images, const StepOptions& options,
                             torch::Tensor labels)
    : StaticStep(gan, std::move(images), options, std::move(labels)) {
  TORCH_CHECK(images_.is_cuda(), "CudaGraphStep: the dataset must be on a CUDA device");
  const c10::cuda::CUDAGuard on_device(images_.device());
  const auto device_options = images_.options();
  index_ = torch::zeros({options_.batch_size}, device_options.dtype(torch::kInt64));
  z_ = torch::zeros({2, options_.batch_size, gan_.options.z_size},
                    device_options.dtype(torch::kFloat32));
  const auto pinned = torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(true);
  for (auto& staged : staged_z_) staged = torch::empty(z_.sizes(), pinned);
  if (gan_.options.augment.enabled()) {
    augment_ = torch::zeros({3, options_.batch_size, kAugmentUniforms},
                            device_options.dtype(torch::kFloat32));
    for (auto& staged : staged_augment_) staged = torch::empty(augment_.sizes(), pinned);
  }
  if (gan_.options.conditional()) {
    classes_ = torch::zeros({2, options_.batch_size}, device_options.dtype(torch::kInt64));
    for (auto& staged : staged_classes_)
      staged = torch::empty(classes_.sizes(), pinned.dtype(torch::kInt64));
  }
}

StepNoise CudaGraphStep::noise_buffers() const {
  StepNoise noise;
  noise.z_for_d = z_[0];
  noise.z_for_g = z_[1];
  if (augment_.defined()) {
    noise.augment_real = augment_[0];
    noise.augment_fake_for_d = augment_[1];
    noise.augment_fake_for_g = augment_[2];
  }
  if (classes_.defined()) {
    noise.labels_for_d = classes_[0];
    noise.labels_for_g = classes_[1];
  }
  return noise;
}

void CudaGraphStep::capture() {
  const auto device = images_.device();
  // Warm-up steps set up cuDNN (benchmark picks), cuBLAS and the allocator before capture; they
  // train, so the state they change is saved first and put back after.
  std::vector<torch::Tensor> state = d_adam_.state_tensors();
  for (const auto& t : g_adam_.state_tensors()) state.push_back(t);
  for (const auto& t : gan_.discriminator->buffers()) state.push_back(t);
  for (const auto& t : gan_.generator->buffers()) state.push_back(t);
  if (!gan_.g_ema.is_empty()) {
    for (const auto& t : gan_.g_ema->parameters()) state.push_back(t);
    for (const auto& t : gan_.g_ema->buffers()) state.push_back(t);
  }
  std::vector<torch::Tensor> saved;
  for (const auto& t : state) saved.push_back(t.detach().clone());

  // The copies above run on this device's current stream: done before the side stream starts.
  torch::cuda::synchronize(device.index());
  const auto side_stream = at::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index());
  {
    c10::cuda::CUDAStreamGuard on_side_stream(side_stream);
    for (int i = 0; i < kWarmupSteps; ++i) compute(index_, noise_buffers());
    {
      torch::NoGradGuard no_grad;
      for (size_t i = 0; i < state.size(); ++i) state[i].detach().copy_(saved[i]);
    }
    side_stream.synchronize();
    graph_ = std::make_unique<at::cuda::CUDAGraph>();
    capture_graph(*graph_, [this] { compute(index_, noise_buffers()); });
  }
  torch::cuda::synchronize(device.index());
  captured_ = true;
}

StepLosses CudaGraphStep::step(int64_t first, int64_t count) {
  const c10::cuda::CUDAGuard on_device(images_.device());
  if (count != options_.batch_size) return StaticStep::step(first, count);
  if (!captured_) capture();
  const size_t slot = static_cast<size_t>(replays_ % 2);
  // The upload that last read this buffer must be done before it is overwritten.
  uploaded_[slot].synchronize();
  // Drawn as the eager step draws them (draw_step_noise), into the slot's pinned buffers.
  const auto noise = draw_step_noise(gan_, count, torch::kCPU);
  auto& staged = staged_z_[slot];
  staged[0].copy_(noise.z_for_d);
  staged[1].copy_(noise.z_for_g);
  z_.copy_(staged, /*non_blocking=*/true);
  if (augment_.defined()) {
    auto& staged_uniforms = staged_augment_[slot];
    staged_uniforms[0].copy_(noise.augment_real);
    staged_uniforms[1].copy_(noise.augment_fake_for_d);
    staged_uniforms[2].copy_(noise.augment_fake_for_g);
    augment_.copy_(staged_uniforms, /*non_blocking=*/true);
  }
  if (classes_.defined()) {
    auto& staged_classes = staged_classes_[slot];
    staged_classes[0].copy_(noise.labels_for_d);
    staged_classes[1].copy_(noise.labels_for_g);
    classes_.copy_(staged_classes, /*non_blocking=*/true);
  }
  uploaded_[slot].record();
  index_.copy_(order_.narrow(0, first, count), /*non_blocking=*/true);
  graph_->replay();
  ++replays_;
  return {d_loss_, g_loss_};
}

}  // namespace dcgan::train
