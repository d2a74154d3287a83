#include "dcgan/data/image_folder.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <stb_image.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "dcgan/data/folder_cache.h"
#include "dcgan/util/errors.h"

namespace fs = std::filesystem;

namespace dcgan::data {
namespace {

constexpr int64_t kMaxSide = 4096;
// Decoded images larger than this many pixels are refused (a 100-megapixel image is 300 MB).
constexpr int64_t kMaxPixels = int64_t{100} << 20;
// Bytes read of one image file at most (well below stb_image's 2 GiB limit).
constexpr int64_t kMaxFileBytes = int64_t{256} << 20;

// Data messages go to stderr: `inspect --json` owns stdout.
spdlog::logger& log() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto existing = spdlog::get("data");
    return existing ? existing : spdlog::stderr_color_mt("data");
  }();
  return *logger;
}

bool has_image_extension(const std::string& name) {
  std::string ext = fs::path(name).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  // torchvision's IMG_EXTENSIONS; .tif and .webp are listed so that they are reported as
  // unreadable (stb_image cannot decode them) rather than silently left out.
  static const std::set<std::string> known = {".png", ".jpg", ".jpeg", ".bmp", ".ppm",
                                              ".pgm", ".tif", ".tiff", ".webp"};
  return known.count(ext) > 0;
}

bool hidden(const std::string& name) {
  return !name.empty() && name[0] == '.';
}

struct Walker {
  FolderListing& listing;
  int64_t ignored = 0;  // files that are not images by name
  int64_t loops = 0;    // directories reached a second time (symlink loops)
  std::string loop_example;

  // Every image file below `dir` (following symlinks, each directory once), as (folder, name).
  void walk(const fs::path& dir, const std::string& relative, int64_t label,
            std::set<std::pair<dev_t, ino_t>>& visited,
            std::vector<std::pair<std::string, std::string>>& found) {
    struct stat info {};
    if (::stat(dir.c_str(), &info) != 0) return;
    if (!visited.insert({info.st_dev, info.st_ino}).second) {
      if (!loops++) loop_example = relative;
      return;
    }
    std::error_code ec;
    std::vector<std::pair<fs::path, std::string>> subdirs;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (hidden(name)) continue;
      std::error_code status_error;
      const auto status = it->status(status_error);  // follows symlinks
      const std::string rel = relative.empty() ? name : relative + "/" + name;
      if (fs::is_directory(status)) {
        subdirs.emplace_back(it->path(), rel);
      } else if (has_image_extension(name)) {
        found.emplace_back(relative, name);
      } else {
        ++ignored;
      }
    }
    for (const auto& [path, rel] : subdirs) walk(path, rel, label, visited, found);
  }

  void add_sorted(std::vector<std::pair<std::string, std::string>>& found, const fs::path& base,
                  int64_t label) {
    // torchvision: sorted(os.walk(...)) by folder, then sorted file names within it.
    std::sort(found.begin(), found.end());
    for (const auto& [folder, name] : found) {
      FolderListing::File file;
      file.relative = folder.empty() ? name : folder + "/" + name;
      file.label = label;
      struct stat info {};
      if (::stat((base / file.relative).c_str(), &info) == 0) {
        file.size = static_cast<int64_t>(info.st_size);
        file.mtime_ns =
            static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec;
      } else {
        file.size = -1;  // vanished or unreadable: decoding will say so
      }
      listing.files.push_back(std::move(file));
    }
  }
};

// Lists `dir` the way torchvision's ImageFolder does: subfolders are classes (sorted by name) read
// recursively; without subfolders, the folder's own images, label-less. Hidden entries (".*") are
// left out, so a .ipynb_checkpoints or .cache folder never becomes a class.
FolderListing list_folder(const std::string& dir, int64_t& ignored) {
  FolderListing listing;
  std::error_code ec;
  listing.root = fs::canonical(dir, ec).string();
  if (ec) listing.root = fs::absolute(dir).string();
  Walker walker{listing, 0, 0, {}};
  std::vector<std::pair<std::string, std::string>> top;
  std::vector<std::string> classes;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (hidden(name)) continue;
    std::error_code status_error;
    const auto status = it->status(status_error);
    if (fs::is_directory(status)) {
      classes.push_back(name);
    } else if (has_image_extension(name)) {
      top.emplace_back("", name);
    } else {
      ++walker.ignored;
    }
  }
  if (ec) throw InputError(dir + ": cannot list folder (" + ec.message() + ")");
  if (classes.empty()) {
    walker.add_sorted(top, dir, -1);
  } else {
    std::sort(classes.begin(), classes.end());
    listing.classes = classes;
    if (!top.empty()) {
      log().warn(
          "{}: {} images directly in the folder are left out: with subfolders, each "
          "subfolder is a class (as torchvision's ImageFolder)",
          dir, top.size());
    }
    for (size_t c = 0; c < classes.size(); ++c) {
      std::set<std::pair<dev_t, ino_t>> visited;
      std::vector<std::pair<std::string, std::string>> found;
      walker.walk(fs::path(dir) / classes[c], classes[c], static_cast<int64_t>(c), visited, found);
      if (found.empty()) log().warn("{}: class '{}' holds no images", dir, classes[c]);
      walker.add_sorted(found, dir, static_cast<int64_t>(c));
    }
  }
  if (walker.loops) {
    log().warn("{}: {} folders reached twice through symlinks were read once (e.g. {})", dir,
               walker.loops, walker.loop_example);
  }
  ignored = walker.ignored;
  return listing;
}

// --- Decoding ----------------------------------------------------------------------------------

// Reads a regular file (a symlink to one is fine) of at most kMaxFileBytes into `bytes`; else ""
// and `why`. Anything else is refused before a byte is read: a FIFO would block, and a device such
// as /dev/zero would never end. O_NONBLOCK keeps the open of a FIFO from waiting for a writer.
bool read_file(const std::string& path, std::vector<unsigned char>& bytes, std::string& why) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    why = std::string("cannot be read (") + std::strerror(errno) + ")";
    return false;
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    why = std::string("cannot be read (") + std::strerror(errno) + ")";
    return false;
  }
  if (!S_ISREG(info.st_mode)) {
    why = S_ISFIFO(info.st_mode)   ? "not a regular file (a FIFO)"
          : S_ISCHR(info.st_mode)  ? "not a regular file (a character device)"
          : S_ISBLK(info.st_mode)  ? "not a regular file (a block device)"
          : S_ISSOCK(info.st_mode) ? "not a regular file (a socket)"
                                   : "not a regular file";
    return false;
  }
  if (info.st_size > kMaxFileBytes) {
    why = "file of " + std::to_string(info.st_size) + " bytes is over the " +
          std::to_string(kMaxFileBytes >> 20) + " MiB an image may have";
    return false;
  }
  // Read to the end, but never past the cap: a file may grow while it is read (or, as some /proc
  // files, report a size of 0).
  bytes.clear();
  unsigned char chunk[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      why = std::string("cannot be read (") + std::strerror(errno) + ")";
      return false;
    }
    if (n == 0) return true;
    if (bytes.size() + static_cast<size_t>(n) > static_cast<size_t>(kMaxFileBytes)) {
      why = "more than the " + std::to_string(kMaxFileBytes >> 20) + " MiB an image may have";
      return false;
    }
    bytes.insert(bytes.end(), chunk, chunk + n);
  }
}

// stb_image decodes a cut-off JPEG without complaint (the missing part comes out grey); PIL
// refuses it. A complete JPEG has an end-of-image marker after its last start-of-scan (inside
// entropy-coded data 0xFF is always followed by 0x00 or a restart marker, so neither is mistaken).
bool jpeg_complete(const std::vector<unsigned char>& b) {
  size_t last_scan = 0;
  for (size_t i = 2; i + 1 < b.size(); ++i)
    if (b[i] == 0xFF && b[i + 1] == 0xDA) last_scan = i;
  if (last_scan == 0) return false;
  for (size_t i = last_scan; i + 1 < b.size(); ++i)
    if (b[i] == 0xFF && b[i + 1] == 0xD9) return true;
  return false;
}

// 1-D resampling weights: output i = sum_k weights[k] * input[first + k].
struct Taps {
  std::vector<int64_t> first;
  std::vector<int64_t> count;
  std::vector<float> weights;  // count[i] per output, packed
  int64_t width = 0;           // max taps per output
};

// Shrinking: each output pixel is the average of the input area it covers (a box filter with
// fractional edges), the antialiasing resize of PIL's BOX and torch's area mode. Enlarging:
// bilinear with half-pixel centres, torch's align_corners=false.
Taps make_taps(int64_t in, int64_t out) {
  Taps taps;
  if (in >= out) {
    const double scale = static_cast<double>(in) / out;
    taps.width = static_cast<int64_t>(std::ceil(scale)) + 1;
    for (int64_t i = 0; i < out; ++i) {
      const double lo = i * scale, hi = (i + 1) * scale;
      const auto first = static_cast<int64_t>(std::floor(lo));
      const auto last = std::min(in, static_cast<int64_t>(std::ceil(hi)));
      taps.first.push_back(first);
      taps.count.push_back(last - first);
      for (int64_t k = first; k < last; ++k) {
        const double cover = std::min(hi, k + 1.0) - std::max(lo, static_cast<double>(k));
        taps.weights.push_back(static_cast<float>(cover / scale));
      }
    }
  } else {
    taps.width = 2;
    for (int64_t i = 0; i < out; ++i) {
      const double x = std::max(0.0, (i + 0.5) * in / out - 0.5);
      const auto i0 = std::min(static_cast<int64_t>(x), in - 1);
      const auto i1 = std::min(i0 + 1, in - 1);
      const auto t = static_cast<float>(x - i0);
      taps.first.push_back(i0);
      taps.count.push_back(i1 > i0 ? 2 : 1);
      taps.weights.push_back(i1 > i0 ? 1 - t : 1.0f);
      if (i1 > i0) taps.weights.push_back(t);
    }
  }
  return taps;
}

// The centre square of an HxWx3 image, resized to side x side, into `out` as 3 x side x side.
void crop_and_resize(const uint8_t* hwc, int64_t height, int64_t width, int64_t side,
                     uint8_t* out) {
  const int64_t square = std::min(height, width);
  const int64_t top = (height - square) / 2, left = (width - square) / 2;
  if (square == side) {
    for (int64_t r = 0; r < side; ++r)
      for (int64_t c = 0; c < side; ++c)
        for (int64_t ch = 0; ch < 3; ++ch)
          out[(ch * side + r) * side + c] = hwc[((top + r) * width + left + c) * 3 + ch];
    return;
  }
  const Taps taps = make_taps(square, side);
  // Horizontal pass over the square's rows: square x side x 3 floats.
  std::vector<float> rows(static_cast<size_t>(square * side * 3));
  for (int64_t r = 0; r < square; ++r) {
    const uint8_t* line = hwc + ((top + r) * width + left) * 3;
    size_t w = 0;
    for (int64_t c = 0; c < side; ++c) {
      float acc[3] = {0, 0, 0};
      for (int64_t k = 0; k < taps.count[c]; ++k, ++w) {
        const uint8_t* p = line + (taps.first[c] + k) * 3;
        const float weight = taps.weights[w];
        acc[0] += weight * p[0];
        acc[1] += weight * p[1];
        acc[2] += weight * p[2];
      }
      float* o = rows.data() + (r * side + c) * 3;
      o[0] = acc[0], o[1] = acc[1], o[2] = acc[2];
    }
  }
  // Vertical pass, rounded to the nearest integer.
  size_t w = 0;
  for (int64_t r = 0; r < side; ++r) {
    float acc[3 * kMaxSide];
    std::fill(acc, acc + side * 3, 0.0f);
    for (int64_t k = 0; k < taps.count[r]; ++k, ++w) {
      const float* line = rows.data() + (taps.first[r] + k) * side * 3;
      const float weight = taps.weights[w];
      for (int64_t i = 0; i < side * 3; ++i) acc[i] += weight * line[i];
    }
    for (int64_t c = 0; c < side; ++c)
      for (int64_t ch = 0; ch < 3; ++ch) {
        const float v = std::min(255.0f, std::max(0.0f, acc[c * 3 + ch]));
        out[(ch * side + r) * side + c] = static_cast<uint8_t>(std::lround(v));
      }
  }
}

// Decodes one file into `out` (3 x side x side). Returns "" on success, else why not.
std::string decode_into(const std::string& path, int64_t side, uint8_t* out, bool& upscaled,
                        std::vector<unsigned char>& bytes) {
  std::string why;
  if (!read_file(path, bytes, why)) return why;
  if (bytes.empty()) return "empty file";
  if (bytes.size() >= 2 && bytes[0] == 0xFF && bytes[1] == 0xD8 && !jpeg_complete(bytes))
    return "truncated JPEG (no end-of-image marker)";
  const auto size = static_cast<int>(bytes.size());
  int width = 0, height = 0, channels = 0;
  if (!stbi_info_from_memory(bytes.data(), size, &width, &height, &channels)) {
    const char* reason = stbi_failure_reason();
    return std::string("cannot decode image (") + (reason ? reason : "unknown format") + ")";
  }
  if (width <= 0 || height <= 0 || static_cast<int64_t>(width) * height > kMaxPixels)
    return "image of " + std::to_string(width) + "x" + std::to_string(height) + " pixels refused";
  // Gray, gray+alpha and RGBA come out as RGB (alpha dropped, as PIL's convert("RGB")); 16-bit
  // PNGs as 8-bit (stb_image keeps the high byte).
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load_from_memory(bytes.data(), size, &width, &height, &channels, 3), stbi_image_free);
  if (!pixels) {
    const char* reason = stbi_failure_reason();
    return std::string("cannot decode image (") + (reason ? reason : "unknown error") + ")";
  }
  upscaled = std::min(width, height) < side;
  crop_and_resize(pixels.get(), height, width, side, out);
  return "";
}

// --- Progress ----------------------------------------------------------------------------------

class Progress {
 public:
  Progress(const std::string& mode, const std::string& what, int64_t total)
      : bar_(mode == "bar" || (mode == "auto" && ::isatty(STDERR_FILENO))),
        quiet_(mode == "none"),
        what_(what),
        total_(total),
        start_(std::chrono::steady_clock::now()),
        last_(start_) {}

  void show(int64_t done, bool final = false) {
    if (quiet_) return;
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double since = std::chrono::duration<double>(now - last_).count();
    if (!final && since < (bar_ ? 0.2 : 5.0)) return;
    last_ = now;
    const double rate = elapsed > 0 ? done / elapsed : 0;
    const double eta = rate > 0 ? (total_ - done) / rate : 0;
    if (bar_) {
      constexpr int kWidth = 30;
      const int filled = total_ ? static_cast<int>(kWidth * done / total_) : kWidth;
      std::fprintf(stderr, "\r%s [%s%s] %lld/%lld  %.0f img/s  %s %.0f s  ", what_.c_str(),
                   std::string(static_cast<size_t>(filled), '#').c_str(),
                   std::string(static_cast<size_t>(kWidth - filled), ' ').c_str(),
                   static_cast<long long>(done), static_cast<long long>(total_), rate,
                   final ? "took" : "ETA", final ? elapsed : eta);
      if (final) std::fputc('\n', stderr);
      std::fflush(stderr);
    } else if (!final) {
      log().info("{}: {}/{} images, {:.0f} img/s, ETA {:.0f} s", what_, done, total_, rate, eta);
    }
  }

 private:
  bool bar_, quiet_;
  std::string what_;
  int64_t total_;
  std::chrono::steady_clock::time_point start_, last_;
};

// Decodes every listed file into `images` on every core; fills `outcome`. With `strict`, stops at
// the first unreadable file and throws.
void decode_all(const std::string& dir, const FolderListing& listing,
                const ImageFolderOptions& options, torch::Tensor& images, DecodeOutcome& outcome) {
  const int64_t n = static_cast<int64_t>(listing.files.size());
  const int64_t side = options.image_size;
  const int64_t image_bytes = 3 * side * side;
  images = torch::empty({n, 3, side, side}, torch::kUInt8);
  uint8_t* out = images.data_ptr<uint8_t>();
  outcome.kept.assign(static_cast<size_t>(n), 0);
  std::vector<std::string> reasons(static_cast<size_t>(n));
  std::vector<uint8_t> upscaled(static_cast<size_t>(n), 0);
  std::atomic<int64_t> next{0}, done{0};
  std::atomic<bool> stop{false};
  const int threads = static_cast<int>(std::max<int64_t>(
      1, std::min<int64_t>(n, std::max(1u, std::thread::hardware_concurrency()))));
  auto work = [&] {
    std::vector<unsigned char> bytes;
    for (int64_t i; !stop && (i = next.fetch_add(1)) < n;) {
      bool up = false;
      const auto& file = listing.files[static_cast<size_t>(i)];
      std::string why;
      try {
        why = decode_into((fs::path(dir) / file.relative).string(), side, out + i * image_bytes, up,
                          bytes);
      } catch (const std::bad_alloc&) {
        why = "out of memory decoding it";
      }
      if (why.empty()) {
        outcome.kept[static_cast<size_t>(i)] = 1;
        upscaled[static_cast<size_t>(i)] = up;
      } else {
        reasons[static_cast<size_t>(i)] = std::move(why);
        if (options.strict) stop = true;
      }
      ++done;
    }
  };
  Progress progress(options.progress, "decoding " + dir, n);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) workers.emplace_back(work);
  while (done < n && !stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    progress.show(done);
  }
  for (auto& w : workers) w.join();
  progress.show(done, /*final=*/true);

  for (int64_t i = 0; i < n; ++i) {
    const auto& why = reasons[static_cast<size_t>(i)];
    if (why.empty()) {
      outcome.upscaled += upscaled[static_cast<size_t>(i)];
      continue;
    }
    const std::string named = listing.files[static_cast<size_t>(i)].relative + ": " + why;
    if (options.strict) {
      throw InputError((fs::path(dir) / listing.files[static_cast<size_t>(i)].relative).string() +
                       ": " + why + " (--strict refuses unreadable files)");
    }
    if (outcome.skipped_reasons.size() < 3) outcome.skipped_reasons.push_back(named);
    ++outcome.skipped;
  }
}

void report(const std::string& dir, const DecodeOutcome& outcome, int64_t listed, int64_t side) {
  if (outcome.skipped) {
    std::string examples;
    for (const auto& r : outcome.skipped_reasons) examples += (examples.empty() ? "" : "; ") + r;
    log().warn("{}: skipped {} unreadable files of {} (e.g. {}); --strict refuses them instead",
               dir, outcome.skipped, listed, examples);
  }
  if (outcome.upscaled) {
    log().warn("{}: {} images smaller than {}x{} were upscaled (blurrier than the rest)", dir,
               outcome.upscaled, side, side);
  }
}

}  // namespace

ImageSet load_image_folder(const std::string& dir, const ImageFolderOptions& options) {
  const int64_t side = options.image_size;
  if (side < 1 || side > kMaxSide) {
    throw InputError("--image-size must be in 1-" + std::to_string(kMaxSide) + ", got " +
                     std::to_string(side));
  }
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError(dir + ": not a folder");
  int64_t ignored = 0;
  const FolderListing listing = list_folder(dir, ignored);
  if (listing.files.empty()) {
    throw InputError(dir + ": folder holds no .png, .jpg, .jpeg or .bmp images" +
                     (listing.classes.empty() ? "" : " in its class subfolders"));
  }
  if (ignored) log().info("{}: {} files that are not images by name were left out", dir, ignored);
  const int64_t listed = static_cast<int64_t>(listing.files.size());

  std::string cache_path;
  if (options.use_cache) {
    cache_path = cache_file(options.cache_dir.empty() ? default_cache_dir() : options.cache_dir,
                            listing, side);
    const auto start = std::chrono::steady_clock::now();
    DecodeOutcome cached_outcome;
    std::string why;
    if (auto cached = read_folder_cache(cache_path, listing, side, cached_outcome, why)) {
      if (options.strict && cached_outcome.skipped) {
        throw InputError(dir + ": " +
                         (cached_outcome.skipped_reasons.empty()
                              ? std::string("has unreadable files")
                              : cached_outcome.skipped_reasons.front()) +
                         " (--strict refuses unreadable files)");
      }
      if (options.progress != "none") {
        log().info("{}: {} images from the cache {} in {:.2f} s", dir, cached->size(), cache_path,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
      report(dir, cached_outcome, listed, side);
      return std::move(*cached);
    }
    if (!why.empty()) log().info("{}: rebuilding the cache {}: {}", dir, cache_path, why);
  }

  torch::Tensor images;
  DecodeOutcome outcome;
  decode_all(dir, listing, options, images, outcome);
  report(dir, outcome, listed, side);
  const int64_t kept = listed - outcome.skipped;
  if (kept == 0)
    throw InputError(dir + ": none of its " + std::to_string(listed) + " images can be read");

  ImageSet set;
  set.format = "image folder";
  set.classes = listing.classes;
  set.labels = torch::empty({kept}, torch::kInt64);
  if (kept < listed) {  // move the kept images together, in order
    const int64_t image_bytes = 3 * side * side;
    uint8_t* base = images.data_ptr<uint8_t>();
    int64_t j = 0;
    for (int64_t i = 0; i < listed; ++i) {
      if (!outcome.kept[static_cast<size_t>(i)]) continue;
      if (i != j)
        std::memmove(base + j * image_bytes, base + i * image_bytes,
                     static_cast<size_t>(image_bytes));
      ++j;
    }
    images = images.narrow(0, 0, kept);
  }
  set.images = images;
  auto* label = set.labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < listed; ++i)
    if (outcome.kept[static_cast<size_t>(i)])
      *label++ = listing.files[static_cast<size_t>(i)].label;

  if (options.use_cache) {
    try {
      write_folder_cache(cache_path, listing, side, set, outcome);
    } catch (const std::exception& e) {
      log().warn("{}: not cached: {}", dir, e.what());
    }
  }
  return set;
}

}  // namespace dcgan::data
