#include "dcgan/cli/lever_options.h"

#include <cmath>
#include <sstream>
#include <string>

#include "dcgan/models/minibatch_std.h"
#include "dcgan/util/errors.h"

namespace dcgan::cli {
namespace {

std::string number(double value) {
  std::ostringstream text;
  text << value;
  return text.str();
}

}  // namespace

void add_lever_options(cxxopts::Options& options, const train::TrainConfig& d) {
  // clang-format off: one option per line reads as a table
  options.add_options("training levers")(
      "lr-d", "D's Adam learning rate (default: --lr); with --lr-g, two time-scale training (TTUR)",
      cxxopts::value<double>())(
      "lr-g", "G's Adam learning rate (default: --lr)", cxxopts::value<double>())(
      "loss", "bce (the notebook's BCE-with-logits) or hinge",
      cxxopts::value<std::string>()->default_value(d.loss))(
      "augment",
      "Differentiable augmentation of every image D sees (DiffAugment): none, or a comma-separated "
      "list of color, translation, cutout",
      cxxopts::value<std::string>()->default_value(d.augment))(
      "augment-strength", "0-1: scales every --augment transform (1: DiffAugment's; 0: none)",
      cxxopts::value<double>()->default_value(number(d.augment_strength)))(
      "spectral-norm", "Spectral normalisation of D's layers (default: off)",
      cxxopts::value<bool>()->default_value("false"))(
      "minibatch-std",
      "D sees the standard deviation of its features over groups of N images, as one more feature "
      "map (Karras et al. 2018), which pushes G to vary its images; 0: off (default: " +
          std::to_string(models::kAcganMinibatchStd) + " with --conditional acgan, else 0)",
      cxxopts::value<int64_t>()->default_value("0"))(
      "no-batch-norm", "No BatchNorm in either network; their convolutions get biases instead "
      "(default: off, i.e. BatchNorm as in the notebook)",
      cxxopts::value<bool>()->default_value("false"))(
      "conditional",
      "Train on the data's labels (SVHN digits, class folders): acgan (label joins z, D "
      "classifies; measured better, docs/QUALITY.md; what --conditional alone means) or "
      "projection (conditional BatchNorm in G, a projection discriminator); none: off",
      cxxopts::value<std::string>()->default_value(d.conditional))(
      "g-class-weight",
      "acgan: weight of the class loss in G's loss; below 1 G draws the digit less "
      "stereotypically (docs/QUALITY.md); D's classifier always learns at 1",
      cxxopts::value<double>()->default_value(number(d.g_class_weight)))(
      "no-acgan-projection",
      "acgan: D's real/fake logit without the projection term <class embedding, D's features> "
      "(the original AC-GAN; docs/QUALITY.md) (default: off, i.e. acgan's D has the term)",
      cxxopts::value<bool>()->default_value("false"));
  // clang-format on
}

std::vector<std::string> with_default_conditional_method(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    const bool bare = args[i] == "--conditional" &&
                      (i + 1 == args.size() || args[i + 1].rfind("-", 0) == 0);
    if (bare) args.insert(args.begin() + static_cast<std::ptrdiff_t>(i + 1), "acgan");
  }
  return args;
}

void read_lever_options(const cxxopts::ParseResult& args, train::TrainConfig& config) {
  // 0 in the config means "as --lr"; typed, it must be a real rate.
  for (const char* name : {"lr-d", "lr-g"}) {
    if (!args.count(name)) continue;
    const double lr = args[name].as<double>();
    if (!(lr > 0) || !std::isfinite(lr))
      throw InputError(std::string("--") + name + " must be a positive number, got " + number(lr));
    (std::string(name) == "lr-d" ? config.lr_d : config.lr_g) = lr;
  }
  config.loss = args["loss"].as<std::string>();
  config.augment = args["augment"].as<std::string>();
  config.augment_strength = args["augment-strength"].as<double>();
  config.spectral_norm = args["spectral-norm"].as<bool>();
  config.minibatch_std = args["minibatch-std"].as<int64_t>();
  config.batch_norm = !args["no-batch-norm"].as<bool>();
  config.conditional = args["conditional"].as<std::string>();
  config.g_class_weight = args["g-class-weight"].as<double>();
  // Off only when typed: apply_recipe turns it on for acgan otherwise.
  config.acgan_projection = !args["no-acgan-projection"].as<bool>();
  // A resumed run's method is in its config.json, not on the command line.
  if (args.count("g-class-weight") && !args.count("resume") && config.conditional != "acgan")
    throw InputError("--g-class-weight weighs AC-GAN's class loss; it needs --conditional acgan");
  if (args.count("no-acgan-projection") && !args.count("resume") && config.conditional != "acgan")
    throw InputError("--no-acgan-projection is AC-GAN's discriminator; it needs --conditional acgan");
}

}  // namespace dcgan::cli
