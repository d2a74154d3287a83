#include "dcgan/eval/feature_net.h"

#include <ATen/CPUGeneratorImpl.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <mutex>
#include <sstream>

#include "dcgan/data/scale.h"
#include "dcgan/eval/seed.h"
#include "dcgan/util/archive_values.h"
#include "dcgan/util/errors.h"
#include "dcgan/util/files.h"

namespace dcgan::eval {
namespace {

constexpr int64_t kBatch = 500;  // images per forward pass when only measuring

// Strided 4x4 convs as in the discriminator: no full-resolution activations, so training stays
// at about a minute on two CPU cores.
torch::nn::Conv2dOptions strided_conv(int64_t in, int64_t out) {
  return torch::nn::Conv2dOptions(in, out, /*kernel_size=*/4).stride(2).padding(1).bias(false);
}

uint64_t fnv1a64(uint64_t hash, const torch::Tensor& t) {
  const auto c = t.contiguous();
  const auto* bytes = static_cast<const unsigned char*>(c.data_ptr());
  const auto size = static_cast<size_t>(c.numel() * c.element_size());
  for (size_t i = 0; i < size; ++i) hash = (hash ^ bytes[i]) * 1099511628211ULL;
  return hash;
}

torch::Device net_device(FeatureNet& net) {
  return net->head->weight.device();
}

// Runs `fn` on batches of the scaled images in eval mode without gradients; concatenates on CPU.
template <typename Fn>
torch::Tensor batched(FeatureNet& net, const torch::Tensor& images, Fn fn) {
  torch::NoGradGuard no_grad;
  const bool was_training = net->is_training();
  net->eval();
  std::vector<torch::Tensor> parts;
  const auto device = net_device(net);
  for (int64_t start = 0; start < images.size(0); start += kBatch) {
    const auto batch = images.narrow(0, start, std::min(kBatch, images.size(0) - start));
    parts.push_back(fn(data::scale(batch.to(device))).cpu());
  }
  net->train(was_training);
  return parts.empty() ? torch::empty({0}) : torch::cat(parts);
}

FeatureNetInfo read_info(torch::serialize::InputArchive& archive, const std::string& path) {
  // A fresh tensor per key: read() into a defined tensor resizes it in place, and may not.
  auto value = [&](const char* key) {
    torch::Tensor t;
    archive.read(key, t);
    return t;
  };
  FeatureNetInfo info;
  try {
    info.version = value("feature_net_version").item<int64_t>();
    const auto name = value("data_file").contiguous();
    info.data_file.assign(reinterpret_cast<const char*>(name.data_ptr<uint8_t>()),
                          static_cast<size_t>(name.numel()));
    info.data_images = value("data_images").item<int64_t>();
    info.data_checksum = static_cast<uint64_t>(value("data_checksum").item<int64_t>());
    info.seed = static_cast<uint64_t>(value("seed").item<int64_t>());
    info.test_accuracy = value("test_accuracy").item<double>();
  } catch (const c10::Error& e) {
    throw InputError(path + ": not a dcgan feature net (no header: " +
                     first_line(e.what_without_backtrace()) + ")");
  }
  return info;
}

torch::serialize::InputArchive open(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw InputError(path + ": no such feature net file");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path, torch::kCPU);
  } catch (const c10::Error& e) {
    throw InputError(path + ": not a readable dcgan feature net (" +
                     first_line(e.what_without_backtrace()) + ")");
  }
  return archive;
}

}  // namespace

FeatureNetImpl::FeatureNetImpl(FeatureNetOptions options) : options_(options) {
  reset();
}

void FeatureNetImpl::reset() {
  const int64_t w = options_.width();
  TORCH_CHECK(w >= 1 && options_.feature_dim() >= 1, "FeatureNet: sizes must be positive");
  conv1 =
      register_module("conv1", torch::nn::Conv2d(strided_conv(3, w)));  // {3,32,32} -> {W,16,16}
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(w));
  conv2 = register_module("conv2", torch::nn::Conv2d(strided_conv(w, 2 * w)));  // -> {2W,8,8}
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(2 * w));
  conv3 = register_module("conv3", torch::nn::Conv2d(strided_conv(2 * w, 4 * w)));  // -> {4W,4,4}
  bn3 = register_module("bn3", torch::nn::BatchNorm2d(4 * w));
  fc = register_module("fc", torch::nn::Linear(4 * w * 4 * 4, options_.feature_dim()));  // -> {F}
  head = register_module("head", torch::nn::Linear(options_.feature_dim(), 10));         // -> {10}
}

torch::Tensor FeatureNetImpl::features(const torch::Tensor& images) {
  // The net is a 32x32 classifier: larger images (64x64 and up, real and generated alike) are
  // area-averaged down to the size it is trained and measured at.
  const auto input = images.size(-1) == kImageSide
                         ? images
                         : torch::adaptive_avg_pool2d(images, {kImageSide, kImageSide});
  auto x = torch::relu(bn1(conv1(input)));
  x = torch::relu(bn2(conv2(x)));
  x = torch::relu(bn3(conv3(x)));
  return torch::relu(fc(x.flatten(1)));
}

torch::Tensor FeatureNetImpl::forward(const torch::Tensor& images) {
  return head(features(images));
}

FeatureNetInfo data_identity(const std::string& path, const data::ImageSet& set) {
  FeatureNetInfo info;
  info.data_file = std::filesystem::path(path).filename().string();
  info.data_images = set.size();
  info.data_checksum = fnv1a64(fnv1a64(14695981039346656037ULL, set.images), set.labels);
  return info;
}

void require_labels(const data::ImageSet& set, const std::string& path,
                    const std::string& purpose) {
  if (set.size() == 0) throw InputError(path + ": no images");
  // A class folder's labels serve as well as digits, up to the 10 outputs of the net's head.
  if (set.class_count() > 10) {
    throw InputError(path + ": has " + std::to_string(set.class_count()) + " classes; " + purpose +
                     " supports at most 10 (the feature net's head has 10 outputs)");
  }
  if (!set.labels.defined() || set.labels.lt(0).any().item<bool>() ||
      set.labels.gt(9).any().item<bool>()) {
    throw InputError(path + ": has no digit labels (" + set.format + "); " + purpose +
                     " needs labelled data such as an SVHN .mat file");
  }
}

FeatureNet train_feature_net(const data::ImageSet& train, uint64_t seed, int64_t epochs) {
  require_labels(train, "training data", "training the feature net");
  const ScopedSeed scoped(seed);
  FeatureNet net;
  net->train();
  torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(2e-3));
  constexpr int64_t kTrainBatch = 64;
  const int64_t n = train.size();
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    // Step decay: the last epoch refines at a tenth of the rate.
    if (epoch > 0 && epoch == epochs - 1) {
      for (auto& group : optimizer.param_groups())
        static_cast<torch::optim::AdamOptions&>(group.options()).lr(2e-4);
    }
    const auto order = torch::randperm(n, torch::kInt64);
    double loss_sum = 0;
    int64_t batches = 0;
    for (int64_t start = 0; start < n; start += kTrainBatch) {
      const auto idx = order.narrow(0, start, std::min(kTrainBatch, n - start));
      if (idx.size(0) < 2) continue;  // BatchNorm needs two images
      const auto images = data::scale(train.images.index_select(0, idx));
      const auto labels = train.labels.index_select(0, idx);
      optimizer.zero_grad();
      const auto loss = torch::nn::functional::cross_entropy(net(images), labels);
      loss.backward();
      optimizer.step();
      loss_sum += loss.item<double>();
      ++batches;
    }
    spdlog::debug("feature net epoch {}: loss {:.4f}", epoch + 1,
                  loss_sum / std::max<int64_t>(1, batches));
  }
  net->eval();
  return net;
}

double classification_accuracy(FeatureNet& net, const data::ImageSet& set) {
  if (set.size() == 0) return 0;
  const auto predicted = class_probabilities(net, set.images).argmax(1);
  return predicted.eq(set.labels).to(torch::kFloat64).mean().item<double>();
}

torch::Tensor extract_features(FeatureNet& net, const torch::Tensor& images) {
  return batched(net, images, [&](const torch::Tensor& x) { return net->features(x); });
}

torch::Tensor class_probabilities(FeatureNet& net, const torch::Tensor& images) {
  return batched(net, images, [&](const torch::Tensor& x) { return torch::softmax(net(x), 1); });
}

void save_feature_net(const std::string& path, FeatureNet& net, const FeatureNetInfo& info) {
  torch::serialize::OutputArchive archive, model;
  archive.write("feature_net_version", int_tensor(info.version));
  archive.write("width", int_tensor(net->options().width()));
  archive.write("feature_dim", int_tensor(net->options().feature_dim()));
  archive.write("data_file", string_tensor(info.data_file));
  archive.write("data_images", int_tensor(info.data_images));
  archive.write("data_checksum", int_tensor(static_cast<int64_t>(info.data_checksum)));
  archive.write("seed", int_tensor(static_cast<int64_t>(info.seed)));
  archive.write("test_accuracy", torch::tensor(info.test_accuracy, torch::kFloat64));
  net->save(model);
  archive.write("model", model);
  std::ostringstream bytes;
  archive.save_to(bytes);
  write_file_atomically(path, bytes.str());
}

FeatureNetInfo read_feature_net_info(const std::string& path) {
  auto archive = open(path);
  return read_info(archive, path);
}

FeatureNet load_feature_net(const std::string& path, FeatureNetInfo* info_out) {
  auto archive = open(path);
  const auto info = read_info(archive, path);
  if (info.version != kFeatureNetVersion) {
    throw InputError(path + ": feature net version " + std::to_string(info.version) +
                     ", this dcgan uses version " + std::to_string(kFeatureNetVersion) +
                     " (give --train-data to train a new one)");
  }
  FeatureNet net{nullptr};
  try {
    torch::Tensor width, feature_dim;
    archive.read("width", width);
    archive.read("feature_dim", feature_dim);
    // Building the layers draws their (soon overwritten) initial weights from the global RNG; a
    // caller mid-run, such as `train --eval-every`, must get its random numbers back untouched.
    const ScopedSeed keep_callers_random_numbers(kDefaultFeatureNetSeed);
    net = FeatureNet(
        FeatureNetOptions().width(width.item<int64_t>()).feature_dim(feature_dim.item<int64_t>()));
    torch::serialize::InputArchive model;
    archive.read("model", model);
    net->load(model);
  } catch (const c10::Error& e) {
    throw InputError(path + ": feature net is incomplete or corrupt (" +
                     first_line(e.what_without_backtrace()) + ")");
  }
  net->eval();
  if (info_out) *info_out = info;
  return net;
}

FeatureNet load_or_train_feature_net(const FeatureNetSource& source, FeatureNetInfo* info_out,
                                     bool* trained) {
  const bool test_labelled =
      source.test && source.test->size() > 0 && source.test->labels.ge(0).all().item<bool>();
  std::error_code ec;
  if (std::filesystem::exists(source.path, ec)) {
    auto info = read_feature_net_info(source.path);
    bool fits = info.version == kFeatureNetVersion;
    if (fits && source.train) {
      const auto wanted = data_identity(source.train_path, *source.train);
      fits = info.data_file == wanted.data_file && info.data_images == wanted.data_images &&
             info.data_checksum == wanted.data_checksum && info.seed == source.seed;
    }
    if (fits || !source.train) {
      auto net = load_feature_net(source.path, &info);
      if (test_labelled) info.test_accuracy = classification_accuracy(net, *source.test);
      if (info_out) *info_out = info;
      if (trained) *trained = false;
      return net;
    }
    spdlog::info("{}: made from other data, seed or version; training a new one", source.path);
  }
  if (!source.train) {
    throw InputError(source.path +
                     ": no such feature net; give --train-data (labelled) to train one");
  }
  require_labels(*source.train, source.train_path, "training the feature net");
  auto info = data_identity(source.train_path, *source.train);
  info.seed = source.seed;
  auto net = train_feature_net(*source.train, source.seed);
  if (test_labelled) info.test_accuracy = classification_accuracy(net, *source.test);
  save_feature_net(source.path, net, info);
  if (info_out) *info_out = info;
  if (trained) *trained = true;
  return net;
}

std::string default_feature_net_path(const std::string& train_data) {
  const std::filesystem::path path(train_data);
  if (std::filesystem::is_directory(path)) return (path / "feature_net.pt").string();
  return (path.parent_path() / (path.stem().string() + ".featnet.pt")).string();
}

}  // namespace dcgan::eval
