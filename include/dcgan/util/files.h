#pragma once

#include <cstdint>
#include <string>

namespace dcgan {

// Writes `bytes` to `path` so that a reader (or a crash) never sees a partial file: write to a
// temporary file in the same folder, flush and fsync it, rename it over `path`, fsync the folder.
// Throws std::runtime_error naming the file on any failure; `path` is untouched then.
void write_file_atomically(const std::string& path, const std::string& bytes);

// Creates `dir` (and parents) if needed and checks that a file can be created in it.
// Throws dcgan::InputError("<dir>: ...") when it cannot.
void ensure_writable_dir(const std::string& dir);

// Refuses an output file path whose folder does not exist or is not writable, or that names a
// folder, before any work is done. Throws dcgan::InputError("<path>: ...").
void check_output_file(const std::string& path);

// Bytes free to an unprivileged user on the file system holding `path` (or its nearest existing
// parent).
uint64_t available_bytes(const std::string& path);

// Local time as "2026-11-26_19-30-05", for default run folder names.
std::string timestamp_for_path();

}  // namespace dcgan

namespace dcgan {

// An exclusive advisory lock (flock) on `path`, held for the object's lifetime. Throws
// dcgan::InputError when another process holds it, so two runs never write one folder.
class FolderLock {
 public:
  FolderLock(const std::string& path, const std::string& what);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

// Names the temporary file of a write in progress for as long as it lives, so that a signal that
// ends the process during the write can remove it (remove_partial_file). One at a time.
class PartialFile {
 public:
  explicit PartialFile(const std::string& path);
  ~PartialFile();
  PartialFile(const PartialFile&) = delete;
  PartialFile& operator=(const PartialFile&) = delete;
};

// Unlinks the file a PartialFile names, if any. Async-signal-safe.
void remove_partial_file();

// Removes leftovers of writes interrupted by a kill ("NAME.tmp.PID" files) in `dir`.
void remove_stale_temp_files(const std::string& dir);

}  // namespace dcgan
