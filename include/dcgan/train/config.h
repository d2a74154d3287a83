#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace dcgan::train {

// Every option of a training run, filled by the command line and written to the run's config.json.
// Defaults are the notebook's, with the design's conv_dim 128.

struct TrainConfig {
  std::vector<std::string> data{"data/train_32x32.mat"};
  std::string out_dir;  // empty: runs/<timestamp>
  int64_t epochs = 50;
  int64_t batch_size = 128;
  int64_t conv_dim = 128;
  int64_t z_size = 100;
  int64_t image_size = 32;           // 32 | 64 | 128 | 256: the side of the images made and read
  std::string arch = "notebook";     // notebook | pytorch-examples (see models/spec.h)
  double lr = 0.0002;  // both networks' (--lr)
  double lr_d = 0;     // > 0: D's instead (--lr-d)
  double lr_g = 0;     // > 0: G's instead (--lr-g)
  double beta1 = 0.5;
  double beta2 = 0.999;
  bool smooth_labels = false;
  double g_ema = 0.0;  // > 0: decay of the generator's weight average used for samples
  std::string weights_init = "default";  // default | normal
  std::string loss = "bce";              // bce | hinge (see train/gan.h)
  std::string augment = "none";          // none, or a list of color, translation, cutout
  double augment_strength = 1.0;         // 0-1 (see train/augment.h)
  bool spectral_norm = false;            // D's layers spectrally normalised
  // > 0: D's minibatch standard deviation over groups of this many images (0: off). A run that
  // does not set it gets models::default_minibatch_std (apply_recipe).
  int64_t minibatch_std = 0;
  // acgan: D's logit also gets the projection term; on unless --no-acgan-projection (apply_recipe).
  bool acgan_projection = false;
  bool batch_norm = true;                // false: --no-batch-norm
  std::string conditional = "none";      // none | projection | acgan (see models/conditioning.h)
  double g_class_weight = 0.3;           // acgan: weight of G's class loss (docs/QUALITY.md)
  std::string recipe = "notebook";       // notebook | improved | high-lr (see apply_recipe)
  int64_t sample_size = 16;
  int64_t nrow = 8;
  int64_t print_every = 300;
  uint64_t seed = 0;
  bool seed_given = false;         // false: a random seed is drawn and recorded
  std::string device = "auto";     // auto | cpu | cuda | cuda:N
  std::string resume;              // run folder to continue
  int64_t checkpoint_every = 1;    // epochs between epoch_NNN.pt checkpoints
  int64_t keep_checkpoints = 3;    // epoch_NNN.pt files kept; last.pt is always kept
  int64_t limit = 0;               // > 0: train on the first `limit` images only
  int64_t threads = 0;             // CPU threads; 0: OMP_NUM_THREADS when set, else every core
  std::string progress = "auto";   // auto | bar | log
  bool plot = true;                // losses.png through gnuplot, when installed
  std::string step = "auto";       // auto | eager | graph | static (see train/step.h)
  std::string precision = "fp32";  // fp32 | bf16 (bf16 autocast, CUDA only)
  bool channels_last = false;      // NHWC convolution weights
  int64_t eval_every = 0;          // > 0: sample quality (Frechet distance) every N epochs
  std::string eval_data;           // the labelled test set --eval-every compares samples with
  std::string feature_net;         // empty: beside the training data (see eval/feature_net.h)
  int64_t eval_count = 1000;       // generated images per evaluation
  // How image folders are read (--no-cache, --cache-dir, --strict); not part of the run's identity,
  // so not in config.json.
  bool folder_cache = true;
  std::string cache_dir;  // empty: data::default_cache_dir()
  bool strict_data = false;
  // Data-parallel runs (see distributed/communicator.h): --batch-size is per rank.
  std::string backend = "auto";    // auto | gloo | nccl
  int64_t dist_timeout = 30;       // seconds a collective or the rendezvous waits for a rank
  std::string command_line;        // as typed, for config.json and report.html; not an option
};

// The recipes `--recipe` names, and the defaults of --arch pytorch-examples (--weights-init normal,
// as pytorch/examples/dcgan initialises). "notebook" changes nothing; "improved" and "high-lr" are
// combinations that docs/QUALITY.md measured against it. It fills only the options that are not in
// `given_names` (the options the user typed), so an explicit flag still wins. validate() refuses an
// unknown name.
void apply_recipe(TrainConfig& config, const std::set<std::string>& given_names);

// What a recipe sets, as the flags that would set it (for logs and --help).
std::string recipe_flags(const std::string& recipe);

// The recipes' names, for messages: "notebook, improved or high-lr"; with_flags adds each one's
// recipe_flags in brackets (for --help).
std::string recipe_names(bool with_flags = false);

// Checks values that need no files: ranges, names. Throws dcgan::InputError naming the option.
void validate(const TrainConfig& config);

nlohmann::json to_json(const TrainConfig& config);
TrainConfig config_from_json(const nlohmann::json& json);

// For --resume: the saved run's config, with `epochs` (and `device`, `threads`, `print_every`,
// `progress`, `plot`, checkpoint options, `step`, `precision`, `channels_last`, the --eval-every
// options) taken from `given`.
// Any other option in `given_names` (the options the user typed) must equal the saved value, else
// InputError naming the option and both values.
TrainConfig merge_for_resume(const TrainConfig& saved, const TrainConfig& given,
                             const std::set<std::string>& given_names);

}  // namespace dcgan::train
