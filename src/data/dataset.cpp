#include "dcgan/data/dataset.h"

#include <ATen/Parallel.h>

#include <filesystem>
#include <iomanip>
#include <mutex>
#include <sstream>

#include "dcgan/util/errors.h"

namespace dcgan::data {

bool ImageSet::labelled() const {
  return size() > 0 && labels.defined() && labels.numel() == size() &&
         labels.ge(0).all().item<bool>();
}

int64_t ImageSet::class_count() const {
  return classes.empty() ? 10 : static_cast<int64_t>(classes.size());
}

ImageSet load_images(const std::string& path, const ImageFolderOptions& folder) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return load_image_folder(path, folder);
  return load_svhn_mat(path);
}

ImageSet load_images(const std::vector<std::string>& paths, int64_t limit,
                     const ImageFolderOptions& folder) {
  if (paths.empty()) throw InputError("--data: no input files given");
  std::vector<ImageSet> parts;
  int64_t total = 0;
  for (const auto& path : paths) {
    if (limit > 0 && total >= limit) break;
    parts.push_back(load_images(path, folder));
    const auto& first = parts.front();
    const auto& part = parts.back();
    // One training set has one image size and one meaning of its labels.
    if (part.side() != first.side()) {
      throw InputError(path + ": images are " + std::to_string(part.side()) + "x" +
                       std::to_string(part.side()) + ", but " + paths.front() + "'s are " +
                       std::to_string(first.side()) + "x" + std::to_string(first.side()));
    }
    if (part.classes != first.classes) {
      throw InputError(path + ": its labels (" +
                       (part.classes.empty() ? "digits or none" : "class folders") +
                       ") do not match " + paths.front() + "'s");
    }
    total += part.size();
  }
  ImageSet set;
  if (parts.size() == 1) {
    set = std::move(parts.front());
  } else {
    std::vector<torch::Tensor> images, labels;
    for (auto& part : parts) {
      images.push_back(part.images);
      labels.push_back(part.labels);
    }
    set.images = torch::cat(images);
    set.labels = torch::cat(labels);
    set.format = parts.front().format;
    set.classes = parts.front().classes;
  }
  if (limit > 0 && set.size() > limit) {
    set.images = set.images.narrow(0, 0, limit).clone();
    set.labels = set.labels.narrow(0, 0, limit).clone();
  }
  return set;
}

ImageSetStats describe(const ImageSet& set) {
  ImageSetStats stats;
  stats.images = set.size();
  const auto labels = set.labels.defined() ? set.labels.to(torch::kInt64).contiguous()
                                           : torch::empty({0}, torch::kInt64);
  const int64_t* label = labels.data_ptr<int64_t>();
  bool any_label = false;
  for (int64_t i = 0; i < labels.numel(); ++i) any_label = any_label || label[i] >= 0;
  if (any_label || !set.classes.empty()) {
    stats.label_counts.assign(static_cast<size_t>(set.class_count()), 0);
    for (int64_t i = 0; i < labels.numel(); ++i) {
      if (label[i] >= 0 && label[i] < set.class_count()) ++stats.label_counts[label[i]];
    }
  }
  if (stats.images == 0) return stats;
  // Per-channel sums straight over the uint8 bytes, on every core: no float or int64 copy.
  const auto images = set.images.contiguous();
  const uint8_t* pixels = images.data_ptr<uint8_t>();
  const int64_t plane = images.size(2) * images.size(3);
  std::array<uint64_t, 3> sums{};
  std::mutex lock;
  at::parallel_for(0, stats.images * 3, 256, [&](int64_t begin, int64_t end) {
    std::array<uint64_t, 3> local{};
    for (int64_t p = begin; p < end; ++p) {
      const uint8_t* at = pixels + p * plane;
      uint64_t sum = 0;
      for (int64_t i = 0; i < plane; ++i) sum += at[i];
      local[p % 3] += sum;
    }
    std::lock_guard<std::mutex> guard(lock);
    for (int c = 0; c < 3; ++c) sums[c] += local[c];
  });
  const double pixels_per_channel = static_cast<double>(stats.images) * plane;
  for (int c = 0; c < 3; ++c)
    stats.pixel_mean[c] = static_cast<double>(sums[c]) / pixels_per_channel;
  return stats;
}

nlohmann::json to_json(const std::string& file, const ImageSet& set, const ImageSetStats& stats) {
  return {{"file", file},
          {"format", set.format},
          {"images", stats.images},
          {"height", set.height()},
          {"width", set.width()},
          {"channels", set.images.defined() ? set.images.size(1) : 0},
          {"label_counts", stats.label_counts},
          {"classes", set.classes},
          {"pixel_mean", stats.pixel_mean}};
}

std::string to_table(const std::string& file, const ImageSet& set, const ImageSetStats& stats) {
  std::ostringstream out;
  out << "File      " << file << "\n"
      << "Format    " << set.format << "\n"
      << "Images    " << stats.images << " x " << set.images.size(1) << " x " << set.images.size(2)
      << " x " << set.images.size(3) << " (N x channels x height x width, uint8)\n"
      << std::fixed << std::setprecision(2) << "Mean RGB  " << stats.pixel_mean[0] << ", "
      << stats.pixel_mean[1] << ", " << stats.pixel_mean[2] << " (0-255)\n\n";
  if (stats.label_counts.empty()) {
    out << "Labels    none"
        << (set.format == "image folder" ? " (a flat folder; subfolders would be read as classes)"
                                         : "")
        << "\n";
    return out.str();
  }
  size_t width = 5;
  for (const auto& name : set.classes) width = std::max(width, name.size());
  out << std::left << std::setw(static_cast<int>(width) + 2)
      << (set.classes.empty() ? "Digit" : "Class") << std::right << "   Count   Share\n";
  for (size_t d = 0; d < stats.label_counts.size(); ++d) {
    const double share = stats.images ? 100.0 * stats.label_counts[d] / stats.images : 0.0;
    const std::string name = set.classes.empty() ? std::to_string(d) : set.classes[d];
    out << std::left << std::setw(static_cast<int>(width) + 2) << name << std::right << std::setw(8)
        << stats.label_counts[d] << std::setw(7) << std::setprecision(1) << share << "%\n";
  }
  return out.str();
}

}  // namespace dcgan::data
