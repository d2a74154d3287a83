#include "dcgan/cli/options.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>

#include "dcgan/util/errors.h"

namespace dcgan::cli {

std::optional<cxxopts::ParseResult> parse_options(cxxopts::Options& options, int argc,
                                                  char** argv) {
  options.add_options("")("h,help", "Show this help");
  auto result = options.parse(argc, argv);
  if (result.count("help")) {
    std::cout << options.help() << std::endl;
    return std::nullopt;
  }
  if (!result.unmatched().empty()) {
    throw InputError("unexpected argument '" + result.unmatched().front() + "' (see --help)");
  }
  return result;
}

void send_logs_to_stderr() {
  // The default logger keeps its name, level and pattern; only where it writes changes.
  auto& sinks = spdlog::default_logger()->sinks();
  sinks.clear();
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
}

}  // namespace dcgan::cli
