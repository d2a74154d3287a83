#pragma once

#include <optional>
#include <string>

namespace dcgan::train {

// LibTorch runs float32 CPU convolutions through oneDNN. Debian 13's LibTorch 2.6.0+dfsg-7 runs
// against a newer oneDNN (3.7.2 under the 3.6 soname) than it was built for, and some shapes then
// come out wrong or NaN: a DCGAN's 3-channel layers and the 1x1 -> 4x4 first layer among them.
// The check computes a few such convolutions, with their gradients, in float32 and in float64
// (which never takes the oneDNN path) and compares them.
struct CpuConvolutionCheck {
  bool passed = true;
  double worst_error = 0;  // largest |float32 - float64| over every output and gradient
  std::string worst_case;  // the convolution and the tensor where it was seen
};
// float32 rounding stays near 1e-6 of a tensor's scale (1 + its largest magnitude); an error above
// this share of it is a wrong convolution.
constexpr double kCpuConvolutionTolerance = 1e-3;

// A fault planted in the float32 results, so the tests can see the check fire: `relative_error`
// times the tensor's scale added to the first output element of the first probe, or a NaN there.
struct PlantedConvolutionFault {
  double relative_error = 0;
  bool nan = false;
};
CpuConvolutionCheck check_cpu_convolutions(const PlantedConvolutionFault& fault = {});

// When `check` failed, turns oneDNN off for the rest of the process, so LibTorch's own (slower,
// correct) kernels run, and returns the warning to show; nullopt when it passed.
std::optional<std::string> act_on_cpu_convolution_check(const CpuConvolutionCheck& check);

// Runs the check once per process (with the threads set by then) and acts on it. nullopt: oneDNN
// is absent, off already, or correct.
std::optional<std::string> guard_cpu_convolutions();

}  // namespace dcgan::train
