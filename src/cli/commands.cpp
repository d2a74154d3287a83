#include "dcgan/cli/commands.h"

#include <c10/util/Exception.h>

#include <cxxopts.hpp>
#include <functional>
#include <iostream>
#include <map>
#include <string>

#include "dcgan/cli/evaluate_command.h"
#include "dcgan/cli/inspect_commands.h"
#include "dcgan/cli/interop_commands.h"
#include "dcgan/cli/pack_command.h"
#include "dcgan/cli/report_command.h"
#include "dcgan/cli/sampling_commands.h"
#include "dcgan/cli/train_command.h"
#include "dcgan/util/errors.h"
#include "dcgan/util/version.h"

namespace dcgan::cli {
namespace {

struct Command {
  const char* summary;
  std::function<int(int, char**)> run;
};

const std::map<std::string, Command>& commands() {
  static const std::map<std::string, Command> table = {
      {"inspect", {"Describe an SVHN .mat file or image folder", inspect_command}},
      {"summary", {"Print both models layer by layer", summary_command}},
      {"train", {"Train the DCGAN, writing samples, losses and checkpoints", train_command}},
      {"generate", {"Generate images from a checkpoint", generate_command}},
      {"interpolate", {"Latent-space walk between random z pairs", interpolate_command}},
      {"export", {"Write a checkpoint's model as a state_dict or TorchScript", export_command}},
      {"import", {"Make a run folder from PyTorch state_dicts or TorchScript", import_command}},
      {"evaluate", {"Measure sample quality (Frechet distance) and the D probe", evaluate_command}},
      {"pack", {"Write an image folder as one SVHN-layout .mat file", pack_command}},
      {"report", {"Write an HTML page comparing runs' curves and results", report_command}},
  };
  return table;
}

void print_usage(std::ostream& out) {
  out << "dcgan " << version() << ": train a DCGAN on SVHN house numbers and generate new ones.\n\n"
      << "Usage: dcgan <command> [options]\n\nCommands:\n";
  for (const auto& [name, command] : commands()) {
    out << "  " << name << std::string(14 - name.size(), ' ') << command.summary << "\n";
  }
  out << "\nRun 'dcgan <command> --help' for a command's options and their defaults.\n"
      << "Options: -h, --help  this help;  --version  versions of dcgan and LibTorch, CUDA "
         "availability\n";
}

}  // namespace

int run(int argc, char** argv) {
  if (argc < 2) {
    print_usage(std::cerr);
    return 2;
  }
  const std::string name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    print_usage(std::cout);
    return 0;
  }
  if (name == "--version" || name == "version") {
    std::cout << version_report() << std::endl;
    return 0;
  }
  const auto it = commands().find(name);
  if (it == commands().end()) {
    std::cerr << "dcgan: unknown command '" << name << "' (commands: ";
    bool first = true;
    for (const auto& entry : commands())
      std::cerr << (first ? "" : ", ") << entry.first, first = false;
    std::cerr << ")" << std::endl;
    return 2;
  }
  try {
    return it->second.run(argc - 1, argv + 1);
  } catch (const InputError& e) {
    std::cerr << "dcgan " << name << ": error: " << e.what() << std::endl;
    return 2;
  } catch (const cxxopts::exceptions::exception& e) {
    std::cerr << "dcgan " << name << ": error: " << e.what() << " (see --help)" << std::endl;
    return 2;
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    std::cerr << "dcgan " << name << ": internal error: " << what.substr(0, what.find('\n'))
              << std::endl;
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "dcgan " << name << ": error: " << e.what() << std::endl;
    return 1;
  }
}

}  // namespace dcgan::cli
