#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace dcgan::distributed {

struct LaunchOptions {
  int nproc = 1;                  // local workers (ranks 0..nproc-1)
  std::vector<std::string> args;  // each worker's arguments after the executable
  std::string master_addr = "127.0.0.1";
  int master_port = 0;                     // 0: a free port on this machine
  std::chrono::milliseconds grace{30000};  // after a worker fails, before the rest are killed
};

// `dcgan train --nproc-per-node N` on machines without torchrun: starts N copies of this
// executable (/proc/self/exe) with torchrun's variables (RANK, LOCAL_RANK, WORLD_SIZE,
// LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT) and OMP_NUM_THREADS = cores / N unless set, each in
// its own process group and killed if the launcher dies. SIGINT and SIGTERM are passed on to every
// worker (they save a checkpoint and stop; a second one stops them at once). When a worker fails,
// the others get `grace` to notice and exit, then SIGTERM, then SIGKILL. Returns 0 when all
// succeed, else the exit status of the first failed worker (128 + signal when killed), after one
// line on stderr naming its rank.
int launch_local(const LaunchOptions& options);

// A TCP port on `address` that nothing listens on now (bound to port 0, then released).
int free_port(const std::string& address = "127.0.0.1");

}  // namespace dcgan::distributed
