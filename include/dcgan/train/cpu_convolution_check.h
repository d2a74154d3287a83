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
CpuConvolutionCheck check_cpu_convolutions();

// Runs the check once per process (with the threads set by then). When it fails, oneDNN is turned
// off for the rest of the process, so LibTorch's own (slower, correct) kernels run, and the
// warning to show is returned. nullopt: oneDNN is absent, off already, or correct.
std::optional<std::string> guard_cpu_convolutions();

}  // namespace dcgan::train
