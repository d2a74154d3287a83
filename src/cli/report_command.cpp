#include "dcgan/cli/report_command.h"

#include <spdlog/spdlog.h>

#include <ctime>
#include <cxxopts.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "dcgan/cli/options.h"
#include "dcgan/report/pages.h"
#include "dcgan/report/run_data.h"
#include "dcgan/util/errors.h"
#include "dcgan/util/files.h"

namespace fs = std::filesystem;

namespace dcgan::cli {

int report_command(int argc, char** argv) {
  cxxopts::Options options(
      "dcgan report",
      "Compare training runs on one HTML page: their loss, quality and speed curves overlaid, a "
      "table of final Frechet distance, confident share, epochs, images/s and the settings in "
      "which they differ, and their newest samples. (Each run folder also keeps its own "
      "report.html, written while it trains.)");
  options.positional_help("RUN [RUN...]");
  // clang-format off: one option per line reads as a table
  options.add_options()("out", "HTML file to write",
                        cxxopts::value<std::string>()->default_value("compare.html"))(
      "runs", "Run folders", cxxopts::value<std::vector<std::string>>());
  // clang-format on
  options.parse_positional({"runs"});
  const auto parsed = parse_options(options, argc, argv);
  if (!parsed) return 0;
  const auto& args = *parsed;
  if (!args.count("runs"))
    throw InputError("no run folders given (dcgan report RUN [RUN...] --out compare.html)");
  const auto out = args["out"].as<std::string>();
  check_output_file(out);

  std::vector<report::RunData> runs;
  std::error_code ec;
  for (const auto& folder : args["runs"].as<std::vector<std::string>>()) {
    runs.push_back(report::read_run(folder));
    // A run's own report.html is rewritten by its trainer; the comparison goes elsewhere.
    if (fs::weakly_canonical(fs::absolute(out), ec) ==
        fs::weakly_canonical(fs::absolute(fs::path(folder) / "report.html"), ec))
      throw InputError(out + ": is " + folder + "'s own report; choose another --out");
  }
  write_file_atomically(out, report::compare_page(runs, out, std::time(nullptr)));
  spdlog::info("wrote {} ({} runs)", out, runs.size());
  return 0;
}

}  // namespace dcgan::cli
