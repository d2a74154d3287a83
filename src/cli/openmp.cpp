#include "dcgan/cli/openmp.h"

#include <unistd.h>

#include <cstdlib>

namespace dcgan::cli {

void use_passive_openmp_wait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;  // the user's choice, or done already
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/1);
  ::execv("/proc/self/exe", argv);
  // No /proc (not Linux): carry on with the default policy.
}

}  // namespace dcgan::cli
