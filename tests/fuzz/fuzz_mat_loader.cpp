// libFuzzer target for the SVHN MAT loader (dcgan::data::load_svhn_mat).
//
// Each input is written to one temp file per process (matio only reads from paths) and loaded.
// dcgan::InputError is the expected outcome for bad input; anything else is a finding: another
// exception type is reported and aborts, and crashes, hangs, leaks and sanitizer reports are caught
// by libFuzzer itself. A successful load must also satisfy the loader's documented contract.
//
// Build and run: scripts/fuzz.sh [SECONDS]  (see docs/RELIABILITY.md).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <typeinfo>

#include "dcgan/data/svhn.h"
#include "dcgan/util/errors.h"

namespace {

const std::string& temp_path() {
  static const std::string path = "/tmp/fuzz_mat_loader." + std::to_string(getpid()) + ".mat";
  return path;
}

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "fuzz_mat_loader: FINDING: %s\n", what);
  std::fflush(stderr);
  std::abort();
}

void check_contract(const dcgan::data::ImageSet& set) {
  const auto& x = set.images;
  const auto& y = set.labels;
  if (!x.defined() || !y.defined()) finding("loaded set has undefined tensors");
  if (x.scalar_type() != torch::kUInt8 || x.dim() != 4 || x.size(0) < 1 || x.size(1) != 3 ||
      x.size(2) != 32 || x.size(3) != 32) {
    finding("images are not uint8 N x 3 x 32 x 32");
  }
  if (y.scalar_type() != torch::kInt64 || y.dim() != 1 || y.size(0) != x.size(0)) {
    finding("labels are not int64 with one per image");
  }
  if (y.min().item<int64_t>() < 0 || y.max().item<int64_t>() > 9) finding("labels outside 0-9");
  if (set.format != "MAT v5" && set.format != "MAT v7.3") finding("unexpected format string");
}

}  // namespace

// Removes the temp file when libFuzzer exits (fork mode starts a process per job).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  static char name[64];
  std::snprintf(name, sizeof(name), "%s", temp_path().c_str());
  std::atexit([] { unlink(name); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = temp_path();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) finding("cannot write the temp file");
  if (size && std::fwrite(data, 1, size, f) != size) finding("short write to the temp file");
  std::fclose(f);

  // FUZZ_MAT_VERBOSE=1 prints each outcome, to check what a corpus file does.
  static const bool verbose = std::getenv("FUZZ_MAT_VERBOSE") != nullptr;
  try {
    const auto set = dcgan::data::load_svhn_mat(path);
    check_contract(set);
    if (verbose)
      std::fprintf(stderr, "fuzz_mat_loader: loaded %s, %lld images\n", set.format.c_str(),
                   static_cast<long long>(set.size()));
  } catch (const dcgan::InputError& e) {
    // Expected: the loader rejected the input with a one-line message that names the file.
    const std::string message = e.what();
    if (message.find('\n') != std::string::npos || message.find('\r') != std::string::npos) {
      std::fprintf(stderr, "fuzz_mat_loader: message: %s\n", e.what());
      finding("InputError message is not one line");
    }
    if (message.rfind(path, 0) != 0)
      finding("InputError message does not start with the file name");
    if (verbose) std::fprintf(stderr, "fuzz_mat_loader: rejected: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_mat_loader: unexpected %s: %s\n", typeid(e).name(), e.what());
    finding("exception other than dcgan::InputError");
  } catch (...) {
    finding("non-std exception");
  }
  return 0;
}
