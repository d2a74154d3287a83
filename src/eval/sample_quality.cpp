#include "dcgan/eval/sample_quality.h"

#include <algorithm>

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
  const auto z = sampling::seeded_z(generator, count, seed);
  // In chunks: a large count would not fit in memory as floats at once.
  std::vector<torch::Tensor> images;
  for (int64_t start = 0; start < count; start += 1000)
    images.push_back(
        sampling::render(generator, z.narrow(0, start, std::min<int64_t>(1000, count - start))));
  return image_quality(net, torch::cat(images), real);
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

ClassAccuracy class_accuracy(models::Generator& generator, FeatureNet& net, int64_t count,
                             uint64_t seed) {
  const int64_t classes = generator->options().classes();
  TORCH_CHECK(generator->conditional(), "class_accuracy: the generator is not conditional");
  ClassAccuracy accuracy;
  accuracy.images_per_class = std::max<int64_t>(1, count / classes);
  const auto labels = sampling::class_rows(classes, accuracy.images_per_class);
  const auto z = sampling::seeded_z(generator, labels.size(0), seed);
  std::vector<torch::Tensor> images;
  for (int64_t start = 0; start < labels.size(0); start += 1000) {
    const auto n = std::min<int64_t>(1000, labels.size(0) - start);
    images.push_back(sampling::render(generator, z.narrow(0, start, n), labels.narrow(0, start, n)));
  }
  const auto read_as = class_probabilities(net, torch::cat(images)).argmax(1);
  const auto right = read_as.eq(labels).to(torch::kFloat64).view({classes, -1}).mean(1);
  for (int64_t k = 0; k < classes; ++k) accuracy.per_class.push_back(right[k].item<double>());
  return accuracy;
}

nlohmann::json to_json(const ClassAccuracy& accuracy, const std::vector<std::string>& names) {
  nlohmann::json per_class = nlohmann::json::object();
  double sum = 0;
  size_t worst = 0;
  for (size_t k = 0; k < accuracy.per_class.size(); ++k) {
    per_class[k < names.size() ? names[k] : std::to_string(k)] = accuracy.per_class[k];
    sum += accuracy.per_class[k];
    if (accuracy.per_class[k] < accuracy.per_class[worst]) worst = k;
  }
  const auto n = static_cast<double>(std::max<size_t>(1, accuracy.per_class.size()));
  return {{"mean", sum / n},
          {"worst", accuracy.per_class.empty() ? 0.0 : accuracy.per_class[worst]},
          {"worst_class", worst < names.size() ? names[worst] : std::to_string(worst)},
          {"images_per_class", accuracy.images_per_class},
          {"per_class", per_class}};
}

}  // namespace dcgan::eval
