// libFuzzer target for the image-folder cache reader (dcgan::data::read_folder_cache).
//
// Each input is a cache file for one fixed listing (3 files, 8x8 images), after a mode byte: with
// mode 1 the harness first writes correct CRC-32s into the header (the layout of
// src/data/folder_cache.cpp), so that mutations get past the checksums into the manifest, the
// decode record and the sizes. The reader must refuse the file (nullopt and a reason) or return a
// set that keeps the contract: uint8 kept x 3 x 8 x 8 images, every byte readable (ASan checks the
// mapping), one label per image. Any exception is a finding: a corrupt cache is rebuilt, never an
// error.
//
//   FUZZ_FOLDER_CACHE_SEEDS=DIR build-fuzz/fuzz_folder_cache   writes the seed inputs into DIR
//   scripts/fuzz.sh [SECONDS] folder_cache                      fuzzes (see docs/RELIABILITY.md)
#include <libdeflate.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "dcgan/data/folder_cache.h"

namespace {

constexpr int64_t kSide = 8;

const dcgan::data::FolderListing& listing() {
  static const dcgan::data::FolderListing fixed = [] {
    dcgan::data::FolderListing l;
    l.root = "/fuzz/pets";
    l.classes = {"cat", "dog"};
    l.files = {
        {"cat/a.png", 120, 1000, 0}, {"cat/b.png", 130, 2000, 0}, {"dog/c.png", 140, 3000, 1}};
    return l;
  }();
  return fixed;
}

const std::string& temp_path() {
  static const std::string path = "/tmp/fuzz_folder_cache." + std::to_string(getpid()) + ".u8cache";
  return path;
}

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "fuzz_folder_cache: FINDING: %s\n", what.c_str());
  std::abort();
}

uint64_t u64_at(const std::string& b, size_t at) {
  uint64_t v = 0;
  std::memcpy(&v, b.data() + at, 8);
  return v;
}

void put_crc(std::string& b, size_t at, const char* data, uint64_t size) {
  const uint32_t c = libdeflate_crc32(0, data, size);
  std::memcpy(&b[at], &c, 4);
}

// The header's CRCs made right for whatever it says, where the parts lie inside the file.
void repair_crcs(std::string& b) {
  if (b.size() < 128) return;
  const uint64_t key = u64_at(b, 32), outcome = u64_at(b, 40), pixels_at = u64_at(b, 48);
  if (key <= b.size() - 128) put_crc(b, 56, b.data() + 128, key);
  if (key <= b.size() - 128 && outcome <= b.size() - 128 - key)
    put_crc(b, 60, b.data() + 128 + key, outcome);
  if (pixels_at <= b.size()) put_crc(b, 64, b.data() + pixels_at, b.size() - pixels_at);
  put_crc(b, 68, b.data(), 68);
}

void write_seeds(const std::string& dir) {
  dcgan::data::ImageSet set;
  set.images = torch::randint(0, 256, {2, 3, kSide, kSide}, torch::kUInt8);
  set.labels = torch::tensor({0, 1}, torch::kInt64);
  dcgan::data::DecodeOutcome outcome;
  outcome.kept = {1, 0, 1};
  outcome.skipped = 1;
  outcome.skipped_reasons = {"cat/b.png: empty file"};
  const std::string cache = dir + "/valid.u8cache";
  dcgan::data::write_folder_cache(cache, listing(), kSide, set, outcome);
  std::ifstream in(cache, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::remove(cache.c_str());
  for (const char mode : {'\0', '\1'})
    std::ofstream(dir + "/seed_mode" + std::to_string(mode), std::ios::binary) << mode << bytes;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("FUZZ_FOLDER_CACHE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) repair_crcs(bytes);
  std::ofstream(temp_path(), std::ios::binary | std::ios::trunc) << bytes;
  dcgan::data::DecodeOutcome outcome;
  std::string why;
  try {
    const auto set = dcgan::data::read_folder_cache(temp_path(), listing(), kSide, outcome, why);
    if (!set) {
      if (why.empty()) finding("refused without a reason");
      return 0;
    }
    const auto& x = set->images;
    int64_t kept = 0;
    for (auto k : outcome.kept) kept += k != 0;
    if (x.scalar_type() != torch::kUInt8 || x.dim() != 4 || x.size(0) != kept || x.size(1) != 3 ||
        x.size(2) != kSide || x.size(3) != kSide)
      finding("images are not uint8 kept x 3 x 8 x 8");
    if (set->labels.numel() != kept) finding("not one label per image");
    volatile int64_t sum = x.sum().item<int64_t>();  // every byte of the mapping is read
    (void)sum;
  } catch (const std::exception& e) {
    finding(std::string("exception: ") + e.what());
  }
  return 0;
}
