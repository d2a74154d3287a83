#include "dcgan/data/folder_cache.h"

#include <fcntl.h>
#include <libdeflate.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "dcgan/util/files.h"

namespace fs = std::filesystem;

namespace dcgan::data {
namespace {

// Layout: a 128-byte header, the manifest (what the cache was made from, then what decoding kept),
// then the pixels at a page boundary, N x 3 x S x S uint8. Every part has a CRC-32 in the header,
// and the header its own: a cache that fails any check is rebuilt, never trusted.
constexpr char kMagic[8] = {'D', 'C', 'G', 'A', 'N', 'F', 'C', '1'};
// Bump when decoding changes (filters, cropping): older caches then no longer match.
constexpr uint32_t kDecoderVersion = 1;
constexpr size_t kHeaderBytes = 128;

struct Header {
  char magic[8];
  uint32_t decoder_version;
  uint32_t reserved;
  uint64_t side;
  uint64_t images;         // kept images stored
  uint64_t key_bytes;      // the listing part of the manifest
  uint64_t outcome_bytes;  // the decode outcome part
  uint64_t pixels_offset;
  uint32_t key_crc, outcome_crc, pixels_crc, header_crc;  // header_crc over the bytes before it
};
static_assert(sizeof(Header) <= kHeaderBytes, "cache header grew");

void put_u64(std::string& out, uint64_t v) {
  out.append(reinterpret_cast<const char*>(&v), 8);
}
void put_string(std::string& out, const std::string& s) {
  put_u64(out, s.size());
  out += s;
}

// The listing as bytes: equal bytes mean the same files, sizes, times, classes and target size.
std::string key_bytes(const FolderListing& listing, int64_t side) {
  std::string out;
  put_u64(out, kDecoderVersion);
  put_u64(out, static_cast<uint64_t>(side));
  put_string(out, listing.root);
  put_u64(out, listing.classes.size());
  for (const auto& c : listing.classes) put_string(out, c);
  put_u64(out, listing.files.size());
  for (const auto& f : listing.files) {
    put_string(out, f.relative);
    put_u64(out, static_cast<uint64_t>(f.size));
    put_u64(out, static_cast<uint64_t>(f.mtime_ns));
    put_u64(out, static_cast<uint64_t>(f.label));
  }
  return out;
}

std::string outcome_bytes(const DecodeOutcome& outcome) {
  std::string out;
  put_u64(out, static_cast<uint64_t>(outcome.upscaled));
  put_u64(out, static_cast<uint64_t>(outcome.skipped));
  put_u64(out, outcome.skipped_reasons.size());
  for (const auto& r : outcome.skipped_reasons) put_string(out, r);
  put_u64(out, outcome.kept.size());
  out.append(reinterpret_cast<const char*>(outcome.kept.data()), outcome.kept.size());
  return out;
}

// A reader over bytes that refuses to run past the end.
struct Reader {
  const char* at;
  const char* end;
  bool ok = true;
  uint64_t u64() {
    uint64_t v = 0;
    if (end - at < 8) return ok = false, 0;
    std::memcpy(&v, at, 8);
    at += 8;
    return v;
  }
  std::string string() {
    const uint64_t n = u64();
    if (!ok || static_cast<uint64_t>(end - at) < n) return ok = false, std::string();
    std::string s(at, n);
    at += n;
    return s;
  }
};

bool parse_outcome(const char* data, size_t size, DecodeOutcome& outcome) {
  Reader r{data, data + size};
  outcome.upscaled = static_cast<int64_t>(r.u64());
  outcome.skipped = static_cast<int64_t>(r.u64());
  const uint64_t reasons = r.u64();
  for (uint64_t i = 0; r.ok && i < reasons && i < 64; ++i)
    outcome.skipped_reasons.push_back(r.string());
  const uint64_t kept = r.u64();
  if (!r.ok || static_cast<uint64_t>(r.end - r.at) != kept) return false;
  outcome.kept.assign(reinterpret_cast<const uint8_t*>(r.at),
                      reinterpret_cast<const uint8_t*>(r.at) + kept);
  return true;
}

// Why an old listing (a cache's key) differs from the current one, in a few words.
std::string difference(const char* data, size_t size, const FolderListing& now, int64_t side) {
  Reader r{data, data + size};
  const uint64_t version = r.u64(), old_side = r.u64();
  const std::string root = r.string();
  if (!r.ok) return "its manifest is unreadable";
  if (version != kDecoderVersion) return "it was made by another version of the decoder";
  if (old_side != static_cast<uint64_t>(side))
    return "it holds " + std::to_string(old_side) + "px images, " + std::to_string(side) +
           "px wanted";
  // Each name takes at least its 8-byte length: a count the bytes cannot hold is corrupt (and must
  // not size an allocation).
  const uint64_t class_count = r.u64();
  if (!r.ok || class_count > static_cast<uint64_t>(r.end - r.at) / 8)
    return "its manifest is unreadable";
  std::vector<std::string> old_classes(class_count);
  for (auto& c : old_classes) c = r.string();
  if (r.ok && old_classes != now.classes) return "the class subfolders changed";
  std::map<std::string, std::pair<uint64_t, uint64_t>> old_files;
  const uint64_t count = r.u64();
  for (uint64_t i = 0; r.ok && i < count; ++i) {
    auto name = r.string();
    const uint64_t bytes = r.u64(), mtime = r.u64();
    r.u64();
    old_files[name] = {bytes, mtime};
  }
  if (!r.ok) return "its manifest is unreadable";
  int64_t added = 0, changed = 0;
  std::string example;
  std::set<std::string> present;
  for (const auto& f : now.files) {
    present.insert(f.relative);
    const auto found = old_files.find(f.relative);
    if (found == old_files.end()) {
      if (!added++ && example.empty()) example = f.relative + " added";
    } else if (found->second !=
               std::pair{static_cast<uint64_t>(f.size), static_cast<uint64_t>(f.mtime_ns)}) {
      if (!changed++ && example.empty()) example = f.relative + " changed";
    }
  }
  int64_t removed = 0;
  for (const auto& [name, info] : old_files) {
    if (!present.count(name) && !removed++ && example.empty()) example = name + " removed";
  }
  if (added + changed + removed == 0) return "the files are listed in another order";
  return std::to_string(added) + " files added, " + std::to_string(removed) + " removed, " +
         std::to_string(changed) + " changed (" + example + ")";
}

uint32_t crc(const void* data, size_t size) {
  // libdeflate's CRC-32 runs at several GB/s (PCLMUL): 250 MB of pixels in well under 0.1 s.
  return libdeflate_crc32(0, data, size);
}

}  // namespace

std::string default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::string(xdg) + "/dcgan";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.cache/dcgan";
  return (fs::temp_directory_path() / "dcgan-cache").string();
}

std::string cache_file(const std::string& cache_dir, const FolderListing& listing, int64_t side) {
  std::string name = fs::path(listing.root).filename().string();
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  if (name.empty() || name[0] == '.') name = "folder" + name;
  char hash[9];
  std::snprintf(hash, sizeof(hash), "%08x", crc(listing.root.data(), listing.root.size()));
  return (fs::path(cache_dir) / "folders" /
          (name.substr(0, 64) + "-" + hash + "-" + std::to_string(side) + "px.u8cache"))
      .string();
}

std::optional<ImageSet> read_folder_cache(const std::string& path, const FolderListing& listing,
                                          int64_t side, DecodeOutcome& outcome, std::string& why) {
  why.clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;  // no cache yet: nothing to explain
  struct stat info {};
  const bool stat_ok = ::fstat(fd, &info) == 0;
  const auto file_size = stat_ok ? static_cast<uint64_t>(info.st_size) : 0;
  if (file_size < kHeaderBytes) {
    ::close(fd);
    why = "it is truncated";
    return std::nullopt;
  }
  void* mapped = ::mmap(nullptr, file_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (mapped == MAP_FAILED) {
    why = "it cannot be mapped (" + std::string(std::strerror(errno)) + ")";
    return std::nullopt;
  }
  struct Unmap {
    void* p;
    size_t n;
    ~Unmap() {
      if (p) ::munmap(p, n);
    }
  } unmap{mapped, file_size};
  const char* base = static_cast<const char*>(mapped);
  Header h{};
  std::memcpy(&h, base, sizeof(h));
  if (std::memcmp(h.magic, kMagic, sizeof(kMagic)) != 0 ||
      crc(&h, offsetof(Header, header_crc)) != h.header_crc) {
    why = "its header is corrupt";
    return std::nullopt;
  }
  if (h.side != static_cast<uint64_t>(side)) {
    why = "it holds " + std::to_string(h.side) + "px images, " + std::to_string(side) + "px wanted";
    return std::nullopt;
  }
  const uint64_t pixels = h.images * 3 * h.side * h.side;
  if (h.key_bytes > file_size || h.outcome_bytes > file_size ||
      kHeaderBytes + h.key_bytes + h.outcome_bytes > h.pixels_offset ||
      h.pixels_offset > file_size || file_size - h.pixels_offset != pixels ||
      h.images > listing.files.size()) {
    why = "its sizes do not add up (truncated or corrupt)";
    return std::nullopt;
  }
  const char* key = base + kHeaderBytes;
  const std::string want = key_bytes(listing, side);
  if (crc(key, h.key_bytes) != h.key_crc) {
    why = "its manifest is corrupt";
    return std::nullopt;
  }
  if (h.key_bytes != want.size() || std::memcmp(key, want.data(), want.size()) != 0) {
    why = difference(key, h.key_bytes, listing, side);
    return std::nullopt;
  }
  const char* kept_part = key + h.key_bytes;
  if (crc(kept_part, h.outcome_bytes) != h.outcome_crc ||
      !parse_outcome(kept_part, h.outcome_bytes, outcome) ||
      outcome.kept.size() != listing.files.size()) {
    why = "its decode record is corrupt";
    return std::nullopt;
  }
  int64_t kept = 0;
  for (auto k : outcome.kept) kept += k != 0;
  if (static_cast<uint64_t>(kept) != h.images) {
    why = "its decode record is corrupt";
    return std::nullopt;
  }
  if (crc(base + h.pixels_offset, pixels) != h.pixels_crc) {
    why = "its pixels are corrupt (checksum mismatch)";
    return std::nullopt;
  }
  ImageSet set;
  set.format = "image folder";
  set.classes = listing.classes;
  set.labels = torch::empty({kept}, torch::kInt64);
  auto* label = set.labels.data_ptr<int64_t>();
  for (size_t i = 0; i < listing.files.size(); ++i)
    if (outcome.kept[i]) *label++ = listing.files[i].label;
  // Copy-on-write mapping: the tensor may be written (normalised in place) without touching the
  // file, and pages are read from the page cache only as they are used.
  unmap.p = nullptr;
  const auto side64 = static_cast<int64_t>(h.side);
  set.images = torch::from_blob(
      const_cast<char*>(base) + h.pixels_offset, {kept, 3, side64, side64},
      [mapped, file_size](void*) { ::munmap(mapped, file_size); },
      torch::TensorOptions().dtype(torch::kUInt8));
  return set;
}

void write_folder_cache(const std::string& path, const FolderListing& listing, int64_t side,
                        const ImageSet& set, const DecodeOutcome& outcome) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  const std::string key = key_bytes(listing, side);
  const std::string record = outcome_bytes(outcome);
  const auto images = set.images.contiguous();
  const auto pixels = static_cast<size_t>(images.numel());
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof(kMagic));
  h.decoder_version = kDecoderVersion;
  h.side = static_cast<uint64_t>(side);
  h.images = static_cast<uint64_t>(set.size());
  h.key_bytes = key.size();
  h.outcome_bytes = record.size();
  h.pixels_offset = (kHeaderBytes + key.size() + record.size() + 4095) / 4096 * 4096;
  h.key_crc = crc(key.data(), key.size());
  h.outcome_crc = crc(record.data(), record.size());
  h.pixels_crc = crc(images.data_ptr<uint8_t>(), pixels);
  h.header_crc = crc(&h, offsetof(Header, header_crc));

  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  const PartialFile partial(temporary);
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::runtime_error(path + ": cannot write the cache (" + std::strerror(errno) + ")");
  std::string head(static_cast<size_t>(h.pixels_offset), '\0');
  std::memcpy(head.data(), &h, sizeof(h));
  std::memcpy(head.data() + kHeaderBytes, key.data(), key.size());
  std::memcpy(head.data() + kHeaderBytes + key.size(), record.data(), record.size());
  auto write_all = [&](const char* p, size_t n) {
    while (n > 0) {
      const ssize_t w = ::write(fd, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  };
  const bool ok = write_all(head.data(), head.size()) &&
                  write_all(reinterpret_cast<const char*>(images.data_ptr<uint8_t>()), pixels);
  const int error = errno;
  ::close(fd);
  if (!ok || std::rename(temporary.c_str(), path.c_str()) != 0) {
    ::unlink(temporary.c_str());
    throw std::runtime_error(path + ": cannot write the cache (" +
                             std::strerror(ok ? errno : error) + ")");
  }
}

}  // namespace dcgan::data
