#pragma once

#include <cxxopts.hpp>
#include <optional>

namespace dcgan::cli {

// Parses a subcommand's options, adding -h/--help: nullopt when help was asked for (and printed).
// Throws InputError on a stray positional argument, cxxopts' exception on a bad option.
std::optional<cxxopts::ParseResult> parse_options(cxxopts::Options& options, int argc, char** argv);

// For --json output: stdout carries the JSON alone, so log lines go to stderr from here on.
void send_logs_to_stderr();

}  // namespace dcgan::cli
