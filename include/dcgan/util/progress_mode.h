#pragma once

#include <string>

#include "dcgan/util/errors.h"

namespace dcgan {

// --progress takes the same values in every command that has it.
inline constexpr const char* kProgressModesHelp =
    "auto (a bar on a terminal, log lines otherwise), bar, log, or none (results, warnings and "
    "errors only)";

inline void check_progress_mode(const std::string& mode) {
  if (mode != "auto" && mode != "bar" && mode != "log" && mode != "none")
    throw InputError("--progress must be auto, bar, log or none, got '" + mode + "'");
}

}  // namespace dcgan
