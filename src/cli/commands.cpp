#include "dcgan/cli/commands.h"

#include <cxxopts.hpp>
#include <spdlog/spdlog.h>

#include <functional>
#include <iostream>
#include <map>
#include <string>

#include "dcgan/data/dataset.h"
#include "dcgan/models/summary.h"
#include "dcgan/util/errors.h"
#include "dcgan/util/version.h"

namespace dcgan::cli {
namespace {

struct Command {
  const char* summary;
  std::function<int(int, char**)> run;
};

// Parses a subcommand's options; prints help and returns nullopt when --help was asked for.
c10::optional<cxxopts::ParseResult> parse(cxxopts::Options& options, int argc, char** argv) {
  options.add_options("")("h,help", "Show this help");
  auto result = options.parse(argc, argv);
  if (result.count("help")) {
    std::cout << options.help() << std::endl;
    return c10::nullopt;
  }
  if (!result.unmatched().empty()) {
    throw InputError("unexpected argument '" + result.unmatched().front() + "' (see --help)");
  }
  return result;
}

int inspect_command(int argc, char** argv) {
  cxxopts::Options options("dcgan inspect", "Describe an SVHN-format .mat file or an image folder.");
  options.add_options()("data", "SVHN .mat file or image folder", cxxopts::value<std::string>())(
      "json", "Print one JSON object instead of a table", cxxopts::value<bool>()->default_value("false"));
  auto args = parse(options, argc, argv);
  if (!args) return 0;
  if (!args->count("data")) throw InputError("inspect: --data FILE is required");
  const auto file = (*args)["data"].as<std::string>();
  const auto set = data::load_images(file);
  const auto stats = data::describe(set);
  if ((*args)["json"].as<bool>()) {
    std::cout << data::to_json(file, set, stats).dump() << std::endl;
  } else {
    std::cout << data::to_table(file, set, stats);
  }
  return 0;
}

int summary_command(int argc, char** argv) {
  cxxopts::Options options("dcgan summary", "Both models layer by layer, with output shapes and parameters.");
  options.add_options()("conv-dim", "Model width (32 is the notebook's model)",
                        cxxopts::value<int64_t>()->default_value("128"))(
      "z-size", "Latent vector length", cxxopts::value<int64_t>()->default_value("100"))(
      "json", "Print one JSON object instead of tables", cxxopts::value<bool>()->default_value("false"));
  auto args = parse(options, argc, argv);
  if (!args) return 0;
  const auto conv_dim = (*args)["conv-dim"].as<int64_t>();
  const auto z_size = (*args)["z-size"].as<int64_t>();
  if (conv_dim < 1) throw InputError("--conv-dim must be at least 1, got " + std::to_string(conv_dim));
  if (z_size < 1) throw InputError("--z-size must be at least 1, got " + std::to_string(z_size));
  models::Generator generator(models::GeneratorOptions(z_size, conv_dim));
  models::Discriminator discriminator{models::DiscriminatorOptions(conv_dim)};
  const auto g = models::summarize(generator);
  const auto d = models::summarize(discriminator);
  if ((*args)["json"].as<bool>()) {
    std::cout << nlohmann::json{{"generator", models::to_json(g)}, {"discriminator", models::to_json(d)}}.dump()
              << std::endl;
  } else {
    std::cout << models::to_table("Generator (z_size " + std::to_string(z_size) + ", conv_dim " +
                                      std::to_string(conv_dim) + ")",
                                  g)
              << "\n"
              << models::to_table("Discriminator (conv_dim " + std::to_string(conv_dim) + ")", d);
  }
  return 0;
}

const std::map<std::string, Command>& commands() {
  static const std::map<std::string, Command> table = {
      {"inspect", {"Describe an SVHN .mat file or image folder", inspect_command}},
      {"summary", {"Print both models layer by layer", summary_command}},
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
      << "Options: -h, --help  this help;  --version  versions of dcgan and LibTorch, CUDA availability\n";
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
    for (const auto& entry : commands()) std::cerr << (first ? "" : ", ") << entry.first, first = false;
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
  } catch (const std::exception& e) {
    std::cerr << "dcgan " << name << ": internal error: " << e.what() << std::endl;
    return 1;
  }
}

}  // namespace dcgan::cli
