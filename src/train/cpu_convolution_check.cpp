#include "dcgan/train/cpu_convolution_check.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <mutex>
#include <sstream>
#include <vector>

namespace dcgan::train {
namespace {

struct ProbeShape {
  const char* name;
  bool transposed;
  std::vector<int64_t> input, weight;
  int64_t stride, padding;
};

// Shapes that came out wrong on Debian 13's LibTorch 2.6 (AMD EPYC, AVX-512), on 1 or 2 threads:
// few input channels (the gradient reaching a 3-channel image), 1x1 inputs of a transposed
// convolution, and the layers of the DCGANs themselves.
const std::vector<ProbeShape>& probe_shapes() {
  static const std::vector<ProbeShape> shapes = {
      {"conv 2->24 3x3 on 16x16", false, {3, 2, 16, 16}, {24, 2, 3, 3}, 1, 1},
      {"conv 4->12 3x3 on 8x8", false, {3, 4, 8, 8}, {12, 4, 3, 3}, 1, 1},
      {"conv 3->32 4x4/2 on 32x32", false, {3, 3, 32, 32}, {32, 3, 4, 4}, 2, 1},
      {"transposed conv 5->2 4x4/2 on 1x1", true, {3, 5, 1, 1}, {5, 2, 4, 4}, 2, 1},
      {"transposed conv 100->64 4x4/1 on 1x1", true, {3, 100, 1, 1}, {100, 64, 4, 4}, 1, 0},
      {"transposed conv 32->3 4x4/2 on 16x16", true, {3, 32, 16, 16}, {32, 3, 4, 4}, 2, 1},
  };
  return shapes;
}

// Output, input gradient and weight gradient of one convolution in the input's dtype.
std::vector<torch::Tensor> convolution_and_gradients(const ProbeShape& shape, torch::Tensor input,
                                                     torch::Tensor weight,
                                                     const torch::Tensor& output_grad) {
  input.requires_grad_(true);
  weight.requires_grad_(true);
  const auto output =
      shape.transposed
          ? torch::conv_transpose2d(input, weight, {}, shape.stride, shape.padding)
          : torch::conv2d(input, weight, {}, shape.stride, shape.padding);
  auto grads = torch::autograd::grad({output}, {input, weight}, {output_grad.to(output.dtype())});
  return {output.detach(), grads[0], grads[1]};
}

}  // namespace

CpuConvolutionCheck check_cpu_convolutions(const PlantedConvolutionFault& fault) {
  torch::AutoGradMode grad_mode(true);
  // Its own generator: the run's random stream must not depend on whether the check ran.
  auto generator = at::detail::createCPUGenerator(20261130);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  static const char* const tensor_names[] = {"output", "input gradient", "weight gradient"};
  CpuConvolutionCheck check;
  for (const auto& shape : probe_shapes()) {
    const auto input = torch::randn(shape.input, generator, f64);
    const auto weight = torch::randn(shape.weight, generator, f64);
    const auto reference_output = shape.transposed
                                      ? torch::conv_transpose2d(input, weight, {}, shape.stride,
                                                                shape.padding)
                                      : torch::conv2d(input, weight, {}, shape.stride, shape.padding);
    const auto output_grad = torch::randn(reference_output.sizes(), generator, f64);
    const auto exact = convolution_and_gradients(shape, input.clone(), weight.clone(), output_grad);
    auto single = convolution_and_gradients(shape, input.to(torch::kFloat32),
                                            weight.to(torch::kFloat32), output_grad);
    for (size_t i = 0; i < exact.size(); ++i) {
      const double scale = 1 + exact[i].abs().max().item<double>();
      if (i == 0 && &shape == &probe_shapes().front()) {
        auto first = single[0].view(-1)[0];
        if (fault.nan) first.fill_(std::numeric_limits<float>::quiet_NaN());
        if (fault.relative_error != 0) first.add_(fault.relative_error * scale);
      }
      // NaN counts as infinitely wrong.
      double error = (single[i].to(torch::kFloat64) - exact[i]).abs().max().item<double>();
      if (std::isnan(error)) error = std::numeric_limits<double>::infinity();
      if (error > kCpuConvolutionTolerance * scale) check.passed = false;
      if (error > check.worst_error) {
        check.worst_error = error;
        check.worst_case = std::string(shape.name) + ", " + tensor_names[i];
      }
    }
  }
  return check;
}

std::optional<std::string> act_on_cpu_convolution_check(const CpuConvolutionCheck& check) {
  if (check.passed) return std::nullopt;
  at::globalContext().setUserEnabledMkldnn(false);
  std::ostringstream message;
  message << "this LibTorch's oneDNN computes some float32 CPU convolutions wrongly (error "
          << check.worst_error << " in " << check.worst_case
          << ", against float64); oneDNN is off for this run, so CPU training is correct but "
             "several times slower. A LibTorch from pytorch.org, which bundles its own oneDNN, "
             "does not need this";
  return message.str();
}

std::optional<std::string> guard_cpu_convolutions() {
  static std::once_flag once;
  static std::optional<std::string> warning;
  std::call_once(once, [] {
    auto& context = at::globalContext();
    if (!context.userEnabledMkldnn()) return;
    warning = act_on_cpu_convolution_check(check_cpu_convolutions());
  });
  return warning;
}

}  // namespace dcgan::train
