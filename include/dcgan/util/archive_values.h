#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace dcgan {

// Small values stored in LibTorch archives (checkpoints, feature nets) as tensors.

inline torch::Tensor int_tensor(int64_t value) {
  return torch::tensor(value, torch::kInt64);
}

// A string as a uint8 tensor, and back.
inline torch::Tensor string_tensor(const std::string& s) {
  return torch::from_blob(const_cast<char*>(s.data()), {static_cast<int64_t>(s.size())},
                          torch::kUInt8)
      .clone();
}

inline std::string tensor_string(const torch::Tensor& t) {
  const auto c = t.contiguous();
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()),
                     static_cast<size_t>(c.numel()));
}

// The first line of a LibTorch error, without its C++ backtrace.
inline std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

}  // namespace dcgan
