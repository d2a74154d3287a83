#pragma once

#include <torch/types.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace dcgan::distributed {

// Where this process stands in a data-parallel run, from torchrun's environment contract (also
// what `dcgan train --nproc-per-node` and a Slurm script set): RANK, WORLD_SIZE, LOCAL_RANK,
// MASTER_ADDR, MASTER_PORT, and TORCHELASTIC_USE_AGENT_STORE / TORCHELASTIC_RESTART_COUNT when
// torchrun's agent hosts the store.
struct RankEnvironment {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool agent_store = false;   // torchrun's agent hosts the TCPStore: every rank is a client
  std::string attempt = "0";  // TORCHELASTIC_RESTART_COUNT, the agent store's key prefix
};

// nullopt when WORLD_SIZE is not set (a plain single-process run). InputError, naming the
// variable, when a value is malformed, RANK is outside [0, WORLD_SIZE) or MASTER_ADDR/PORT is
// missing with WORLD_SIZE > 1.
std::optional<RankEnvironment> read_rank_environment();

// A rank was lost (died, was killed, or stopped answering within the timeout). what() is one line
// naming the rank(s) and the collective that failed.
class RankLost : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What the training loop holds to train on several ranks: it averages gradients and agrees on
// logged numbers and decisions, and never tells the loop whether it is distributed. At world size
// 1 every call returns at once without touching its arguments.
//
// Every rank must make the same calls in the same order (they are collectives). A failure throws
// RankLost; nothing waits longer than the timeout given to join() (barrier() takes its own).
class Communicator {
 public:
  virtual ~Communicator() = default;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  bool is_root() const { return rank_ == 0; }
  // "gloo", "nccl", or "none" at world size 1.
  virtual std::string backend() const { return "none"; }

  // The DDP average, in place: flattens `tensors` into one buffer, all-reduces it (one collective
  // for all of them), divides by the world size and copies back. Device work only on NCCL, so a
  // CUDA graph can capture it.
  void average(const std::vector<torch::Tensor>& tensors, const char* what);

  // Rank 0's values of `tensors` into every rank's, in place (one collective).
  void broadcast(const std::vector<torch::Tensor>& tensors, const char* what);

  // The mean over ranks of each value.
  std::vector<double> mean(const std::vector<double>& values, const char* what);

  // Whether any rank passes true (a stop request seen by one rank stops all at the same step).
  bool any(bool flag, const char* what);

  // Rank 0's value.
  uint64_t rank0_value(uint64_t value, const char* what);

  // This rank's share of an epoch's `order`, as PyTorch's DistributedSampler splits it: padded by
  // its own first entries to a multiple of the world size, then every world_size-th entry from
  // this rank's position. Every rank gets share_size(order.size(0)) entries. `order` at world 1.
  torch::Tensor share(const torch::Tensor& order) const;
  int64_t share_size(int64_t count) const { return (count + world_size_ - 1) / world_size_; }

  // Waits for every rank, up to `timeout` (longer than the join timeout: rank 0 writes samples
  // and checkpoints at the end of an epoch while the others wait here).
  void barrier(std::chrono::milliseconds timeout, const char* what);

  // The run as each rank describes it (a JSON object: the options that change what is computed,
  // and the data), compared in one store exchange before the first collective, as DDP checks
  // parameter shapes: ranks that disagree would otherwise fail inside Gloo or NCCL, or train
  // apart. On a difference every rank throws the same InputError (first_disagreement's line).
  void check_agreement(const nlohmann::json& description);

 protected:
  Communicator(int rank, int world_size) : rank_(rank), world_size_(world_size) {}

  // In place on one contiguous tensor; only called at world size > 1.
  virtual void all_reduce_sum(torch::Tensor& flat, const char* what) { (void)flat, (void)what; }
  virtual void broadcast_from_root(torch::Tensor& flat, const char* what) {
    (void)flat, (void)what;
  }
  virtual void wait_all(std::chrono::milliseconds timeout, const char* what) {
    (void)timeout, (void)what;
  }
  // Every rank's `mine`, in rank order; only called at world size > 1.
  virtual std::vector<std::string> exchange(const std::string& mine, const char* what) {
    (void)what;
    return {mine};
  }
  // The device collectives run on (CPU for Gloo, this rank's GPU for NCCL).
  virtual torch::Device collective_device() const { return torch::kCPU; }

 private:
  int rank_, world_size_;
};

// The first difference between rank 0's description and another rank's (ranks in order, keys in
// sorted order), as one line naming the key and both values; nullopt when all are equal.
std::optional<std::string> first_disagreement(const std::vector<nlohmann::json>& descriptions);

// A communicator of one rank: every call does nothing.
std::shared_ptr<Communicator> single_process();

struct JoinOptions {
  std::string backend = "auto";  // auto | gloo | nccl
  std::chrono::milliseconds timeout{30000};
  torch::Device device = torch::kCPU;  // the training device (NCCL needs this rank's GPU)
};

// "auto" resolved for `device`: nccl on CUDA where this LibTorch has it, else gloo. InputError
// for an unknown name, or nccl where it can't run.
std::string resolve_backend(const std::string& name, torch::Device device);

// Joins the process group `env` describes: a TCPStore on MASTER_ADDR:MASTER_PORT (hosted by rank
// 0, or by torchrun's agent), the world size checked on every rank, then ProcessGroupGloo or
// ProcessGroupNCCL. Each failure to join (port in use, no answer from MASTER_ADDR, mismatched
// WORLD_SIZE, a rank that never came) is an InputError of one line, within the timeout.
std::shared_ptr<Communicator> join(const RankEnvironment& env, const JoinOptions& options);

// Whether this dcgan was built with NCCL (LibTorch with CUDA and c10d's NCCL).
bool nccl_available();

}  // namespace dcgan::distributed
