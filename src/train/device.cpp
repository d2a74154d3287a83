#include "dcgan/train/device.h"

#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <spdlog/spdlog.h>

#include <regex>
#include <thread>

#include "dcgan/train/cpu_convolution_check.h"
#include "dcgan/util/errors.h"
#include "dcgan/util/version.h"

namespace dcgan::train {

std::optional<torch::Device> parse_device_name(const std::string& name) {
  if (name == "auto") return std::nullopt;
  if (name == "cpu") return torch::Device(torch::kCPU);
  static const std::regex cuda_pattern("cuda(:([0-9]{1,3}))?");
  std::smatch match;
  if (!std::regex_match(name, match, cuda_pattern)) {
    throw InputError("--device must be auto, cpu, cuda or cuda:N, got '" + name + "'");
  }
  const int index = match[2].matched ? std::stoi(match[2].str()) : -1;
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

torch::Device resolve_device(const std::string& name) {
  const auto parsed = parse_device_name(name);
  const bool cuda = torch::cuda::is_available();
  if (!parsed) return cuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (parsed->is_cpu()) return *parsed;
  if (!cuda) {
    throw InputError("--device " + name + ": CUDA is not available (no GPU, or LibTorch " +
                     torch_version() + " built without CUDA); use --device cpu");
  }
  const int64_t index = parsed->has_index() ? parsed->index() : 0;
  const int64_t count = static_cast<int64_t>(torch::cuda::device_count());
  if (index >= count) {
    throw InputError("--device " + name + ": only " + std::to_string(count) +
                     " CUDA device(s) present");
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

int64_t cpu_threads(int64_t requested) {
  if (requested > 0) return requested;
  // Debian's LibTorch starts with one OpenMP thread; a 2-core machine trains ~1.6x faster with two.
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    const int64_t n = std::atoll(env);
    if (n > 0) return n;
  }
  return std::max<int64_t>(1, std::thread::hardware_concurrency());
}

torch::Device set_up_device(const std::string& device_name, int64_t threads) {
  const auto device = resolve_device(device_name);
  torch::set_num_threads(static_cast<int>(cpu_threads(threads)));
  // After the threads are set: the wrong results depend on them.
  if (const auto warning = guard_cpu_convolutions()) spdlog::warn("{}", *warning);
  if (device.is_cuda()) {
    // --device cuda:N made current: the calls that take no device (synchronize, events, new
    // streams, graph capture) otherwise act on GPU 0. Through the device-guard registry, which the
    // CPU-only LibTorch has too, so this file needs no CUDA headers.
    c10::impl::getDeviceGuardImpl(device.type())->setDevice(device);
    at::globalContext().setBenchmarkCuDNN(true);
  }
  return device;
}

}  // namespace dcgan::train
