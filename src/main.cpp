#include "dcgan/cli/commands.h"
#include "dcgan/cli/openmp.h"

#include <string>

int main(int argc, char** argv) {
  // Training is where OpenMP threads wait on each other for long; other commands start once.
  if (argc > 1 && std::string(argv[1]) == "train") dcgan::cli::use_passive_openmp_wait(argv);
  return dcgan::cli::run(argc, argv);
}
