#pragma once
// Cache files of the image-folder cache as bytes, for tests that plant faults in them: the layout
// of src/data/folder_cache.cpp (a 128-byte header, the manifest from byte 128, the pixels at
// pixels_offset), written out here so that a change of layout fails these tests.
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "dcgan/data/folder_cache.h"
#include "test_helpers.h"

namespace dcgan::test {

constexpr size_t kCacheDecoderVersionAt = 8, kCacheSideAt = 16, kCachePixelsOffsetAt = 48;
constexpr size_t kCacheManifestAt = 128;  // the key starts with the decoder version, then the side

// A valid cache of 2 kept 8x8 images (the first and last of a 3-file listing), as bytes.
inline std::string valid_cache(const TempDir& tmp, const dcgan::data::FolderListing& listing) {
  dcgan::data::ImageSet set;
  set.images = torch::randint(0, 256, {2, 3, 8, 8}, torch::kUInt8);
  set.labels = torch::tensor({0, 1}, torch::kInt64);
  dcgan::data::DecodeOutcome outcome;
  outcome.kept = {1, 0, 1};
  outcome.skipped = 1;
  dcgan::data::write_folder_cache(tmp.file("valid.u8cache"), listing, 8, set, outcome);
  return read_bytes(tmp.file("valid.u8cache"));
}

inline void put_u64(std::string& bytes, size_t at, uint64_t value) {
  std::memcpy(&bytes[at], &value, 8);
}
inline uint64_t get_u64(const std::string& bytes, size_t at) {
  uint64_t value = 0;
  std::memcpy(&value, &bytes[at], 8);
  return value;
}

// The header's CRC-32s made right again after a planted change.
inline void fix_crcs(std::string& b) {
  const uint64_t key = get_u64(b, 32), outcome = get_u64(b, 40), pixels_at = get_u64(b, 48);
  auto put_crc = [&](size_t at, size_t from, size_t size) {
    const auto c = static_cast<uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(b.data() + from), static_cast<uInt>(size)));
    std::memcpy(&b[at], &c, 4);
  };
  put_crc(56, kCacheManifestAt, key);
  put_crc(60, kCacheManifestAt + key, outcome);
  put_crc(64, pixels_at, b.size() - pixels_at);
  put_crc(68, 0, 68);
}

}  // namespace dcgan::test
