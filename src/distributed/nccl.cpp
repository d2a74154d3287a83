// CUDA builds with c10d's NCCL only (CMake defines DCGAN_WITH_NCCL): the process group of
// data-parallel runs on GPUs. NCCL collectives are enqueued on this rank's GPU and may be captured
// in a CUDA graph (the graph step's gradient all-reduce is).
#include <c10/cuda/CUDAGuard.h>

#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

#include "dcgan/util/errors.h"
#include "process_group_communicator.h"

namespace dcgan::distributed {

std::shared_ptr<Communicator> join_nccl(c10::intrusive_ptr<c10d::Store> store,
                                        const RankEnvironment& env, const JoinOptions& options) {
  TORCH_CHECK(options.device.is_cuda(), "join_nccl: the training device must be a GPU");
  const c10::cuda::CUDAGuard on_device(options.device);
  auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
  nccl_options->timeout = options.timeout;
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> group;
  try {
    group =
        c10::make_intrusive<c10d::ProcessGroupNCCL>(store, env.rank, env.world_size, nccl_options);
  } catch (const std::exception& error) {
    throw InputError("rank " + std::to_string(env.rank) + " could not start NCCL on " +
                     options.device.str() + ": " + detail::first_line(error));
  }
  return std::make_shared<detail::ProcessGroupCommunicator<c10d::ProcessGroupNCCL>>(
      store, group, env, "nccl", options.device, options.timeout);
}

}  // namespace dcgan::distributed
