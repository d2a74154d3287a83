// The MAT v7.3 reader's child process: HDF5 runs in a forked child, so that a crash on a corrupt
// file becomes a one-line error in dcgan.
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dcgan/util/errors.h"
#include "mat5_reader.h"
#include "mat_detail.h"

// Present only in sanitizer builds. libFuzzer registers a death callback that saves the current
// input as a crash; a reader child inherits it, so a contained HDF5 crash would be recorded as one.
extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

namespace dcgan::data::detail {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw InputError(path + ": " + problem);
}

// Pipe I/O for read_mat_isolated. Reads give up when the child sends nothing for a minute.
bool write_exact(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool read_exact(int fd, void* data, size_t size) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    pollfd waiting{fd, POLLIN, 0};
    const int ready = ::poll(&waiting, 1, /*timeout_ms=*/60000);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    const ssize_t n = ::read(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

// HDF5 1.10 can crash (out-of-bounds reads, found by fuzzing) or print to stderr on a corrupt
// v7.3 file, and no pre-check rules that out. So v7.3 files are read in a child process: a crash
// there becomes a one-line error here. The child writes the pixels into a memfd the parent maps
// afterwards (no copy through a pipe), and sends 'E' + message, or 'K' + N + S + labels.
ImageSet read_mat_isolated(const std::string& path, int64_t file_bytes) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error(path + ": cannot create a pipe for the reader");
  const int pixels_fd = ::memfd_create("dcgan-mat73-pixels", MFD_CLOEXEC);
  if (pixels_fd < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error(path + ": cannot create shared memory for the reader");
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } pixels_closer{pixels_fd};
  const int threads = std::max(1, std::min(16, at::get_num_threads()));
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(path + ": cannot start the reader process");
  if (pid == 0) {
    ::close(fds[0]);
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, STDERR_FILENO);  // HDF5's own diagnostics
    at::set_num_threads(1);                      // OpenMP's thread pool does not survive fork
    if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(nullptr);
    char tag = 'E';
    std::string message;
    try {
      const auto allocate = [&](size_t bytes) -> uint8_t* {
        if (::ftruncate(pixels_fd, static_cast<off_t>(bytes)) != 0)
          throw std::runtime_error(path + ": no memory for the pixels");
        // Populated at once: shared memory has no huge pages here, and a fault per 4 KiB page
        // while inflating into it cost more than the inflating.
        void* p =
            ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, pixels_fd, 0);
        if (p == MAP_FAILED) throw std::runtime_error(path + ": no memory for the pixels");
        return static_cast<uint8_t*>(p);
      };
      const auto result = detail::read_mat73(path, file_bytes, threads, allocate);
      tag = 'K';
      const bool sent =
          write_exact(fds[1], &tag, 1) && write_exact(fds[1], &result.count, sizeof(int64_t)) &&
          write_exact(fds[1], &result.side, sizeof(int64_t)) &&
          write_exact(fds[1], result.labels.data(), result.labels.size() * sizeof(int64_t));
      bool names_sent = sent;
      const uint64_t names = result.classes.size();
      names_sent = names_sent && write_exact(fds[1], &names, sizeof(names));
      for (const auto& name : result.classes) {
        const uint64_t length = name.size();
        names_sent = names_sent && write_exact(fds[1], &length, sizeof(length)) &&
                     write_exact(fds[1], name.data(), name.size());
      }
      ::_exit(names_sent ? 0 : 1);
    } catch (const std::exception& e) {
      message = e.what();
    }
    const uint64_t length = message.size();
    const bool sent = write_exact(fds[1], &tag, 1) &&
                      write_exact(fds[1], &length, sizeof(length)) &&
                      write_exact(fds[1], message.data(), message.size());
    ::_exit(sent ? 0 : 1);
  }
  ::close(fds[1]);
  struct Reaper {  // never leave the child running or unreaped, whatever happens below
    pid_t pid;
    int fd;
    int status = 0;
    bool reaped = false;
    int wait() {
      if (!reaped) {
        ::close(fd);
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        reaped = true;
      }
      return status;
    }
    ~Reaper() {
      if (!reaped) ::kill(pid, SIGKILL);
      wait();
    }
  } child{pid, fds[0]};

  char tag = 0;
  int64_t count = 0, side = 0;
  if (read_exact(fds[0], &tag, 1) && tag == 'E') {
    uint64_t length = 0;
    std::string message(1024, '\0');
    if (read_exact(fds[0], &length, sizeof(length)) && length <= (1 << 20)) {
      message.resize(length);
      if (read_exact(fds[0], message.data(), length)) throw InputError(message);
    }
  } else if (tag == 'K' && read_exact(fds[0], &count, sizeof(count)) &&
             read_exact(fds[0], &side, sizeof(side)) && count > 0 && side >= 1 &&
             side <= kMaxSide && count * side * side * kChannels / 1100 <= file_bytes) {
    ImageSet set;
    set.labels = torch::empty({count}, torch::kInt64);
    set.format = "MAT v7.3";
    const auto bytes = static_cast<size_t>(count * side * side * kChannels);
    struct stat info {};
    uint64_t names = 0;
    bool ok =
        read_exact(fds[0], set.labels.data_ptr(), static_cast<size_t>(count) * sizeof(int64_t)) &&
        read_exact(fds[0], &names, sizeof(names)) && names <= (1u << 20);
    for (uint64_t i = 0; ok && i < names; ++i) {
      uint64_t length = 0;
      ok = read_exact(fds[0], &length, sizeof(length)) && length <= (1u << 16);
      std::string name(ok ? length : 0, '\0');
      ok = ok && read_exact(fds[0], name.data(), name.size());
      set.classes.push_back(std::move(name));
    }
    if (ok && child.wait() == 0 && ::fstat(pixels_fd, &info) == 0 &&
        static_cast<size_t>(info.st_size) == bytes) {
      // Moved into huge-page memory 16 MB at a time, each piece of shared memory freed once read:
      // shared memory has only 4 KiB pages here, which made every later pass over the pixels
      // (statistics, batches) several times slower; peak memory stays ~1x the pixels.
      PixelBuffer buffer(bytes);
      if (!buffer.data) throw std::runtime_error(path + ": no memory for the pixels");
      constexpr size_t kPiece = size_t{16} << 20;
      for (size_t done = 0; done < bytes;) {
        const ssize_t n = ::pread(pixels_fd, buffer.data + done, std::min(kPiece, bytes - done),
                                  static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
          throw std::runtime_error(path + ": cannot read the pixels back from the reader");
        ::fallocate(pixels_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(done),
                    n);
        done += static_cast<size_t>(n);
      }
      set.images = buffer.release_as_tensor(0, static_cast<int64_t>(bytes))
                       .view({count, kChannels, side, side});
      return set;
    }
  }
  ::kill(pid, SIGKILL);
  const int status = child.wait();
  if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL) {
    fail(path, std::string("corrupt MAT v7.3 file (the HDF5 reader crashed: ") +
                   strsignal(WTERMSIG(status)) + ")");
  }
  fail(path, "corrupt MAT v7.3 file (the HDF5 reader failed or stopped responding)");
}

}  // namespace dcgan::data::detail
