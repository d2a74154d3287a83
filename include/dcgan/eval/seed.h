#pragma once

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <mutex>

namespace dcgan::eval {

// Seeds the global CPU RNG for one scope and puts its state back afterwards, so that an evaluation
// run from inside training (module init and randperm draw from the global RNG) does not change
// the training run's random stream.
class ScopedSeed {
 public:
  explicit ScopedSeed(uint64_t seed) {
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    saved_ = generator.get_state();
    generator.set_current_seed(seed);
  }
  ~ScopedSeed() {
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(saved_);
  }
  ScopedSeed(const ScopedSeed&) = delete;
  ScopedSeed& operator=(const ScopedSeed&) = delete;

 private:
  torch::Tensor saved_;
};

}  // namespace dcgan::eval
