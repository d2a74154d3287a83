#include "dcgan/distributed/launcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace dcgan::distributed {
namespace {

std::atomic<int> pending_signal{0};
std::atomic<int> signals_seen{0};

extern "C" void on_launcher_signal(int sig) {
  pending_signal = sig;
  ++signals_seen;
}

std::string status_text(int status) {
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

int exit_code(int status) {
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

struct Worker {
  pid_t pid = -1;
  bool running = false;
  int status = 0;
};

// The environment of worker `rank`: this process's, with torchrun's variables replaced.
std::vector<std::string> worker_environment(const LaunchOptions& options, int rank, int port) {
  std::vector<std::string> env;
  const std::vector<std::pair<std::string, std::string>> set = {
      {"RANK", std::to_string(rank)},
      {"LOCAL_RANK", std::to_string(rank)},
      {"WORLD_SIZE", std::to_string(options.nproc)},
      {"LOCAL_WORLD_SIZE", std::to_string(options.nproc)},
      {"GROUP_RANK", "0"},
      {"MASTER_ADDR", options.master_addr},
      {"MASTER_PORT", std::to_string(port)}};
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const auto name = entry.substr(0, entry.find('='));
    bool replaced = name == "TORCHELASTIC_USE_AGENT_STORE";
    for (const auto& kv : set) replaced = replaced || kv.first == name;
    if (!replaced) env.push_back(entry);
  }
  for (const auto& kv : set) env.push_back(kv.first + "=" + kv.second);
  if (std::getenv("OMP_NUM_THREADS") == nullptr) {
    // Each rank takes its share of the cores, as torchrun's OMP_NUM_THREADS=1 intends.
    const long cores = std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN));
    env.push_back("OMP_NUM_THREADS=" + std::to_string(std::max(1L, cores / options.nproc)));
  }
  return env;
}

pid_t start_worker(const LaunchOptions& options, int rank, int port) {
  const auto env = worker_environment(options, rank, port);
  std::vector<std::string> args{"dcgan"};
  args.insert(args.end(), options.args.begin(), options.args.end());
  // Built before fork: the child only calls async-signal-safe functions until exec.
  std::vector<char*> argv, envp;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    // Its own process group: a Ctrl-C at the terminal reaches the launcher only, which passes it
    // on once. Killed with the launcher, should that die.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(1);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::execve("/proc/self/exe", argv.data(), envp.data());
    static const char message[] = "dcgan: could not start a worker (exec /proc/self/exe)\n";
    const ssize_t ignored = ::write(STDERR_FILENO, message, sizeof(message) - 1);
    (void)ignored;
    ::_exit(127);
  }
  return pid;
}

void signal_all(std::vector<Worker>& workers, int sig) {
  for (auto& w : workers) {
    if (w.running) ::kill(w.pid, sig);
  }
}

bool any_running(const std::vector<Worker>& workers) {
  for (const auto& w : workers) {
    if (w.running) return true;
  }
  return false;
}

}  // namespace

int free_port(const std::string& address) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  if (::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1)
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size) != 0) {
    ::close(fd);
    throw std::runtime_error("could not find a free port on " + address);
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

int launch_local(const LaunchOptions& options) {
  const int port = options.master_port > 0 ? options.master_port : free_port(options.master_addr);
  struct sigaction action {
  }, previous_int{}, previous_term{};
  action.sa_handler = on_launcher_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, &previous_int);
  ::sigaction(SIGTERM, &action, &previous_term);

  std::vector<Worker> workers(static_cast<size_t>(options.nproc));
  for (int rank = 0; rank < options.nproc; ++rank) {
    workers[static_cast<size_t>(rank)].pid = start_worker(options, rank, port);
    workers[static_cast<size_t>(rank)].running = true;
  }

  using Clock = std::chrono::steady_clock;
  int failed_rank = -1, forwarded = 0;
  Clock::time_point failed_at;
  bool terminated = false, killed = false;
  while (any_running(workers)) {
    // Signals to pass on: each one the launcher got, once.
    while (forwarded < signals_seen.load()) {
      ++forwarded;
      signal_all(workers, pending_signal.load());
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (size_t rank = 0; rank < workers.size(); ++rank) {
        auto& w = workers[rank];
        if (w.pid != pid) continue;
        w.running = false;
        w.status = status;
        const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok && failed_rank < 0 && signals_seen.load() == 0) {
          failed_rank = static_cast<int>(rank);
          failed_at = Clock::now();
          std::cerr << "dcgan train: rank " << rank << " of " << options.nproc << " "
                    << status_text(status) << "; the other ranks stop" << std::endl;
        }
      }
      continue;
    }
    if (failed_rank >= 0) {
      const auto waited = Clock::now() - failed_at;
      if (!terminated && waited > options.grace) {
        signal_all(workers, SIGTERM);
        terminated = true;
      } else if (!killed && waited > options.grace + std::chrono::seconds(10)) {
        signal_all(workers, SIGKILL);
        killed = true;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::sigaction(SIGINT, &previous_int, nullptr);
  ::sigaction(SIGTERM, &previous_term, nullptr);

  if (failed_rank >= 0) return exit_code(workers[static_cast<size_t>(failed_rank)].status);
  for (const auto& w : workers) {
    if (exit_code(w.status) != 0) return exit_code(w.status);  // e.g. 130 after Ctrl-C
  }
  return 0;
}

}  // namespace dcgan::distributed
