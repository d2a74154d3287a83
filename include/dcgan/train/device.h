#pragma once

#include <torch/torch.h>

#include <optional>
#include <string>

namespace dcgan::train {

// --device as written: nullopt for auto, else the device type and index (-1: none given).
// InputError unless it is auto, cpu, cuda or cuda:N.
std::optional<torch::Device> parse_device_name(const std::string& name);

// Device from --device: auto (CUDA when available), cpu, cuda, cuda:N. InputError when CUDA is
// asked for but not available.
torch::Device resolve_device(const std::string& name);

// CPU threads for --threads: the number given, else OMP_NUM_THREADS, else every core.
int64_t cpu_threads(int64_t requested);

// Everything about the machine a run (or dcgan_bench) sets once: the device, the CPU threads, a
// check that the CPU convolutions are right (see cpu_convolution_check.h), and on CUDA the device made current and cuDNN's benchmark mode (it times the convolution algorithms
// once per shape and keeps the fastest).
torch::Device set_up_device(const std::string& device_name, int64_t threads);

}  // namespace dcgan::train
