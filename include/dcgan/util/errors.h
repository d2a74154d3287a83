#pragma once

#include <stdexcept>
#include <string>

namespace dcgan {

// A problem with what the user gave us (a file, an option, a checkpoint): the command line turns it
// into one line on stderr and exit code 2. Everything else is an internal error (exit code 1).
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace dcgan
