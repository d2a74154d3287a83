#include "dcgan/util/version.h"

#include <torch/torch.h>
#include <torch/version.h>

namespace dcgan {

std::string version() { return DCGAN_VERSION; }

std::string torch_version() { return TORCH_VERSION; }

bool cuda_available() { return torch::cuda::is_available(); }

std::string version_report() {
  std::string cuda = cuda_available() ? "available, " + std::to_string(torch::cuda::device_count()) + " device(s)"
                                      : "not available";
  return "dcgan " + version() + " (LibTorch " + torch_version() + ", CUDA: " + cuda + ")";
}

}  // namespace dcgan
