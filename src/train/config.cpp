#include "dcgan/train/config.h"

#include <stdexcept>
#include <utility>
#include <vector>

#include "dcgan/models/conditioning.h"
#include "dcgan/models/minibatch_std.h"
#include "dcgan/models/spec.h"
#include "dcgan/train/augment.h"
#include "dcgan/train/device.h"
#include "dcgan/train/gan.h"
#include "dcgan/util/errors.h"
#include "dcgan/util/progress_mode.h"

namespace dcgan::train {
namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw InputError(message);
}

// A recipe: the options it sets, as typed (option name without "--", value).
struct Recipe {
  std::string name;
  std::vector<std::pair<std::string, std::string>> flags;
};

// docs/QUALITY.md measured each against the notebook's defaults.
const std::vector<Recipe>& recipe_table() {
  static const std::vector<Recipe> table = {
      {"notebook", {}},  // every default as it is
      // The paper's init, a short-window G-EMA (0.995: about 200 steps, so a 25-epoch run's
      // average holds none of the untrained weights) and twice the G steps per epoch.
      {"improved", {{"weights-init", "normal"}, {"g-ema", "0.995"}, {"batch-size", "64"}}},
      // improved's G-EMA and batch at 5x the notebook's learning rate, with PyTorch's init: at
      // most half the notebook's FD on both seeds.
      {"high-lr", {{"lr", "0.001"}, {"g-ema", "0.995"}, {"batch-size", "64"}}},
  };
  return table;
}

const Recipe* find_recipe(const std::string& name) {
  for (const auto& recipe : recipe_table()) {
    if (recipe.name == name) return &recipe;
  }
  return nullptr;
}

void set_option(TrainConfig& c, const std::string& option, const std::string& value) {
  if (option == "weights-init") {
    c.weights_init = value;
  } else if (option == "g-ema") {
    c.g_ema = std::stod(value);
  } else if (option == "batch-size") {
    c.batch_size = std::stoll(value);
  } else if (option == "lr") {
    c.lr = std::stod(value);
  } else {
    throw std::logic_error("recipe_table sets --" + option + ", which set_option does not know");
  }
}

}  // namespace

void apply_recipe(TrainConfig& c, const std::set<std::string>& given) {
  // pytorch/examples initialises every layer as the DCGAN paper does; its users expect that.
  if (c.arch == "pytorch-examples" && !given.count("weights-init")) c.weights_init = "normal";
  // D's class-conditional defaults (an unknown --conditional is named here as validate would).
  const auto conditioning = models::parse_conditioning(c.conditional);
  if (!given.count("minibatch-std")) c.minibatch_std = models::default_minibatch_std(conditioning);
  if (!given.count("acgan-projection"))
    c.acgan_projection = models::default_acgan_projection(conditioning);
  const Recipe* recipe = find_recipe(c.recipe);
  if (recipe == nullptr) return;  // validate() names the recipes
  for (const auto& [option, value] : recipe->flags) {
    if (!given.count(option)) set_option(c, option, value);
  }
}

std::string recipe_flags(const std::string& recipe) {
  std::string text;
  if (const Recipe* found = find_recipe(recipe)) {
    for (const auto& [option, value] : found->flags) {
      text += (text.empty() ? "--" : " --") + option + " " + value;
    }
  }
  return text;
}

std::string recipe_names(bool with_flags) {
  const auto& table = recipe_table();
  std::string text;
  for (size_t i = 0; i < table.size(); ++i) {
    text += (i == 0 ? "" : i + 1 == table.size() ? " or " : ", ") + table[i].name;
    const auto flags = recipe_flags(table[i].name);
    if (with_flags && !flags.empty()) text += " (" + flags + ")";
  }
  return text;
}

void validate(const TrainConfig& c) {
  require(!c.data.empty(), "--data: at least one file or folder is required");
  require(c.epochs >= 1, "--epochs must be at least 1, got " + std::to_string(c.epochs));
  require(c.batch_size >= 1,
          "--batch-size must be at least 1, got " + std::to_string(c.batch_size));
  require(c.conv_dim >= 1, "--conv-dim must be at least 1, got " + std::to_string(c.conv_dim));
  require(c.z_size >= 1, "--z-size must be at least 1, got " + std::to_string(c.z_size));
  models::check_image_size(c.image_size);
  models::parse_arch(c.arch);
  require(c.lr > 0 && std::isfinite(c.lr),
          "--lr must be a positive number, got " + std::to_string(c.lr));
  require(c.lr_d >= 0 && std::isfinite(c.lr_d),
          "--lr-d must be a positive number, got " + std::to_string(c.lr_d));
  require(c.lr_g >= 0 && std::isfinite(c.lr_g),
          "--lr-g must be a positive number, got " + std::to_string(c.lr_g));
  require(parse_loss(c.loss) == LossKind::kBce || !c.smooth_labels,
          "--smooth-labels is for the BCE loss; the hinge loss has no labels to smooth");
  parse_augment_policy(c.augment, c.augment_strength);
  require(models::parse_conditioning(c.conditional) != models::Conditioning::kProjection ||
              c.batch_norm,
          "--conditional projection conditions G through its BatchNorm layers; it cannot be "
          "combined with --no-batch-norm (use --conditional acgan)");
  require(c.g_class_weight >= 0 && std::isfinite(c.g_class_weight),
          "--g-class-weight must be 0 or a positive number, got " +
              std::to_string(c.g_class_weight));
  models::check_minibatch_std_option(c.minibatch_std);
  require(c.beta1 >= 0 && c.beta1 < 1, "--beta1 must be in [0, 1), got " + std::to_string(c.beta1));
  require(c.beta2 >= 0 && c.beta2 < 1, "--beta2 must be in [0, 1), got " + std::to_string(c.beta2));
  require(c.g_ema >= 0 && c.g_ema < 1,
          "--g-ema must be in [0, 1) (0: off; 0.999 is typical), got " + std::to_string(c.g_ema));
  require(c.weights_init == "default" || c.weights_init == "normal",
          "--weights-init must be default or normal, got '" + c.weights_init + "'");
  require(find_recipe(c.recipe) != nullptr,
          "--recipe must be " + recipe_names() + ", got '" + c.recipe + "'");
  require(c.sample_size >= 1 && c.sample_size <= 1024,
          "--sample-size must be in 1-1024, got " + std::to_string(c.sample_size));
  require(c.nrow >= 1, "--nrow must be at least 1, got " + std::to_string(c.nrow));
  require(c.print_every >= 1,
          "--print-every must be at least 1, got " + std::to_string(c.print_every));
  require(c.checkpoint_every >= 1,
          "--checkpoint-every must be at least 1, got " + std::to_string(c.checkpoint_every));
  require(c.keep_checkpoints >= 0,
          "--keep-checkpoints must be 0 or more, got " + std::to_string(c.keep_checkpoints));
  require(c.limit >= 0, "--limit must be 0 (all images) or more, got " + std::to_string(c.limit));
  require(c.threads >= 0 && c.threads <= 1024,
          "--threads must be in 0-1024, got " + std::to_string(c.threads));
  check_progress_mode(c.progress);
  parse_device_name(c.device);  // throws on a malformed name
  require(c.step == "auto" || c.step == "eager" || c.step == "graph" || c.step == "static",
          "--step must be auto, eager, graph or static, got '" + c.step + "'");
  require(c.eval_every >= 0,
          "--eval-every must be 0 (off) or more, got " + std::to_string(c.eval_every));
  require(c.eval_every == 0 || !c.eval_data.empty(),
          "--eval-every needs --eval-data TEST.mat (labelled real images to compare samples with)");
  require(c.eval_count >= 2 && c.eval_count <= 100000,
          "--eval-count must be in 2-100000, got " + std::to_string(c.eval_count));
  require(c.precision == "fp32" || c.precision == "bf16",
          "--precision must be fp32 or bf16, got '" + c.precision + "'");
  require(c.backend == "auto" || c.backend == "gloo" || c.backend == "nccl",
          "--backend must be auto, gloo or nccl, got '" + c.backend + "'");
  require(c.dist_timeout >= 1 && c.dist_timeout <= 86400,
          "--dist-timeout must be in 1-86400 seconds, got " + std::to_string(c.dist_timeout));
}

nlohmann::json to_json(const TrainConfig& c) {
  return {{"data", c.data},
          {"out", c.out_dir},
          {"epochs", c.epochs},
          {"batch_size", c.batch_size},
          {"conv_dim", c.conv_dim},
          {"z_size", c.z_size},
          {"image_size", c.image_size},
          {"arch", c.arch},
          {"lr", c.lr},
          {"lr_d", c.lr_d},
          {"lr_g", c.lr_g},
          {"beta1", c.beta1},
          {"beta2", c.beta2},
          {"smooth_labels", c.smooth_labels},
          {"g_ema", c.g_ema},
          {"weights_init", c.weights_init},
          {"loss", c.loss},
          {"augment", c.augment},
          {"augment_strength", c.augment_strength},
          {"spectral_norm", c.spectral_norm},
          {"minibatch_std", c.minibatch_std},
          {"acgan_projection", c.acgan_projection},
          {"conditional", c.conditional},
          {"g_class_weight", c.g_class_weight},
          {"batch_norm", c.batch_norm},
          {"recipe", c.recipe},
          {"sample_size", c.sample_size},
          {"nrow", c.nrow},
          {"print_every", c.print_every},
          {"seed", c.seed},
          {"device", c.device},
          {"checkpoint_every", c.checkpoint_every},
          {"keep_checkpoints", c.keep_checkpoints},
          {"limit", c.limit},
          {"threads", c.threads},
          {"progress", c.progress},
          {"plot", c.plot},
          {"step", c.step},
          {"precision", c.precision},
          {"channels_last", c.channels_last},
          {"eval_every", c.eval_every},
          {"eval_data", c.eval_data},
          {"feature_net", c.feature_net},
          {"eval_count", c.eval_count},
          {"backend", c.backend},
          {"dist_timeout", c.dist_timeout}};
}

TrainConfig config_from_json(const nlohmann::json& j) {
  TrainConfig c;
  c.data = j.at("data").get<std::vector<std::string>>();
  c.out_dir = j.at("out").get<std::string>();
  c.epochs = j.at("epochs");
  c.batch_size = j.at("batch_size");
  c.conv_dim = j.at("conv_dim");
  c.z_size = j.at("z_size");
  c.image_size = j.value("image_size", int64_t{32});  // runs from before --image-size
  c.arch = j.value("arch", std::string("notebook"));
  c.lr = j.at("lr");
  c.lr_d = j.value("lr_d", 0.0);  // runs from before --lr-d / --lr-g
  c.lr_g = j.value("lr_g", 0.0);
  c.beta1 = j.at("beta1");
  c.beta2 = j.at("beta2");
  c.smooth_labels = j.at("smooth_labels");
  c.g_ema = j.value("g_ema", 0.0);
  c.weights_init = j.at("weights_init");
  // Runs from before these options trained with what is now their default.
  c.loss = j.value("loss", std::string("bce"));
  c.augment = j.value("augment", std::string("none"));
  c.augment_strength = j.value("augment_strength", 1.0);
  c.spectral_norm = j.value("spectral_norm", false);
  c.minibatch_std = j.value("minibatch_std", int64_t{0});
  c.acgan_projection = j.value("acgan_projection", false);
  c.conditional = j.value("conditional", std::string("none"));
  c.g_class_weight = j.value("g_class_weight", 1.0);
  c.batch_norm = j.value("batch_norm", true);
  c.recipe = j.value("recipe", std::string("notebook"));
  c.sample_size = j.at("sample_size");
  c.nrow = j.value("nrow", int64_t{8});
  c.print_every = j.at("print_every");
  c.seed = j.at("seed");
  c.seed_given = true;
  c.device = j.at("device");
  c.checkpoint_every = j.at("checkpoint_every");
  c.keep_checkpoints = j.value("keep_checkpoints", int64_t{3});
  c.limit = j.at("limit");
  c.threads = j.value("threads", int64_t{0});
  c.progress = j.value("progress", std::string("auto"));
  c.plot = j.value("plot", true);
  c.step = j.value("step", std::string("auto"));
  c.precision = j.value("precision", std::string("fp32"));
  c.channels_last = j.value("channels_last", false);
  c.eval_every = j.value("eval_every", int64_t{0});
  c.eval_data = j.value("eval_data", std::string());
  c.feature_net = j.value("feature_net", std::string());
  c.eval_count = j.value("eval_count", int64_t{1000});
  c.backend = j.value("backend", std::string("auto"));
  c.dist_timeout = j.value("dist_timeout", int64_t{30});
  return c;
}

TrainConfig merge_for_resume(const TrainConfig& saved, const TrainConfig& given,
                             const std::set<std::string>& given_names) {
  // Options that change how the rest of the run is carried out, not what it computes.
  // The step, precision and layout go with the device: a run may move between CPU and GPU.
  static const std::set<std::string> may_change = {
      "epochs", "device",    "threads",          "print-every",      "progress",
      "plot",   "resume",    "keep-checkpoints", "checkpoint-every", "out",
      "step",   "precision", "channels-last",    "backend",          "dist-timeout"};
  const auto saved_json = to_json(saved), given_json = to_json(given);
  for (const auto& name : given_names) {
    if (may_change.count(name)) continue;
    // The switches typed as --no-X; their names without "no-" are only the recipe's bookkeeping.
    if (name == "batch-norm" || name == "acgan-projection") continue;
    std::string key = name;
    std::replace(key.begin(), key.end(), '-', '_');
    const bool negated = key == "no_batch_norm" || key == "no_acgan_projection";
    if (negated) key = key.substr(3);
    if (!saved_json.contains(key)) continue;
    if (negated && saved_json[key] != given_json[key]) {
      throw InputError("--" + name +
                       " disagrees with the resumed run, which was trained without it " +
                       "(omit it, or start a new run)");
    }
    if (saved_json[key] != given_json[key]) {
      throw InputError("--" + name + " " + given_json[key].dump() +
                       " disagrees with the resumed run's " + saved_json[key].dump() +
                       " (omit it, or start a new run)");
    }
  }
  TrainConfig merged = saved;
  if (given_names.count("epochs")) merged.epochs = given.epochs;
  if (given_names.count("device")) merged.device = given.device;
  if (given_names.count("threads")) merged.threads = given.threads;
  if (given_names.count("print-every")) merged.print_every = given.print_every;
  if (given_names.count("progress")) merged.progress = given.progress;
  if (given_names.count("plot")) merged.plot = given.plot;
  if (given_names.count("keep-checkpoints")) merged.keep_checkpoints = given.keep_checkpoints;
  if (given_names.count("checkpoint-every")) merged.checkpoint_every = given.checkpoint_every;
  if (given_names.count("step")) merged.step = given.step;
  if (given_names.count("precision")) merged.precision = given.precision;
  if (given_names.count("channels-last")) merged.channels_last = given.channels_last;
  // Measuring quality changes nothing the run computes.
  if (given_names.count("eval-every")) merged.eval_every = given.eval_every;
  if (given_names.count("eval-data")) merged.eval_data = given.eval_data;
  if (given_names.count("feature-net")) merged.feature_net = given.feature_net;
  if (given_names.count("eval-count")) merged.eval_count = given.eval_count;
  if (given_names.count("backend")) merged.backend = given.backend;
  if (given_names.count("dist-timeout")) merged.dist_timeout = given.dist_timeout;
  merged.resume = given.resume;
  merged.out_dir = given.resume;
  return merged;
}

}  // namespace dcgan::train
