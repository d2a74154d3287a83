#include "dcgan/distributed/communicator.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <thread>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "dcgan/util/compat.h"
#include "dcgan/util/errors.h"
#include "process_group_communicator.h"

namespace dcgan::distributed {

#ifdef DCGAN_WITH_NCCL
// src/distributed/nccl.cpp (CUDA builds only).
std::shared_ptr<Communicator> join_nccl(c10::intrusive_ptr<c10d::Store> store,
                                        const RankEnvironment& env, const JoinOptions& options);
#endif

namespace {

class SingleProcess : public Communicator {
 public:
  SingleProcess() : Communicator(0, 1) {}
};

std::optional<std::string> env_value(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

int env_int(const char* name, const std::string& value, int min, int max) {
  size_t used = 0;
  int parsed = 0;
  try {
    parsed = std::stoi(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != value.size() || parsed < min || parsed > max) {
    throw InputError(std::string(name) + "=" + value + ": expected a whole number in " +
                     std::to_string(min) + "-" + std::to_string(max));
  }
  return parsed;
}

std::string where(const RankEnvironment& env) {
  return env.master_addr + ":" + std::to_string(env.master_port);
}

std::string seconds(std::chrono::milliseconds timeout) {
  const double s = static_cast<double>(timeout.count()) / 1000.0;
  char text[32];
  std::snprintf(text, sizeof text, "%g s", s);
  return text;
}

bool is_loopback(const std::string& address) {
  return address == "localhost" || address.rfind("127.", 0) == 0 || address == "::1";
}

// The store every rank uses: rank 0 hosts it (or torchrun's agent does; then all are clients).
// `client_only`: a further connection to it, also from rank 0.
c10::intrusive_ptr<c10d::Store> connect_store(const RankEnvironment& env,
                                              std::chrono::milliseconds timeout,
                                              bool client_only = false) {
  c10d::TCPStoreOptions options;
  options.port = static_cast<std::uint16_t>(env.master_port);
  options.isServer = env.rank == 0 && !env.agent_store && !client_only;
  options.waitWorkers = false;  // the world is checked below, with errors that name the rank
  options.timeout = timeout;
  options.multiTenant = true;
  compat::use_socket_tcp_store(options, 0);
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
  } catch (const std::exception& error) {
    const std::string message = detail::first_line(error);
    if (options.isServer) {
      const bool in_use = message.find("in use") != std::string::npos ||
                          message.find("EADDRINUSE") != std::string::npos ||
                          message.find("errno: 98") != std::string::npos;
      throw InputError("rank 0 could not host the rendezvous store on port " +
                       std::to_string(env.master_port) +
                       (in_use ? ": the port is in use (another run?); pick another MASTER_PORT"
                               : ": " + message));
    }
    throw InputError(
        "rank " + std::to_string(env.rank) + " could not reach the rendezvous store at " +
        where(env) + " within " + seconds(timeout) +
        " (is rank 0 running, and are MASTER_ADDR and MASTER_PORT right?): " + message);
  }
  if (env.agent_store) {
    return c10::make_intrusive<c10d::PrefixStore>("/worker/attempt_" + env.attempt, store);
  }
  return store;
}

std::string store_string(c10d::Store& store, const std::string& key) {
  const auto bytes = store.get(key);
  return std::string(bytes.begin(), bytes.end());
}

void store_set(c10d::Store& store, const std::string& key, const std::string& value) {
  store.set(key, std::vector<uint8_t>(value.begin(), value.end()));
}

// Every rank announces its WORLD_SIZE and waits for all the others: a rank that never comes, a
// RANK given twice or a WORLD_SIZE that differs each fail here with one line.
void check_world(c10d::Store& store, const RankEnvironment& env,
                 std::chrono::milliseconds timeout) {
  const std::string prefix = "dcgan/join/";
  const std::string me = std::to_string(env.rank);
  if (store.add(prefix + "count/" + me, 1) > 1) {
    throw InputError("RANK=" + me + " was given to two processes (store " + where(env) + ")");
  }
  store_set(store, prefix + "world_size/" + me, std::to_string(env.world_size));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int r = 0; r < env.world_size; ++r) {
    const std::string key = prefix + "world_size/" + std::to_string(r);
    while (!store.check({key})) {
      if (std::chrono::steady_clock::now() > deadline) {
        std::string hint;
        if (r != 0 && store.check({prefix + "world_size/0"})) {
          const auto root_world = store_string(store, prefix + "world_size/0");
          if (root_world != std::to_string(env.world_size))
            hint = "; rank 0 has WORLD_SIZE=" + root_world;
        }
        throw InputError("rank " + std::to_string(r) + " did not join within " + seconds(timeout) +
                         " (this is rank " + me + " of WORLD_SIZE=" +
                         std::to_string(env.world_size) + ", store " + where(env) + hint + ")");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const auto other = store_string(store, key);
    if (other != std::to_string(env.world_size)) {
      throw InputError("mismatched world size: rank " + me +
                       " has WORLD_SIZE=" + std::to_string(env.world_size) + ", rank " +
                       std::to_string(r) + " has WORLD_SIZE=" + other);
    }
  }
}

std::shared_ptr<::gloo::transport::Device> gloo_device(const RankEnvironment& env) {
  // As PyTorch's Python layer: GLOO_SOCKET_IFNAME first; on one machine (a loopback
  // MASTER_ADDR) the loopback address, so nothing leaves the machine; else this host's name.
  if (const auto interface = env_value("GLOO_SOCKET_IFNAME"))
    return c10d::ProcessGroupGloo::createDeviceForInterface(*interface);
  if (is_loopback(env.master_addr))
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

}  // namespace

namespace detail {

std::string first_line(const std::exception& error) {
  std::string text = error.what();
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&error))
    text = c10_error->what_without_backtrace();
  const auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

std::string joined_key(int rank) { return "dcgan/heartbeat_connection/" + std::to_string(rank); }

void bound_store_reads(c10d::Store& store, const std::string& existing_key,
                       std::chrono::milliseconds timeout) {
  store.setTimeout(timeout);
  store.wait({existing_key}, timeout);
}

std::string describe_lost_ranks(c10d::Store& store, const RankEnvironment& env,
                                std::chrono::milliseconds wait) {
  const std::string prefix = "dcgan/alive_after_failure/";
  std::vector<int> lost;
  try {
    // The connection's reads wait as long as its last wait allowed (up to --dist-timeout); after
    // a partition, each would wait that long again.
    bound_store_reads(store, joined_key(env.rank), wait);
    store_set(store, prefix + std::to_string(env.rank), "1");
    const auto deadline = std::chrono::steady_clock::now() + wait;
    for (int r = 0; r < env.world_size; ++r) {
      if (r == env.rank) continue;
      const std::string key = prefix + std::to_string(r);
      while (!store.check({key}) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (!store.check({key})) lost.push_back(r);
    }
  } catch (const std::exception&) {
    // The store is gone: its host was lost (rank 0, unless torchrun's agent hosts it).
    if (!env.agent_store && env.rank != 0) lost = {0};
  }
  const std::string of = " of " + std::to_string(env.world_size);
  if (lost.empty()) return "a rank" + of + " was lost";
  std::string names;
  for (size_t i = 0; i < lost.size(); ++i) names += (i == 0 ? "" : ", ") + std::to_string(lost[i]);
  return (lost.size() == 1 ? "rank " : "ranks ") + names + of + " lost";
}

std::string store_failure(c10d::Store& store, const RankEnvironment& env,
                          std::chrono::milliseconds wait) {
  // The store itself failed: where rank 0 hosts it, asking it again would only wait out another
  // timeout (a partition, or rank 0 gone), so rank 0 is the one lost.
  if (!env.agent_store && env.rank != 0)
    return "rank 0 of " + std::to_string(env.world_size) + " lost";
  return describe_lost_ranks(store, env, wait);
}

c10::intrusive_ptr<c10d::Store> connect_heartbeat_store(const RankEnvironment& env,
                                                        std::chrono::milliseconds timeout) {
  auto store = connect_store(env, timeout, /*client_only=*/true);
  // A heartbeat only adds, and a new TCPStore client reads without a time limit until a wait
  // sets one: without this wait, a partition left its call blocked for good, and the rank hung
  // as it shut down. The key also marks this rank as joined (see describe_lost_ranks).
  const std::string key = joined_key(env.rank);
  store_set(*store, key, "1");
  bound_store_reads(*store, key, timeout);
  return store;
}

Heartbeat::Heartbeat(c10::intrusive_ptr<c10d::Store> store, int rank,
                     std::chrono::milliseconds period)
    : store_(std::move(store)), key_("dcgan/heartbeat/" + std::to_string(rank)), period_(period) {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      try {
        store_->add(key_, 1);
      } catch (const std::exception&) {
        return;  // the store is gone; the main thread finds out at its next collective
      }
      wake_.wait_for(lock, period_, [this] { return stop_; });
    }
  });
}

Heartbeat::~Heartbeat() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void store_barrier(c10d::Store& store, const RankEnvironment& env, int64_t generation,
                   std::chrono::milliseconds timeout, std::chrono::milliseconds lost_after,
                   const char* what) {
  using Clock = std::chrono::steady_clock;
  const std::string key = "dcgan/barrier/" + std::to_string(generation);
  const auto start = Clock::now();
  std::vector<int64_t> beats(static_cast<size_t>(env.world_size), -1);
  std::vector<Clock::time_point> beat_seen(beats.size(), start);
  auto last_check = start;
  try {
    store.add(key, 1);
    while (store.add(key, 0) < env.world_size) {
      const auto now = Clock::now();
      if (now - start > timeout) {
        throw RankLost("not every rank arrived within " +
                       seconds(std::chrono::duration_cast<std::chrono::milliseconds>(timeout)) +
                       " for the " + what);
      }
      if (now - last_check > std::chrono::milliseconds(200)) {
        last_check = now;
        for (int r = 0; r < env.world_size; ++r) {
          const auto beat = store.add("dcgan/heartbeat/" + std::to_string(r), 0);
          auto& last = beats[static_cast<size_t>(r)];
          if (beat != last) {
            last = beat;
            beat_seen[static_cast<size_t>(r)] = now;
          } else if (now - beat_seen[static_cast<size_t>(r)] > lost_after) {
            throw RankLost("rank " + std::to_string(r) + " of " + std::to_string(env.world_size) +
                           " lost (no sign of life for " + seconds(lost_after) + ") during the " +
                           what);
          }
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  } catch (const RankLost&) {
    throw;
  } catch (const std::exception& error) {
    throw RankLost(
        store_failure(store, env, std::min(lost_after, std::chrono::milliseconds(3000))) +
        " during the " + what + " (store: " + first_line(error) + ")");
  }
}

}  // namespace detail

std::optional<RankEnvironment> read_rank_environment() {
  const auto world = env_value("WORLD_SIZE");
  if (!world) return std::nullopt;
  RankEnvironment env;
  env.world_size = env_int("WORLD_SIZE", *world, 1, 1 << 20);
  env.rank = env_int("RANK", env_value("RANK").value_or("0"), 0, 1 << 20);
  if (env.rank >= env.world_size) {
    throw InputError("RANK=" + std::to_string(env.rank) +
                     " is not below WORLD_SIZE=" + std::to_string(env.world_size));
  }
  env.local_rank = env_int("LOCAL_RANK", env_value("LOCAL_RANK").value_or("0"), 0, 1 << 20);
  if (env.world_size > 1) {
    const auto addr = env_value("MASTER_ADDR"), port = env_value("MASTER_PORT");
    if (!addr || !port) {
      throw InputError("WORLD_SIZE=" + *world +
                       " needs MASTER_ADDR and MASTER_PORT (rank 0's address and a free port), "
                       "as torchrun sets them");
    }
    env.master_addr = *addr;
    env.master_port = env_int("MASTER_PORT", *port, 1, 65535);
  }
  env.agent_store = env_value("TORCHELASTIC_USE_AGENT_STORE").value_or("") == "True";
  env.attempt = env_value("TORCHELASTIC_RESTART_COUNT").value_or("0");
  return env;
}

void Communicator::average(const std::vector<torch::Tensor>& tensors, const char* what) {
  if (world_size_ == 1 || tensors.empty()) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> flat_parts;
  flat_parts.reserve(tensors.size());
  for (const auto& t : tensors) {
    TORCH_CHECK(t.defined(), "Communicator::average: an undefined tensor in ", what);
    flat_parts.push_back(t.reshape(-1));
  }
  auto flat = torch::cat(flat_parts);
  all_reduce_sum(flat, what);
  flat.div_(world_size_);
  int64_t offset = 0;
  for (const auto& t : tensors) {
    const int64_t n = t.numel();
    t.copy_(flat.narrow(0, offset, n).view(t.sizes()));
    offset += n;
  }
}

void Communicator::broadcast(const std::vector<torch::Tensor>& tensors, const char* what) {
  if (world_size_ == 1 || tensors.empty()) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> flat_parts;
  for (const auto& t : tensors)
    flat_parts.push_back(t.reshape(-1).to(collective_device(), torch::kFloat64));
  auto flat = torch::cat(flat_parts);
  broadcast_from_root(flat, what);
  int64_t offset = 0;
  for (const auto& t : tensors) {
    const int64_t n = t.numel();
    t.copy_(flat.narrow(0, offset, n).view(t.sizes()));
    offset += n;
  }
}

std::vector<double> Communicator::mean(const std::vector<double>& values, const char* what) {
  if (world_size_ == 1 || values.empty()) return values;
  auto flat = torch::tensor(values, torch::kFloat64).to(collective_device());
  all_reduce_sum(flat, what);
  flat = flat.div_(world_size_).cpu();
  return std::vector<double>(flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel());
}

bool Communicator::any(bool flag, const char* what) {
  if (world_size_ == 1) return flag;
  return mean({flag ? 1.0 : 0.0}, what).front() > 0;
}

uint64_t Communicator::rank0_value(uint64_t value, const char* what) {
  if (world_size_ == 1) return value;
  // int64 holds the bits exactly; float64 (broadcast's buffer) would round large values.
  auto t = torch::tensor({static_cast<int64_t>(value)}, torch::kInt64).to(collective_device());
  broadcast_from_root(t, what);
  return static_cast<uint64_t>(t.cpu().item<int64_t>());
}

torch::Tensor Communicator::share(const torch::Tensor& order) const {
  if (world_size_ == 1) return order;
  const int64_t total = share_size(order.size(0)) * world_size_;
  auto padded = order;
  while (padded.size(0) < total) {
    padded =
        torch::cat({padded, order.narrow(0, 0, std::min(order.size(0), total - padded.size(0)))});
  }
  return padded.slice(0, rank_, total, world_size_).contiguous();
}

void Communicator::barrier(std::chrono::milliseconds timeout, const char* what) {
  if (world_size_ == 1) return;
  wait_all(timeout, what);
}

void Communicator::check_agreement(const nlohmann::json& description) {
  if (world_size_ == 1) return;
  std::vector<nlohmann::json> descriptions;
  for (const auto& text : exchange(description.dump(), "check that the ranks agree on the run")) {
    try {
      descriptions.push_back(nlohmann::json::parse(text));
    } catch (const nlohmann::json::exception&) {
      descriptions.push_back(nlohmann::json{{"run description", "unreadable"}});
    }
  }
  if (const auto difference = first_disagreement(descriptions)) throw InputError(*difference);
}

std::optional<std::string> first_disagreement(const std::vector<nlohmann::json>& descriptions) {
  const auto text = [](const nlohmann::json* value) {
    if (value == nullptr) return std::string("nothing");
    return value->is_string() ? value->get<std::string>() : value->dump();
  };
  const auto find = [](const nlohmann::json& description, const std::string& key) {
    const auto it = description.find(key);
    return it == description.end() ? nullptr : &*it;
  };
  for (size_t r = 1; r < descriptions.size(); ++r) {
    std::set<std::string> keys;
    for (const auto* description : {&descriptions[0], &descriptions[r]})
      for (const auto& item : description->items()) keys.insert(item.key());
    for (const auto& key : keys) {
      const auto *root = find(descriptions[0], key), *other = find(descriptions[r], key);
      if (root != nullptr && other != nullptr && *root == *other) continue;
      return "ranks disagree on " + key + ": rank 0 has " + text(root) + ", rank " +
             std::to_string(r) + " has " + text(other) +
             " (every rank must run with the same options and data)";
    }
  }
  return std::nullopt;
}

std::shared_ptr<Communicator> single_process() {
  return std::make_shared<SingleProcess>();
}

bool nccl_available() {
#ifdef DCGAN_WITH_NCCL
  return true;
#else
  return false;
#endif
}

std::string resolve_backend(const std::string& name, torch::Device device) {
  if (name == "auto") return device.is_cuda() && nccl_available() ? "nccl" : "gloo";
  if (name == "gloo") return name;
  if (name != "nccl") throw InputError("--backend must be auto, gloo or nccl, got '" + name + "'");
  if (!nccl_available()) {
    throw InputError(
        "--backend nccl: this dcgan was built without NCCL (needs LibTorch with CUDA); use "
        "--backend gloo");
  }
  if (!device.is_cuda()) throw InputError("--backend nccl needs CUDA devices; use --backend gloo");
  return name;
}

std::shared_ptr<Communicator> join(const RankEnvironment& env, const JoinOptions& options) {
  if (env.world_size == 1) return single_process();
  const auto backend = resolve_backend(options.backend, options.device);
  // c10d logs each failed connect and bind on stderr while it retries; a failure to join is one
  // line of our own instead. Afterwards only its errors: LibTorch 2.x logs a lost peer as a warning
  // with a stack trace, which the run reports in one line naming the rank.
  struct QuietC10d {
    int before = compat::set_c10_log_level(3);
    ~QuietC10d() { compat::set_c10_log_level(std::max(before, 2)); }
  } quiet;
  auto store = connect_store(env, options.timeout);
  check_world(*store, env, options.timeout);
#ifdef DCGAN_WITH_NCCL
  if (backend == "nccl") return join_nccl(store, env, options);
#endif
  auto gloo_options = c10d::ProcessGroupGloo::Options::create(options.timeout);
  gloo_options->devices.push_back(gloo_device(env));
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  try {
    group =
        c10::make_intrusive<c10d::ProcessGroupGloo>(store, env.rank, env.world_size, gloo_options);
  } catch (const std::exception& error) {
    throw InputError("rank " + std::to_string(env.rank) + " could not connect to the other " +
                     std::to_string(env.world_size - 1) + " rank(s) over Gloo within " +
                     seconds(options.timeout) + ": " + detail::first_line(error));
  }
  return std::make_shared<detail::ProcessGroupCommunicator<c10d::ProcessGroupGloo>>(
      store, group, env, "gloo", torch::kCPU, options.timeout);
}

}  // namespace dcgan::distributed
