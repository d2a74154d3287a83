#pragma once

#include <torch/torch.h>

#include <string>

#include "dcgan/data/svhn.h"

namespace dcgan::eval {

// Bumped whenever FeatureNet's layers or its training recipe change: a saved net of another
// version measures in another feature space, so its distances are not comparable.
constexpr int64_t kFeatureNetVersion = 1;

struct FeatureNetOptions {
  FeatureNetOptions() = default;
  // Channels of the first conv; the others have 2x and 4x as many.
  TORCH_ARG(int64_t, width) = 16;
  // Length of the penultimate layer, the features the Fréchet distance is measured in.
  TORCH_ARG(int64_t, feature_dim) = 128;
};

// The feature net: a small digit classifier whose penultimate layer plays the part Inception's pool
// layer plays in FID (as LeNet does for MNIST). Three strided 4x4 conv + BatchNorm + ReLU blocks, a
// ReLU feature layer and a 10-way head. Input: N x 3 x S x S floats in [-1, 1]; images larger than
// 32x32 are area-averaged to 32x32 first, so one net trained at 32 measures runs of every size.
class FeatureNetImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kImageSide = 32;  // the side it computes at
  explicit FeatureNetImpl(FeatureNetOptions options = FeatureNetOptions());
  void reset();

  torch::Tensor features(const torch::Tensor& images);  // N x feature_dim
  torch::Tensor forward(const torch::Tensor& images);   // N x 10 logits

  const FeatureNetOptions& options() const { return options_; }

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Linear fc{nullptr}, head{nullptr};

 private:
  FeatureNetOptions options_;
};
TORCH_MODULE(FeatureNet);

// What a saved feature net was trained on, stored beside its weights so that a later evaluation
// can tell whether the file still fits.
struct FeatureNetInfo {
  int64_t version = kFeatureNetVersion;
  std::string data_file;       // file name (no folder) of the training data
  int64_t data_images = 0;     // images in it
  uint64_t data_checksum = 0;  // FNV-1a 64 of its pixels and labels
  uint64_t seed = 0;
  double test_accuracy = -1;  // on the labelled test set it was checked against; -1: none
};

// The identity of a training set as FeatureNetInfo records it (seed and accuracy left at 0/-1).
FeatureNetInfo data_identity(const std::string& path, const data::ImageSet& set);

// Throws InputError("<path>: <set> has no labels ...") unless every image of `set` has a digit
// label; `purpose` says what the labels are needed for.
void require_labels(const data::ImageSet& set, const std::string& path, const std::string& purpose);

// Trains a fresh feature net on `train` (labelled) with `seed`, on the CPU: Adam, batches of 64,
// the last epoch at a tenth of the rate; about a minute for 10,000 images on two cores. The global
// RNG is left as it was.
constexpr int64_t kFeatureNetEpochs = 3;
FeatureNet train_feature_net(const data::ImageSet& train, uint64_t seed,
                             int64_t epochs = kFeatureNetEpochs);

// Share of `set`'s images the net classifies as their label.
double classification_accuracy(FeatureNet& net, const data::ImageSet& set);

// Where a feature net trained on `train_data` lives by default: beside it (NAME.featnet.pt, or
// feature_net.pt inside a folder), so every run evaluated against that data - `dcgan evaluate` and
// `dcgan train --eval-every` alike - shares one net and their distances are comparable.
std::string default_feature_net_path(const std::string& train_data);

// The seed a feature net is trained with unless the user picks another.
constexpr uint64_t kDefaultFeatureNetSeed = 1;

// Writes the net and its info atomically; load_feature_net reads both back (CPU, eval mode).
// Throws InputError naming the file when it is missing, corrupt or of another version.
void save_feature_net(const std::string& path, FeatureNet& net, const FeatureNetInfo& info);
FeatureNet load_feature_net(const std::string& path, FeatureNetInfo* info = nullptr);
FeatureNetInfo read_feature_net_info(const std::string& path);

// The evaluation's entry point to the feature net: reuses `path` when it exists and, if `train` is
// given (non-null), was trained on that data with `seed` by this version; otherwise trains one on
// `train` (InputError when it is null or unlabelled), checks it on `test` when that is labelled,
// and saves it to `path`. `info` receives the net's header (with the accuracy on `test`, when
// labelled, measured now).
struct FeatureNetSource {
  std::string path;
  const data::ImageSet* train = nullptr;
  std::string train_path;  // for messages and the data identity
  const data::ImageSet* test = nullptr;
  uint64_t seed = 0;
};
FeatureNet load_or_train_feature_net(const FeatureNetSource& source, FeatureNetInfo* info,
                                     bool* trained = nullptr);

// Features (or class probabilities) of uint8 N x 3 x 32 x 32 images, in eval mode without
// gradients, in batches, on the net's device; the result is on the CPU.
torch::Tensor extract_features(FeatureNet& net, const torch::Tensor& images);
torch::Tensor class_probabilities(FeatureNet& net, const torch::Tensor& images);

}  // namespace dcgan::eval
