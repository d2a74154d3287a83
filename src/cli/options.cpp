#include "dcgan/cli/options.h"

#include <iostream>

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

}  // namespace dcgan::cli
