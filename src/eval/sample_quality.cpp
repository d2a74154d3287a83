#include "dcgan/eval/sample_quality.h"

#include <algorithm>
#include <cmath>

#include "dcgan/sampling/sampling.h"

namespace dcgan::eval {

FeatureStats real_feature_stats(FeatureNet& net, const torch::Tensor& real_images) {
  return feature_stats(extract_features(net, real_images));
}

SampleQuality image_quality(FeatureNet& net, const torch::Tensor& images,
                            const FeatureStats& real) {
  TORCH_CHECK(images.size(0) >= 2, "image_quality: need at least 2 images");
  SampleQuality quality;
  quality.generated = images.size(0);
  quality.real = real.count;
  quality.frechet_distance = frechet_distance(real_feature_stats(net, images), real);
  count_predictions(class_probabilities(net, images), quality);
  return quality;
}

void count_predictions(const torch::Tensor& probabilities, SampleQuality& quality) {
  const auto [top, digit] = probabilities.max(1);
  quality.confident_share = top.gt(kConfidentProbability).to(torch::kFloat64).mean().item<double>();
  const auto counts = torch::bincount(digit, /*weights=*/{}, /*minlength=*/10);
  for (int64_t d = 0; d < 10; ++d) quality.class_counts[d] = counts[d].item<int64_t>();
}

SampleQuality sample_quality(models::Generator& generator, FeatureNet& net,
                             const FeatureStats& real, int64_t count, uint64_t seed) {
  TORCH_CHECK(count >= 2, "sample_quality: need at least 2 images, got ", count);
  return image_quality(net, sampling::render(generator, sampling::seeded_z(generator, count, seed)),
                       real);
}

SampleQuality sample_quality(models::Generator& generator, FeatureNet& net,
                             const torch::Tensor& real_images, int64_t count, uint64_t seed) {
  const auto real = real_images.narrow(0, 0, std::min(count, real_images.size(0)));
  return sample_quality(generator, net, real_feature_stats(net, real), count, seed);
}

nlohmann::json to_json(const SampleQuality& quality) {
  return {{"frechet_distance", quality.frechet_distance},
          {"confident_share", quality.confident_share},
          {"generated", quality.generated},
          {"real", quality.real},
          {"class_counts", quality.class_counts}};
}

namespace {

// `per_class` images asked for as each class of `generator`, in class order, with their labels.
data::ImageSet class_samples(models::Generator& generator, int64_t per_class, uint64_t seed) {
  data::ImageSet set;
  set.labels = sampling::class_rows(generator->options().classes(), per_class);
  set.images = sampling::render(
      generator, sampling::seeded_z(generator, set.labels.size(0), seed), set.labels);
  set.format = "generated";
  return set;
}

}  // namespace

ClassQuality class_quality(models::Generator& generator, FeatureNet& net,
                           const data::ImageSet& real, int64_t count, uint64_t seed) {
  TORCH_CHECK(generator->conditional(), "class_quality: the generator is not conditional");
  const int64_t classes = generator->options().classes();
  ClassQuality quality;
  quality.images_per_class = std::max<int64_t>(2, count / classes);
  const auto generated = class_samples(generator, quality.images_per_class, seed);
  const auto read_as = class_probabilities(net, generated.images).argmax(1);
  const auto features = extract_features(net, generated.images);
  const auto right = read_as.eq(generated.labels).to(torch::kFloat64).view({classes, -1}).mean(1);
  for (int64_t k = 0; k < classes; ++k) {
    quality.accuracy.push_back(right[k].item<double>());
    const auto of_class = real.labels.eq(k).nonzero().flatten();
    if (of_class.size(0) < 2) {
      quality.frechet.push_back(std::nan(""));
      continue;
    }
    const auto real_features = extract_features(net, real.images.index_select(0, of_class));
    quality.frechet.push_back(frechet_distance(
        features.narrow(0, k * quality.images_per_class, quality.images_per_class), real_features));
  }
  return quality;
}

nlohmann::json to_json(const ClassQuality& quality, const std::vector<std::string>& names) {
  nlohmann::json accuracy = nlohmann::json::object(), frechet = nlohmann::json::object();
  double accuracy_sum = 0, frechet_sum = 0;
  int64_t measured = 0;
  size_t worst = 0;
  const auto name = [&](size_t k) { return k < names.size() ? names[k] : std::to_string(k); };
  for (size_t k = 0; k < quality.accuracy.size(); ++k) {
    accuracy[name(k)] = quality.accuracy[k];
    accuracy_sum += quality.accuracy[k];
    if (quality.accuracy[k] < quality.accuracy[worst]) worst = k;
    const double fd = k < quality.frechet.size() ? quality.frechet[k] : std::nan("");
    frechet[name(k)] = std::isfinite(fd) ? nlohmann::json(fd) : nlohmann::json(nullptr);
    if (std::isfinite(fd)) frechet_sum += fd, ++measured;
  }
  const auto classes = static_cast<double>(std::max<size_t>(1, quality.accuracy.size()));
  return {{"mean_accuracy", accuracy_sum / classes},
          {"worst_accuracy", quality.accuracy.empty() ? 0.0 : quality.accuracy[worst]},
          {"worst_class", name(worst)},
          {"mean_intra_class_fd",
           measured ? nlohmann::json(frechet_sum / static_cast<double>(measured)) : nlohmann::json()},
          {"images_per_class", quality.images_per_class},
          {"accuracy", accuracy},
          {"intra_class_fd", frechet}};
}

ClassificationAccuracyScore classification_accuracy_score(models::Generator& generator,
                                                          const data::ImageSet& train,
                                                          const data::ImageSet& test,
                                                          int64_t count, uint64_t seed) {
  const int64_t classes = generator->options().classes();
  ClassificationAccuracyScore score;
  const auto generated = class_samples(generator, std::max<int64_t>(1, count / classes), seed);
  score.images = generated.size();
  auto on_generated = train_feature_net(generated, seed);
  score.generated_trained = classification_accuracy(on_generated, test);
  data::ImageSet real = train;
  const auto n = std::min(score.images, train.size());
  real.images = train.images.narrow(0, 0, n);
  real.labels = train.labels.narrow(0, 0, n);
  auto on_real = train_feature_net(real, seed);
  score.real_trained = classification_accuracy(on_real, test);
  return score;
}

nlohmann::json to_json(const ClassificationAccuracyScore& score) {
  return {{"generated_trained_accuracy", score.generated_trained},
          {"real_trained_accuracy", score.real_trained},
          {"ratio", score.real_trained > 0 ? score.generated_trained / score.real_trained : 0.0},
          {"images", score.images}};
}

}  // namespace dcgan::eval
