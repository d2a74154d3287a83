#pragma once

namespace dcgan::train {

// From the first instant of `dcgan train` until the run folder is made: SIGINT and SIGTERM end the
// process at once with 128 + signal, after removing the partial file a write has in progress
// (dcgan::PartialFile), so a stop during start-up (loading data, building the folder cache, the
// ranks meeting) is never lost and leaves nothing half-written. Installed even where the signal
// arrives ignored: a background job of a non-interactive shell starts with SIGINT ignored.
void stop_at_once_during_start_up();

// From here on a SIGINT or SIGTERM is recorded for the training loop (StopRequest::signal()), which
// saves a checkpoint and stops. Called just before the run folder is made.
void record_stops_from_now();

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
