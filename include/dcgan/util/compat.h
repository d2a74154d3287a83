#pragma once
// The one place for differences between the dependency versions we support:
//   Debian 12: LibTorch 1.13, matio 1.5.23, HDF5 1.10
//   Debian 13 and pytorch.org: LibTorch 2.x (2.6 on Debian 13), matio 1.5.28, HDF5 1.14
// Rules for adding to it:
// - Prefer deducing the difference from the declaration itself (decltype, traits) over version
//   macros: Debian patches its packages, and a deduced type can't name the wrong version.
// - Where a version macro is unavoidable, use TORCH_VERSION_MAJOR/MINOR from <torch/version.h>
//   here and nowhere else.
// - One short section per difference: what changed and in which version, then the helper.
// - Header-only and cheap: code outside this file calls the helpers and never branches on versions.

#include <torch/optim/adam.h>
#include <torch/types.h>

#include <sstream>
#include <string>
#include <type_traits>

namespace dcgan::compat {

// --- LibTorch: the key of torch::optim::Optimizer::state() --------------------------------------
// 1.13 keys a parameter's state by the address of its TensorImpl printed as a string
// (c10::guts::to_string, gone in 2.x); 2.x keys it by the address itself (void*).

/// The key under which `Optimizer::state()` (a map of type `StateMap`) holds `param`'s state.
template <typename StateMap>
typename StateMap::key_type optimizer_state_key(const torch::Tensor& param) {
  using Key = typename StateMap::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream address;
    address << param.unsafeGetTensorImpl();
    return address.str();
  } else {
    return static_cast<Key>(param.unsafeGetTensorImpl());
  }
}

/// The Adam state (step, moments) `optimizer` holds for `param`; throws std::out_of_range when
/// it holds none yet (before the first step).
inline const torch::optim::AdamParamState& adam_state(const torch::optim::Adam& optimizer,
                                                      const torch::Tensor& param) {
  const auto& state = optimizer.state();
  const auto key = optimizer_state_key<std::decay_t<decltype(state)>>(param);
  return static_cast<const torch::optim::AdamParamState&>(*state.at(key));
}

// --- matio: the message type of the log callback -------------------------------------------------
// Mat_LogInitFunc takes `void (*)(int level, char* message)` in matio 1.5.23 and
// `void (*)(int level, const char* message)` in newer releases (1.5.28 in Debian 13). Deduced
// from the declaration, so this header needs no matio include and no configure check:
//   void log(int level, compat::MatioLogMessage<decltype(&Mat_LogInitFunc)> message);

template <typename LogInitFunc>
struct matio_log_message;
template <typename Result, typename Name, typename Message>
struct matio_log_message<Result (*)(Name, void (*)(int, Message))> {
  using type = Message;
};

/// `char*` or `const char*`: the message parameter type of `LogInitFunc`'s callback.
template <typename LogInitFunc>
using MatioLogMessage = typename matio_log_message<LogInitFunc>::type;

}  // namespace dcgan::compat
