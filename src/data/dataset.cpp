#include "dcgan/data/dataset.h"

#include <filesystem>
#include <iomanip>
#include <sstream>

#include "dcgan/data/image_folder.h"
#include "dcgan/util/errors.h"

namespace dcgan::data {

ImageSet load_images(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return load_image_folder(path);
  return load_svhn_mat(path);
}

ImageSet load_images(const std::vector<std::string>& paths, int64_t limit) {
  if (paths.empty()) throw InputError("--data: no input files given");
  std::vector<ImageSet> parts;
  int64_t total = 0;
  for (const auto& path : paths) {
    if (limit > 0 && total >= limit) break;
    parts.push_back(load_images(path));
    total += parts.back().size();
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
  const auto counts = torch::bincount(set.labels.masked_select(set.labels >= 0), {}, 10);
  for (int d = 0; d < 10; ++d) stats.label_counts[d] = counts[d].item<int64_t>();
  // Sum per channel in int64 chunks: exact, and no float copy of the whole set.
  const int64_t chunk = 4096;
  torch::Tensor sums = torch::zeros({3}, torch::kInt64);
  for (int64_t start = 0; start < stats.images; start += chunk) {
    const auto block = set.images.narrow(0, start, std::min(chunk, stats.images - start));
    sums += block.sum({0, 2, 3}, /*keepdim=*/false, torch::kInt64);
  }
  const double pixels_per_channel =
      static_cast<double>(stats.images) * set.images.size(2) * set.images.size(3);
  for (int c = 0; c < 3; ++c) stats.pixel_mean[c] = sums[c].item<int64_t>() / pixels_per_channel;
  return stats;
}

nlohmann::json to_json(const std::string& file, const ImageSet& set, const ImageSetStats& stats) {
  return {{"file", file},
          {"format", set.format},
          {"images", stats.images},
          {"height", set.images.size(2)},
          {"width", set.images.size(3)},
          {"channels", set.images.size(1)},
          {"label_counts", stats.label_counts},
          {"pixel_mean", stats.pixel_mean}};
}

std::string to_table(const std::string& file, const ImageSet& set, const ImageSetStats& stats) {
  std::ostringstream out;
  out << "File      " << file << "\n"
      << "Format    " << set.format << "\n"
      << "Images    " << stats.images << " x " << set.images.size(1) << " x " << set.images.size(2)
      << " x " << set.images.size(3) << " (N x channels x height x width, uint8)\n"
      << std::fixed << std::setprecision(2) << "Mean RGB  " << stats.pixel_mean[0] << ", "
      << stats.pixel_mean[1] << ", " << stats.pixel_mean[2] << " (0-255)\n\n"
      << "Digit   Count   Share\n";
  for (int d = 0; d < 10; ++d) {
    const double share = stats.images ? 100.0 * stats.label_counts[d] / stats.images : 0.0;
    out << std::setw(5) << d << std::setw(8) << stats.label_counts[d] << std::setw(7)
        << std::setprecision(1) << share << "%\n";
  }
  return out.str();
}

}  // namespace dcgan::data
