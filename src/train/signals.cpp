#include "dcgan/train/signals.h"

#include <unistd.h>

#include <atomic>
#include <csignal>

namespace dcgan::train {
namespace {

std::atomic<int> requested_signal{0};
struct sigaction previous_int, previous_term;

extern "C" void on_stop_signal(int sig) {
  int expected = 0;
  if (!requested_signal.compare_exchange_strong(expected, sig)) {
    // Second Ctrl-C: the user does not want to wait for the checkpoint.
    static const char message[] = "\nSecond interrupt: exiting now without saving.\n";
    const ssize_t ignored = ::write(STDERR_FILENO, message, sizeof(message) - 1);
    (void)ignored;
    ::_exit(128 + sig);
  }
}

}  // namespace

StopRequest::StopRequest() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, &previous_int);
  ::sigaction(SIGTERM, &action, &previous_term);
}

StopRequest::~StopRequest() {
  ::sigaction(SIGINT, &previous_int, nullptr);
  ::sigaction(SIGTERM, &previous_term, nullptr);
}

int StopRequest::signal() {
  return requested_signal.load();
}
void StopRequest::request(int sig) {
  requested_signal = sig;
}
void StopRequest::reset() {
  requested_signal = 0;
}

}  // namespace dcgan::train
