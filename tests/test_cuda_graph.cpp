// capture_graph, the exception-safe CUDA graph capture of the graph step: after an exception inside
// a capture the stream is no longer capturing, the error thrown is the first one, and CUDA work
// (a new capture included) runs on. CUDA only (skipped without a GPU or the CUDA-graph build);
// scripts/cuda_compile_check.sh compiles it against LibTorch 2.6's CUDA headers.
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <stdexcept>
#include <string>

#include "dcgan/train/step.h"

#ifdef DCGAN_WITH_CUDA_GRAPHS
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>

#include "dcgan/train/cuda_graph_step.h"
#endif

namespace {

#define REQUIRE_CUDA_GRAPHS()                                                   \
  if (!torch::cuda::is_available() || !dcgan::train::cuda_graphs_available()) { \
    GTEST_SKIP() << "needs a CUDA device and a build with the CUDA-graph step"; \
  }

#ifdef DCGAN_WITH_CUDA_GRAPHS
bool is_capturing(const c10::cuda::CUDAStream& stream) {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusActive;
  EXPECT_EQ(cudaStreamIsCapturing(stream.stream(), &status), cudaSuccess);
  return status != cudaStreamCaptureStatusNone;
}
#endif

TEST(GraphCapture, AnExceptionInsideEndsTheCaptureAndIsRethrown_CUDA) {
  REQUIRE_CUDA_GRAPHS();
#ifdef DCGAN_WITH_CUDA_GRAPHS
  const c10::cuda::CUDAGuard on_device(c10::Device(c10::kCUDA, 0));
  auto x = torch::zeros({16}, torch::Device(torch::kCUDA, 0));
  const auto side = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, 0);
  {
    c10::cuda::CUDAStreamGuard on_side(side);
    at::cuda::CUDAGraph failed;
    try {
      dcgan::train::capture_graph(failed, [&] {
        x.add_(1);
        throw std::runtime_error("planted inside the capture");
      });
      ADD_FAILURE() << "capture_graph did not rethrow";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("planted inside the capture"), std::string::npos)
          << e.what();
    }
    EXPECT_FALSE(is_capturing(side));
    // A new capture on the same stream works, and its replay is the only add that ran.
    at::cuda::CUDAGraph graph;
    dcgan::train::capture_graph(graph, [&] { x.add_(1); });
    graph.replay();
    side.synchronize();
  }
  EXPECT_EQ(x.sum().item<float>(), 16.0f);
#endif
}

TEST(GraphCapture, AHostSyncInsideFailsAndLeavesCudaUsable_CUDA) {
  REQUIRE_CUDA_GRAPHS();
#ifdef DCGAN_WITH_CUDA_GRAPHS
  const c10::cuda::CUDAGuard on_device(c10::Device(c10::kCUDA, 0));
  auto x = torch::zeros({16}, torch::Device(torch::kCUDA, 0));
  const auto side = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, 0);
  {
    c10::cuda::CUDAStreamGuard on_side(side);
    at::cuda::CUDAGraph graph;
    // .item() copies to the host and waits: not allowed while capturing; the capture is invalid.
    EXPECT_ANY_THROW(dcgan::train::capture_graph(graph, [&] {
      x.add_(1);
      (void)x.sum().item<float>();
    }));
    EXPECT_FALSE(is_capturing(side));
  }
  // The next calls see no leftover capture error.
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_EQ(x.add(2).sum().item<float>(), 32.0f);
#endif
}

}  // namespace
