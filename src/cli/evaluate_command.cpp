#include "dcgan/cli/evaluate_command.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cxxopts.hpp>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "dcgan/cli/data_options.h"
#include "dcgan/cli/options.h"
#include "dcgan/data/dataset.h"
#include "dcgan/eval/feature_net.h"
#include "dcgan/eval/probe.h"
#include "dcgan/eval/sample_quality.h"
#include "dcgan/eval/seed.h"
#include "dcgan/train/checkpoint.h"
#include "dcgan/train/trainer.h"
#include "dcgan/util/errors.h"

namespace dcgan::cli {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

bool labelled(const data::ImageSet& set) {
  return set.size() > 0 && set.labels.ge(0).all().item<bool>();
}

std::string percent(double share) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f%%", 100 * share);
  return text;
}

std::string fixed(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3f", value);
  return text;
}

}  // namespace

int evaluate_command(int argc, char** argv) {
  cxxopts::Options options(
      "dcgan evaluate",
      "Measure a checkpoint: (a) sample quality, the Fréchet distance between a digit classifier's "
      "features of generated and real test images; (b) the DCGAN paper's linear probe of the "
      "discriminator's features.");
  // clang-format off: one option per line reads as a table
  options.add_options()("checkpoint", "A checkpoint (run/checkpoints/last.pt or epoch_NNN.pt)",
                        cxxopts::value<std::string>())(
      "data", "Real test images: SVHN .mat (labelled) or image folder",
      cxxopts::value<std::string>())("train-data",
                                     "Labelled training data: trains the feature net, gives the "
                                     "real-vs-real floor and the probe's labels",
                                     cxxopts::value<std::string>())(
      "count", "Generated images (and at most as many real ones)",
      cxxopts::value<int64_t>()->default_value("3000"))(
      "seed", "Seed of the generated images' z and of the probe",
      cxxopts::value<uint64_t>()->default_value("0"))(
      "feature-net",
      "Feature net file: reused when it exists and fits, else trained and saved (default: beside "
      "--train-data, NAME.featnet.pt)",
      cxxopts::value<std::string>())(
      "feature-net-seed", "Seed for training the feature net",
      cxxopts::value<uint64_t>()->default_value(std::to_string(eval::kDefaultFeatureNetSeed)))(
      "probe-labels", "Class-balanced training labels for the probe (a multiple of 10)",
      cxxopts::value<int64_t>()->default_value("1000"))(
      "device", "auto, cpu, cuda or cuda:N", cxxopts::value<std::string>()->default_value("auto"))(
      "threads", "CPU threads (0: OMP_NUM_THREADS if set, else every core)",
      cxxopts::value<int64_t>()->default_value("0"))(
      "json", "Print one JSON object instead of text (default: off)",
      cxxopts::value<bool>()->default_value("false"));
  // clang-format on
  add_folder_options(options);
  const auto parsed = parse_options(options, argc, argv);
  if (!parsed) return 0;
  const auto& args = *parsed;
  if (!args.count("checkpoint")) throw InputError("--checkpoint FILE is required");
  if (!args.count("data")) throw InputError("--data FILE (real test images) is required");
  const auto count = args["count"].as<int64_t>();
  if (count < 2 || count > 1000000)
    throw InputError("--count must be in 2-1000000, got " + std::to_string(count));
  const auto probe_labels = args["probe-labels"].as<int64_t>();
  if (probe_labels < 20 || probe_labels % 10 != 0)
    throw InputError("--probe-labels must be a multiple of 10, at least 20, got " +
                     std::to_string(probe_labels));
  const auto seed = args["seed"].as<uint64_t>();
  const bool json = args["json"].as<bool>();
  if (json) send_logs_to_stderr();
  const bool has_train = args.count("train-data") > 0;
  if (!args.count("feature-net") && !has_train) {
    throw InputError(
        "--feature-net FILE (a trained feature net) or --train-data FILE (to train one) is "
        "required");
  }
  const auto checkpoint = args["checkpoint"].as<std::string>();
  const auto test_path = args["data"].as<std::string>();
  const auto train_path = has_train ? args["train-data"].as<std::string>() : std::string();
  const auto net_path = args.count("feature-net") ? args["feature-net"].as<std::string>()
                                                  : eval::default_feature_net_path(train_path);
  const auto device =
      train::set_up_device(args["device"].as<std::string>(), args["threads"].as<int64_t>());
  const auto start = std::chrono::steady_clock::now();

  // Everything the user gave is read and checked before the slow parts.
  train::CheckpointInfo info;
  auto generator = train::load_generator(checkpoint, device, &info);
  auto discriminator = train::load_discriminator(checkpoint, device);
  // Real images at the checkpoint's size: its discriminator reads them for the probe (a folder is
  // resized to it; a MAT file of another size is refused).
  const int64_t side = generator->options().image_size();
  auto folder = folder_options(args);
  folder.image_size = side;
  auto load_at_size = [&](const std::string& path) {
    auto set = data::load_images(path, folder);
    if (set.size() > 0 && set.side() != side) {
      const auto size = [](int64_t s) { return std::to_string(s) + "x" + std::to_string(s); };
      throw InputError(path + ": images are " + size(set.side()) + ", but " + checkpoint +
                       " makes " + size(side) + "; measure it against real images of its size");
    }
    return set;
  };
  const auto test = load_at_size(test_path);
  if (test.size() < 2) throw InputError(test_path + ": needs at least 2 images");
  data::ImageSet train_set;
  if (has_train) train_set = load_at_size(train_path);

  const auto net_start = std::chrono::steady_clock::now();
  eval::FeatureNetSource source;
  source.path = net_path;
  source.train = has_train ? &train_set : nullptr;
  source.train_path = train_path;
  source.test = &test;
  source.seed = args["feature-net-seed"].as<uint64_t>();
  if (has_train && !labelled(train_set)) source.train = nullptr;  // reuse only; refused if absent
  eval::FeatureNetInfo net_info;
  bool trained = false;
  eval::FeatureNet net{nullptr};
  try {
    net = eval::load_or_train_feature_net(source, &net_info, &trained);
  } catch (const InputError&) {
    // An existing net is not needed for the refusal: say why training is impossible.
    if (has_train && !source.train && !std::filesystem::exists(net_path))
      eval::require_labels(train_set, train_path, "training the feature net");
    throw;
  }
  const double net_seconds = seconds_since(net_start);
  net->to(device);

  // (a) sample quality, and the same measure between two real sets as its floor.
  const auto real = test.images.narrow(0, 0, std::min(count, test.size()));
  const auto real_stats = eval::real_feature_stats(net, real);
  const auto quality = eval::sample_quality(generator, net, real_stats, count, seed);
  c10::optional<eval::SampleQuality> floor;
  if (has_train && train_set.size() >= 2) {
    floor = eval::image_quality(
        net, train_set.images.narrow(0, 0, std::min(count, train_set.size())), real_stats);
  }

  // (c) a conditional checkpoint: the share of the images asked for as class k that the feature
  // net (trained on the same labels) reads as k, their FD to the real images of class k, and CAS.
  nlohmann::json class_json;
  if (generator->conditional()) {
    const auto& names = info.class_names;
    std::vector<std::string> test_names = test.classes;  // SVHN's: the digits
    if (test_names.empty())
      for (int64_t k = 0; k < 10; ++k) test_names.push_back(std::to_string(k));
    if (names != test_names || !labelled(test) || names.size() > 10) {
      class_json["skipped"] = checkpoint + ": its classes are not the labelled classes of " +
                              test_path + "; class measures need the same classes";
    } else {
      class_json = eval::to_json(eval::class_quality(generator, net, test, count, seed), names);
      if (has_train && labelled(train_set) && train_set.classes == test.classes) {
        class_json["classification_accuracy_score"] = eval::to_json(
            eval::classification_accuracy_score(generator, train_set, test, count, seed));
      }
    }
  }

  // (b) the paper's probe: trained discriminator, the same architecture untrained, raw pixels.
  nlohmann::json probe_json;
  std::string probe_refusal;
  if (!has_train) {
    probe_refusal = "needs --train-data (labelled)";
  } else if (!labelled(train_set)) {
    probe_refusal = train_path + ": has no digit labels (" + train_set.format +
                    "); the probe needs labelled training data";
  } else if (!labelled(test)) {
    probe_refusal = test_path + ": has no digit labels (" + test.format +
                    "); the probe needs a labelled test set";
  } else if (train_set.classes != test.classes) {
    probe_refusal = train_path + " and " + test_path +
                    ": their labels mean different things (SVHN digits or another folder's "
                    "classes); the probe needs the same classes in both";
  } else if (train_set.class_count() > 10) {
    probe_refusal = train_path + ": has " + std::to_string(train_set.class_count()) +
                    " classes; the probe supports at most 10";
  }
  if (probe_refusal.empty()) {
    // Class folders: as many labels per class as --probe-labels gives 10 digits in all.
    const auto classes = train_set.class_count();
    const auto picked = eval::balanced_subset(train_set.labels, probe_labels / classes, seed, classes);
    const auto train_images = train_set.images.index_select(0, picked);
    const auto train_labels = train_set.labels.index_select(0, picked);
    models::Discriminator untrained{nullptr};
    {
      const eval::ScopedSeed scoped(seed);
      untrained = models::Discriminator(discriminator->options());
    }
    untrained->to(device);
    auto probe = [&](auto features_of) {
      return eval::to_json(eval::linear_probe(features_of(train_images), train_labels,
                                              features_of(test.images), test.labels, seed));
    };
    probe_json["discriminator"] = probe(
        [&](const torch::Tensor& x) { return eval::discriminator_features(discriminator, x); });
    probe_json["random_discriminator"] =
        probe([&](const torch::Tensor& x) { return eval::discriminator_features(untrained, x); });
    probe_json["pixels"] = probe([](const torch::Tensor& x) { return eval::pixel_features(x); });
  } else {
    spdlog::warn("representation probe skipped: {}", probe_refusal);
  }
  const double total_seconds = seconds_since(start);

  if (json) {
    nlohmann::json out;
    out["checkpoint"] = checkpoint;
    out["data"] = test_path;
    out["seed"] = seed;
    out["feature_net"] = {{"path", net_path},
                          {"trained_now", trained},
                          {"seconds", net_seconds},
                          {"version", net_info.version},
                          {"data_file", net_info.data_file},
                          {"data_images", net_info.data_images},
                          {"seed", net_info.seed},
                          {"test_accuracy", labelled(test) ? nlohmann::json(net_info.test_accuracy)
                                                           : nlohmann::json(nullptr)}};
    out["sample_quality"] = eval::to_json(quality);
    out["real_floor"] = floor ? eval::to_json(*floor) : nlohmann::json(nullptr);
    out["probe"] = probe_refusal.empty() ? probe_json : nlohmann::json{{"skipped", probe_refusal}};
    if (!class_json.is_null()) out["classes"] = class_json;
    out["seconds"] = total_seconds;
    std::cout << out.dump() << std::endl;
    return 0;
  }
  std::cout << "feature net: " << net_path << " ("
            << (trained ? "trained now in " + fixed(net_seconds) + " s" : std::string("reused"))
            << ", trained on " << net_info.data_file << ", seed " << net_info.seed << ")\n";
  if (labelled(test))
    std::cout << "  test accuracy " << percent(net_info.test_accuracy) << " on " << test.size()
              << " images of " << test_path << "\n";
  std::cout << "(a) sample quality: " << quality.generated << " generated (seed " << seed << ") vs "
            << quality.real << " real test images\n"
            << "  Fréchet distance       " << fixed(quality.frechet_distance) << "\n"
            << "  confident (p > 0.9)    " << percent(quality.confident_share) << "\n";
  if (floor) {
    std::cout << "  real-vs-real floor     " << fixed(floor->frechet_distance) << " ("
              << floor->generated << " training vs " << floor->real << " test images; "
              << percent(floor->confident_share) << " of them confident)\n";
  }
  if (probe_refusal.empty()) {
    std::cout << "(b) linear probe, test error with " << probe_labels << " training labels, "
              << test.size() << " test images:\n";
    for (const auto& [name, label] :
         {std::pair<const char*, const char*>{"discriminator", "trained discriminator "},
          {"random_discriminator", "random discriminator  "},
          {"pixels", "raw pixels            "}}) {
      const auto& r = probe_json[name];
      std::cout << "  " << label << percent(r["test_error"].get<double>()) << "  ("
                << r["feature_dim"].get<int64_t>() << " features)\n";
    }
  } else {
    std::cout << "(b) linear probe: skipped, " << probe_refusal << "\n";
  }
  if (class_json.contains("skipped")) {
    std::cout << "(c) class accuracy: skipped, " << class_json["skipped"].get<std::string>() << "\n";
  } else if (!class_json.is_null()) {
    std::cout << "(c) classes: " << class_json["images_per_class"].get<int64_t>()
              << " images asked of each class\n"
              << "  class accuracy, mean   " << percent(class_json["mean_accuracy"].get<double>())
              << "\n"
              << "  class accuracy, worst  " << percent(class_json["worst_accuracy"].get<double>())
              << " (class " << class_json["worst_class"].get<std::string>() << ")\n";
    if (class_json["mean_intra_class_fd"].is_number())
      std::cout << "  intra-class FD, mean   " << fixed(class_json["mean_intra_class_fd"].get<double>())
                << "\n";
    if (class_json.contains("classification_accuracy_score")) {
      const auto& cas = class_json["classification_accuracy_score"];
      std::cout << "  CAS                    " << percent(cas["generated_trained_accuracy"].get<double>())
                << " test accuracy trained on " << cas["images"].get<int64_t>()
                << " generated images, " << percent(cas["real_trained_accuracy"].get<double>())
                << " on as many real ones (ratio " << fixed(cas["ratio"].get<double>()) << ")\n";
    }
  }
  std::cout << "took " << fixed(total_seconds) << " s" << std::endl;
  return 0;
}

}  // namespace dcgan::cli
