#include "dcgan/util/version.h"

#include <torch/torch.h>
#include <torch/version.h>

namespace dcgan {

std::string version() {
  return DCGAN_VERSION;
}

std::string torch_version() {
  return TORCH_VERSION;
}

bool cuda_available() {
  return torch::cuda::is_available();
}

std::string version_report() {
  std::string cuda =
      cuda_available() ? "available, " + std::to_string(torch::cuda::device_count()) + " device(s)"
                       : "not available";
  return "dcgan " + version() + " (LibTorch " + torch_version() + ", CUDA: " + cuda + ")";
}

}  // namespace dcgan

#include <matio.h>
#include <spdlog/version.h>

namespace dcgan {

nlohmann::json library_versions() {
  int major = 0, minor = 0, patch = 0;
  Mat_GetLibraryVersion(&major, &minor, &patch);
  return {
      {"dcgan", version()},
      {"libtorch", torch_version()},
      {"matio", std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch)},
      {"spdlog", std::to_string(SPDLOG_VER_MAJOR) + "." + std::to_string(SPDLOG_VER_MINOR) + "." +
                     std::to_string(SPDLOG_VER_PATCH)},
      {"nlohmann_json", std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." +
                            std::to_string(NLOHMANN_JSON_VERSION_MINOR) + "." +
                            std::to_string(NLOHMANN_JSON_VERSION_PATCH)}};
}

}  // namespace dcgan
