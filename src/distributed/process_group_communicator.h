#pragma once
// Internal to src/distributed: a Communicator over one of c10d's process groups (ProcessGroupGloo,
// ProcessGroupNCCL). A template over the group's class, so that it needs no common base: that is
// ProcessGroup in LibTorch 1.13 and Backend in 2.x.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#include <vector>

#include "dcgan/distributed/communicator.h"

namespace dcgan::distributed::detail {

// The first line of an exception's message (c10::Error's without its backtrace).
std::string first_line(const std::exception& error);

// The key each rank sets on the store once it has joined (with its heartbeat's connection).
std::string joined_key(int rank);

// Bounds every later read of this store connection by `timeout`: LibTorch's TCPStore client sets
// its socket's receive timeout only in a wait (until then a read waits for ever), so this sets the
// store's timeout and waits once for `existing_key`.
void bound_store_reads(c10d::Store& store, const std::string& existing_key,
                       std::chrono::milliseconds timeout);

// Called when a collective failed: each surviving rank checks in on the store for a moment; the
// ranks that don't are named (rank 0 when the store it hosts is gone). Never throws.
std::string describe_lost_ranks(c10d::Store& store, const RankEnvironment& env,
                                std::chrono::milliseconds wait);

// The same after the store itself failed: on a rank that is a client of rank 0's store, rank 0
// at once (asking the store again would wait out another timeout). Never throws.
std::string store_failure(c10d::Store& store, const RankEnvironment& env,
                          std::chrono::milliseconds wait);

// A connection of its own to the run's store, for the heartbeat. A store client serves one call at
// a time: sharing the main thread's connection, a heartbeat blocked by a partition held the main
// thread's next call back for a whole timeout, so a rank took twice --dist-timeout to give up.
c10::intrusive_ptr<c10d::Store> connect_heartbeat_store(const RankEnvironment& env,
                                                        std::chrono::milliseconds timeout);

// Every rank's sign of life on the store: a thread that bumps the counter dcgan/heartbeat/<rank>
// every `period`, whatever the rank's main thread is doing (writing a checkpoint, loading data).
class Heartbeat {
 public:
  Heartbeat(c10::intrusive_ptr<c10d::Store> store, int rank, std::chrono::milliseconds period);
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

 private:
  c10::intrusive_ptr<c10d::Store> store_;
  std::string key_;
  std::chrono::milliseconds period_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

// A barrier on the store, for the long waits (rank 0's end of epoch, data loading): Gloo's own
// barrier ignores a per-call timeout in LibTorch 1.13 and would give up after the group's. Waits
// up to `timeout` for every rank to arrive; a rank whose heartbeat stops for `lost_after` is lost.
// Throws RankLost naming it.
void store_barrier(c10d::Store& store, const RankEnvironment& env, int64_t generation,
                   std::chrono::milliseconds timeout, std::chrono::milliseconds lost_after,
                   const char* what);

// Runs one collective: `start()` returns its work, which is waited for. Whatever starting or
// waiting throws (Gloo's and NCCL's own exception types, c10::Error, anything else) becomes
// RankLost naming the lost ranks and `what`, so no exception of a backend ever escapes a
// collective.
template <typename Start>
void run_collective(c10d::Store& store, const RankEnvironment& env, const std::string& backend,
                    std::chrono::milliseconds check_in, const char* what, Start&& start) {
  std::string error;
  try {
    start()->wait();
    return;
  } catch (const std::exception& e) {
    error = first_line(e);
  } catch (...) {
    error = "an exception of an unknown type";
  }
  throw RankLost(describe_lost_ranks(store, env, check_in) + " during the " + what + " (" +
                 backend + ": " + error + ")");
}

template <typename Group>
class ProcessGroupCommunicator : public Communicator {
 public:
  ProcessGroupCommunicator(c10::intrusive_ptr<c10d::Store> store, c10::intrusive_ptr<Group> group,
                           const RankEnvironment& env, std::string backend, torch::Device device,
                           std::chrono::milliseconds timeout)
      : Communicator(env.rank, env.world_size),
        store_(std::move(store)),
        group_(std::move(group)),
        env_(env),
        backend_(std::move(backend)),
        device_(device),
        timeout_(timeout),
        // A heartbeat call that takes half the timeout is a lost rank to the others anyway.
        heartbeat_(connect_heartbeat_store(env, timeout / 2), env.rank,
                   std::max(std::chrono::milliseconds(100), timeout / 10)) {}

  std::string backend() const override { return backend_; }

 protected:
  void all_reduce_sum(torch::Tensor& flat, const char* what) override {
    run(what, [&] {
      std::vector<at::Tensor> tensors{flat};
      c10d::AllreduceOptions options;
      options.reduceOp = c10d::ReduceOp::SUM;
      return group_->allreduce(tensors, options);
    });
  }

  void broadcast_from_root(torch::Tensor& flat, const char* what) override {
    run(what, [&] {
      std::vector<at::Tensor> tensors{flat};
      c10d::BroadcastOptions options;
      options.rootRank = 0;
      return group_->broadcast(tensors, options);
    });
  }

  void wait_all(std::chrono::milliseconds timeout, const char* what) override {
    // Half the timeout without a heartbeat (5 of them) is a lost rank: well within the timeout.
    store_barrier(*store_, env_, barriers_++, timeout, timeout_ / 2, what);
  }

  torch::Device collective_device() const override { return device_; }

  // One store exchange: each rank sets its key, then reads every rank's (waiting up to the
  // store's timeout, the join timeout).
  std::vector<std::string> exchange(const std::string& mine, const char* what) override {
    const std::string prefix = "dcgan/exchange/" + std::to_string(exchanges_++) + "/";
    std::vector<std::string> all;
    try {
      store_->set(prefix + std::to_string(env_.rank),
                  std::vector<uint8_t>(mine.begin(), mine.end()));
      for (int r = 0; r < env_.world_size; ++r) {
        const auto bytes = store_->get(prefix + std::to_string(r));
        all.emplace_back(bytes.begin(), bytes.end());
      }
    } catch (const std::exception& error) {
      throw RankLost(store_failure(*store_, env_, std::min(timeout_, kCheckInWait)) +
                     " during the " + what + " (store: " + first_line(error) + ")");
    }
    return all;
  }

 private:
  template <typename Start>
  void run(const char* what, Start&& start) {
    run_collective(*store_, env_, backend_, std::min(timeout_, kCheckInWait), what,
                   std::forward<Start>(start));
  }

  static constexpr std::chrono::milliseconds kCheckInWait{3000};
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<Group> group_;
  RankEnvironment env_;
  std::string backend_;
  torch::Device device_;
  std::chrono::milliseconds timeout_;
  int64_t barriers_ = 0;
  int64_t exchanges_ = 0;
  Heartbeat heartbeat_;
};

}  // namespace dcgan::distributed::detail
