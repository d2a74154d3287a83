#pragma once

namespace dcgan::train {

// While alive, SIGINT and SIGTERM ask the training loop to stop after the current step (it then
// saves a checkpoint). A second signal exits at once with 128 + signal. Previous handlers are
// restored on destruction.
class StopRequest {
 public:
  StopRequest();
  ~StopRequest();
  StopRequest(const StopRequest&) = delete;
  StopRequest& operator=(const StopRequest&) = delete;

  // The signal that asked to stop, or 0.
  static int signal();
  // For tests: behave as if `signal` had arrived.
  static void request(int signal);
  static void reset();
};

}  // namespace dcgan::train
