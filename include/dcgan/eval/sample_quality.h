#pragma once

#include <torch/torch.h>

#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dcgan/eval/feature_net.h"
#include "dcgan/eval/frechet.h"
#include "dcgan/models/generator.h"

namespace dcgan::eval {

// How good a generator's samples are, measured in the feature net's space.
struct SampleQuality {
  double frechet_distance = 0;  // generated vs real features; lower is better, 0 is identical
  double confident_share = 0;   // share of generated images the net gives one digit > 0.9
  int64_t generated = 0;        // images generated
  int64_t real = 0;             // real images they were compared with
  std::array<int64_t, 10> class_counts{};  // generated images per predicted digit
};

// Probability above which a generated image counts as a confidently recognised digit.
constexpr double kConfidentProbability = 0.9;

// Fills quality's confident_share and class_counts from the feature net's class probabilities of
// the generated images (N x 10): an image counts for its most probable digit, and as confident when
// that probability is above kConfidentProbability.
void count_predictions(const torch::Tensor& probabilities, SampleQuality& quality);

// Feature statistics of real uint8 N x 3 x 32 x 32 images: compute them once and pass them to
// sample_quality on every call (the trainer's --eval-every does this).
FeatureStats real_feature_stats(FeatureNet& net, const torch::Tensor& real_images);

// The trainer's entry point: `count` images from the generator (eval mode, z from seeded_z(seed),
// rendered to uint8 as saved PNGs are), their Fréchet distance to `real` and the share classified
// with confidence. The generator's train/eval mode and the global RNG are left as they were.
// 3,000 images take a few seconds on two CPU cores for the notebook's conv_dim 32.
SampleQuality sample_quality(models::Generator& generator, FeatureNet& net,
                             const FeatureStats& real, int64_t count, uint64_t seed);

// The same against real uint8 images (the first min(count, N) of them).
SampleQuality sample_quality(models::Generator& generator, FeatureNet& net,
                             const torch::Tensor& real_images, int64_t count, uint64_t seed);

// The same measures for a set of images instead of a generator: the real-vs-real floor, and tests.
SampleQuality image_quality(FeatureNet& net, const torch::Tensor& images, const FeatureStats& real);

nlohmann::json to_json(const SampleQuality& quality);

// A conditional generator, class by class: `images_per_class` images asked for as each class (z
// from seeded_z(seed), rendered as saved PNGs are); the share of them the feature net reads as that
// class (class accuracy), and their Fréchet distance to the real images of that class (intra-class
// FD; NaN where the class has fewer than 2 real images). The net must classify the generator's
// classes (the same labels as `real`'s).
struct ClassQuality {
  std::vector<double> accuracy;   // per class
  std::vector<double> frechet;    // per class
  int64_t images_per_class = 0;
};
// `count` images in all (at least 2 per class); `real`: labelled images.
ClassQuality class_quality(models::Generator& generator, FeatureNet& net,
                           const data::ImageSet& real, int64_t count, uint64_t seed);
// Means, the worst class's accuracy (and its name), and both measures per class by name.
nlohmann::json to_json(const ClassQuality& quality, const std::vector<std::string>& names);

// The classification accuracy score (Ravuri & Vinyals 2019): the feature-net architecture trained
// only on `count` generated, labelled images (balanced over the classes), tested on the real test
// set, beside the same net trained on `count` real training images (the first of `train`).
struct ClassificationAccuracyScore {
  double generated_trained = 0;  // test accuracy of the net trained on generated images
  double real_trained = 0;       // test accuracy of the net trained on real images
  int64_t images = 0;
};
ClassificationAccuracyScore classification_accuracy_score(models::Generator& generator,
                                                          const data::ImageSet& train,
                                                          const data::ImageSet& test,
                                                          int64_t count, uint64_t seed);
nlohmann::json to_json(const ClassificationAccuracyScore& score);

}  // namespace dcgan::eval
