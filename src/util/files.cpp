#include "dcgan/util/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <stdexcept>

#include "dcgan/util/errors.h"

namespace fs = std::filesystem;

namespace dcgan {
namespace {

// The PartialFile in progress, readable from a signal handler.
char partial_path[4096];
std::atomic<bool> partial_set{false};

std::string errno_text() {
  return std::strerror(errno);
}

void write_all(int fd, const std::string& bytes, const std::string& path) {
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(path + ": write failed (" + errno_text() + ")");
    written += static_cast<size_t>(n);
  }
}

void fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

PartialFile::PartialFile(const std::string& path) {
  if (path.size() >= sizeof(partial_path)) return;
  partial_set = false;
  std::memcpy(partial_path, path.c_str(), path.size() + 1);
  partial_set = true;
}

PartialFile::~PartialFile() {
  partial_set = false;
}

void remove_partial_file() {
  if (partial_set) ::unlink(partial_path);
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  const fs::path target(path);
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  const PartialFile partial(temp);
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error(temp + ": cannot create (" + errno_text() + ")");
  try {
    write_all(fd, bytes, temp);
    if (::fsync(fd) != 0) throw std::runtime_error(temp + ": fsync failed (" + errno_text() + ")");
  } catch (...) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    ::unlink(temp.c_str());
    throw std::runtime_error(temp + ": close failed (" + errno_text() + ")");
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string reason = errno_text();
    ::unlink(temp.c_str());
    throw std::runtime_error(path + ": cannot rename temporary file into place (" + reason + ")");
  }
  fsync_dir(target.parent_path());
}

void ensure_writable_dir(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw InputError(dir + ": exists and is not a folder");
  fs::create_directories(dir, ec);
  if (ec) throw InputError(dir + ": cannot create folder (" + ec.message() + ")");
  const std::string probe =
      (fs::path(dir) / (".write_test." + std::to_string(::getpid()))).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw InputError(dir + ": folder is not writable (" + errno_text() + ")");
  ::close(fd);
  ::unlink(probe.c_str());
}

uint64_t available_bytes(const std::string& path) {
  fs::path p = fs::absolute(path);
  std::error_code ec;
  while (!p.empty() && !fs::exists(p, ec)) p = p.parent_path();
  const auto info = fs::space(p.empty() ? fs::path(".") : p, ec);
  return ec ? UINT64_MAX : info.available;
}

std::string timestamp_for_path() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm local{};
  localtime_r(&now, &local);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%d_%H-%M-%S", &local);
  return buffer;
}

}  // namespace dcgan

#include <sys/file.h>

namespace dcgan {

FolderLock::FolderLock(const std::string& path, const std::string& what) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw InputError(path + ": cannot create lock file (" + errno_text() + ")");
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    fd_ = -1;
    throw InputError(what + " is in use by another dcgan process (lock " + path + ")");
  }
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);
}

void remove_stale_temp_files(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().filename().string().find(".tmp.") != std::string::npos)
      fs::remove(entry.path(), ec);
  }
}

void check_output_file(const std::string& path) {
  const auto parent = std::filesystem::absolute(path).parent_path();
  std::error_code ec;
  if (!std::filesystem::is_directory(parent, ec)) {
    throw InputError(path + ": cannot write, folder " + parent.string() + " does not exist");
  }
  if (::access(parent.c_str(), W_OK) != 0)
    throw InputError(path + ": cannot write, folder is not writable");
  if (std::filesystem::is_directory(path, ec))
    throw InputError(path + ": is a folder, expected a file name");
}

}  // namespace dcgan
