#include <csignal>
#include <cstring>
#include <string>

#include "dcgan/cli/commands.h"
#include "dcgan/cli/openmp.h"

namespace {

// The earliest code of the process (.preinit_array: before the shared libraries' initializers,
// which take most of LibTorch's start-up). `dcgan train` started by a script arrives with SIGINT
// ignored, and a stop sent while it starts would be lost: until train installs its own handler
// (train::stop_at_once_during_start_up), SIGINT and SIGTERM end the process, writing nothing.
void stop_signals_end_train(int argc, char** argv, char**) {
  if (argc > 1 && std::strcmp(argv[1], "train") == 0) {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
  }
}
__attribute__((section(".preinit_array"),
               used)) void (*const preinit)(int, char**, char**) = stop_signals_end_train;

}  // namespace

int main(int argc, char** argv) {
  // Training is where OpenMP threads wait on each other for long; other commands start once.
  if (argc > 1 && std::string(argv[1]) == "train") dcgan::cli::use_passive_openmp_wait(argv);
  return dcgan::cli::run(argc, argv);
}
