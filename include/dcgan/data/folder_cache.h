#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dcgan/data/svhn.h"

namespace dcgan::data {

// An image folder as listed before decoding: what the cache is keyed by.
struct FolderListing {
  struct File {
    std::string relative;  // path below the folder, '/'-separated
    int64_t size = 0;      // bytes
    int64_t mtime_ns = 0;  // modification time, nanoseconds since the epoch
    int64_t label = -1;    // class index, -1 in a flat folder
  };
  std::string root;                  // the folder, canonical (symlinks resolved)
  std::vector<std::string> classes;  // sorted subfolder names; empty for a flat folder
  std::vector<File> files;           // in torchvision's order: by class, folder, then name
};

// What decoding a listing produced, besides the pixels: which files were kept, and why the others
// were not (kept so a cached load can repeat the warning).
struct DecodeOutcome {
  std::vector<uint8_t> kept;                 // one per listed file: 1 decoded, 0 skipped
  int64_t upscaled = 0;                      // kept images smaller than the target size
  std::vector<std::string> skipped_reasons;  // "relative: reason", at most a few
  int64_t skipped = 0;
};

// The default cache folder: $XDG_CACHE_HOME/dcgan, else ~/.cache/dcgan, else the system temp
// folder's dcgan-cache. Never inside the data folder, which may be read-only or shared.
std::string default_cache_dir();

// The cache file for `listing` decoded at `side`: one per folder and size, replaced when the folder
// changes. NAME-HASH-SIDEpx.u8cache, HASH from the folder's canonical path.
std::string cache_file(const std::string& cache_dir, const FolderListing& listing, int64_t side);

// Memory-maps a cache file that matches `listing` and `side` exactly and passes its checksums.
// nullopt when it does not: `why` then says why ("" when there is no cache file). The pixels stay
// mapped (copy-on-write) for as long as the tensor lives.
std::optional<ImageSet> read_folder_cache(const std::string& path, const FolderListing& listing,
                                          int64_t side, DecodeOutcome& outcome, std::string& why);

// Writes `set` (the kept images of `listing`) as a cache file, atomically (temporary + rename).
// Throws std::runtime_error naming the file when it cannot.
void write_folder_cache(const std::string& path, const FolderListing& listing, int64_t side,
                        const ImageSet& set, const DecodeOutcome& outcome);

}  // namespace dcgan::data
