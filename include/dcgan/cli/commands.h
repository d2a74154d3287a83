#pragma once

namespace dcgan::cli {

// Parses `dcgan <command> [options]`, runs the command and returns the process exit code:
// 0 success, 2 bad input (one line on stderr), 1 internal error, 130/143 interrupted by a signal.
int run(int argc, char** argv);

}  // namespace dcgan::cli
