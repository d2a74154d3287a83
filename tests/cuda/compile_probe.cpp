// Not built by CMake. scripts/cuda_compile_check.sh compiles it (syntax only) against LibTorch 2.x's
// CUDA headers: it shows that the check reaches the CUDA APIs a graph-captured training step uses,
// until the real CUDA-only sources (src/train/cuda_graph_step.cpp) exist, and keeps doing so after.
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/torch.h>

#include <vector>

#include "dcgan/util/compat.h"

namespace dcgan::cuda_probe {

// One fused Adam update captured into a CUDA graph on a side stream, then replayed.
void capture_and_replay_adam(std::vector<at::Tensor> params, std::vector<at::Tensor> grads,
                             std::vector<at::Tensor> exp_avgs, std::vector<at::Tensor> exp_avg_sqs,
                             std::vector<at::Tensor> steps) {
  const auto side = c10::cuda::getStreamFromPool();
  at::cuda::CUDAGraph graph;
  {
    c10::cuda::CUDAStreamGuard guard(side);
    graph.capture_begin();
    at::_fused_adam_(params, grads, exp_avgs, exp_avg_sqs, /*max_exp_avg_sqs=*/{}, steps,
                     /*lr=*/2e-4, /*beta1=*/0.5, /*beta2=*/0.999, /*weight_decay=*/0.0,
                     /*eps=*/1e-8, /*amsgrad=*/false, /*maximize=*/false);
    graph.capture_end();
  }
  graph.replay();
}

}  // namespace dcgan::cuda_probe
