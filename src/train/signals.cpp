#include "dcgan/train/signals.h"

#include <unistd.h>

#include <atomic>
#include <csignal>

#include "dcgan/util/files.h"

namespace dcgan::train {
namespace {

std::atomic<int> requested_signal{0};
std::atomic<bool> exit_at_once{false};  // start-up: nothing to save yet
struct sigaction previous_int, previous_term;

void write_stderr(const char* text, size_t size) {
  const ssize_t ignored = ::write(STDERR_FILENO, text, size);
  (void)ignored;
}

extern "C" void on_stop_signal(int sig) {
  if (exit_at_once) {
    remove_partial_file();
    static const char interrupted[] =
        "\ndcgan train: interrupted (SIGINT) during start-up; no run folder was written\n";
    static const char terminated[] =
        "\ndcgan train: terminated (SIGTERM) during start-up; no run folder was written\n";
    if (sig == SIGINT) write_stderr(interrupted, sizeof(interrupted) - 1);
    if (sig == SIGTERM) write_stderr(terminated, sizeof(terminated) - 1);
    ::_exit(128 + sig);
  }
  int expected = 0;
  if (!requested_signal.compare_exchange_strong(expected, sig)) {
    // Second Ctrl-C: the user does not want to wait for the checkpoint.
    static const char message[] = "\nSecond interrupt: exiting now without saving.\n";
    write_stderr(message, sizeof(message) - 1);
    remove_partial_file();
    ::_exit(128 + sig);
  }
}

void install(struct sigaction* previous_int_action, struct sigaction* previous_term_action) {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, previous_int_action);
  ::sigaction(SIGTERM, &action, previous_term_action);
}

}  // namespace

void stop_at_once_during_start_up() {
  exit_at_once = true;
  install(nullptr, nullptr);
}

void record_stops_from_now() {
  exit_at_once = false;
}

StopRequest::StopRequest() {
  exit_at_once = false;
  install(&previous_int, &previous_term);
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
