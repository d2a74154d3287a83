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

#include <ATen/autocast_mode.h>
#include <c10/util/Logging.h>
#include <torch/optim/adam.h>
#include <torch/types.h>
#include <torch/version.h>

#include <memory>
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

/// The Adam state `optimizer` holds for `param` to update in place, or nullptr before the first
/// step (CapturableAdam shares it).
inline torch::optim::AdamParamState* find_adam_state(torch::optim::Adam& optimizer,
                                                     const torch::Tensor& param) {
  auto& state = optimizer.state();
  const auto found = state.find(optimizer_state_key<std::decay_t<decltype(state)>>(param));
  return found == state.end() ? nullptr
                              : static_cast<torch::optim::AdamParamState*>(found->second.get());
}

/// Installs `param_state` as `optimizer`'s Adam state for `param` (replacing any).
inline void set_adam_state(torch::optim::Adam& optimizer, const torch::Tensor& param,
                           std::unique_ptr<torch::optim::AdamParamState> param_state) {
  auto& state = optimizer.state();
  state[optimizer_state_key<std::decay_t<decltype(state)>>(param)] = std::move(param_state);
}

// --- LibTorch: autocast on CUDA -----------------------------------------------------------------
// 2.4 made autocast per device type (set_autocast_enabled(kCUDA, on), set_autocast_dtype) and
// deprecated 1.13's CUDA-only set_enabled / set_autocast_gpu_dtype. A version macro: the old
// names still exist in 2.x, only deprecated (a warning we build without).

/// bf16 autocast on CUDA while alive, with the cast cache off: cached casts of the weights would
/// go stale inside a captured CUDA graph, whose replays update the weights in place.
class CudaAutocastGuard {
 public:
  explicit CudaAutocastGuard(bool enable) : enable_(enable) {
    if (!enable_) return;
    was_enabled_ = is_enabled();
    was_dtype_ = dtype();
    was_caching_ = at::autocast::is_autocast_cache_enabled();
    set(true, at::kBFloat16);
    at::autocast::set_autocast_cache_enabled(false);
  }
  ~CudaAutocastGuard() {
    if (!enable_) return;
    set(was_enabled_, was_dtype_);
    at::autocast::set_autocast_cache_enabled(was_caching_);
  }
  CudaAutocastGuard(const CudaAutocastGuard&) = delete;
  CudaAutocastGuard& operator=(const CudaAutocastGuard&) = delete;

 private:
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  static bool is_enabled() {
    return at::autocast::is_autocast_enabled(at::kCUDA);
  }
  static at::ScalarType dtype() {
    return at::autocast::get_autocast_dtype(at::kCUDA);
  }
  static void set(bool on, at::ScalarType type) {
    at::autocast::set_autocast_dtype(at::kCUDA, type);
    at::autocast::set_autocast_enabled(at::kCUDA, on);
  }
#else
  static bool is_enabled() {
    return at::autocast::is_enabled();
  }
  static at::ScalarType dtype() {
    return at::autocast::get_autocast_gpu_dtype();
  }
  static void set(bool on, at::ScalarType type) {
    at::autocast::set_autocast_gpu_dtype(type);
    at::autocast::set_enabled(on);
  }
#endif
  bool enable_;
  bool was_enabled_ = false;
  bool was_caching_ = true;
  at::ScalarType was_dtype_ = at::kHalf;
};

// --- LibTorch: fused Adam ------------------------------------------------------------------------
// at::_fused_adam_ runs on CUDA in 1.13 and 2.x alike; only 2.x has CUDA graphs to put it in.
constexpr bool kTorch2 = TORCH_VERSION_MAJOR >= 2;

// --- LibTorch: TCPStore's transport --------------------------------------------------------------
// From 2.4 c10d::TCPStoreOptions::useLibUV defaults to true, and a LibTorch built without libuv
// (Debian 13's 2.6) then refuses to host a store. The socket transport exists in every version
// (1.13 has nothing else), so dcgan asks for it wherever the option exists.
template <typename StoreOptions>
auto use_socket_tcp_store(StoreOptions& options, int) -> decltype(options.useLibUV = false, void()) {
  options.useLibUV = false;
}
template <typename StoreOptions>
void use_socket_tcp_store(StoreOptions&, long) {}  // LibTorch before 2.2: sockets only

// --- LibTorch: c10's log level ---------------------------------------------------------------
// Debian 12's LibTorch 1.13 logs through glog (C10_USE_GLOG: glog's FLAGS_minloglevel decides);
// Debian 13's 2.6 and pytorch.org's through c10's own logger (FLAGS_caffe2_log_level). c10d logs
// each failed connect or bind there, which dcgan reports itself in one line.

/// Logs only messages at `level` and above (0 info, 1 warning, 2 error, 3 fatal); returns the
/// level before.
inline int set_c10_log_level(int level) {
#ifdef C10_USE_GLOG
  const int before = FLAGS_minloglevel;
  FLAGS_minloglevel = level;
#else
  const int before = FLAGS_caffe2_log_level;
#endif
  FLAGS_caffe2_log_level = level;
  return before;
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
