// libFuzzer target for the torch.save reader behind `dcgan import`
// (dcgan::serialization::read_state_dict: the zip records, then our own unpickler).
//
// After a mode byte, each input is either the whole file (mode 0) or, with mode 1, the pickle
// alone, put into a well-formed torch.save zip (archive/data.pkl beside storages data/0 and data/1
// of 64 bytes) so that mutations reach the unpickler past the zip's CRCs. dcgan::InputError, one
// line naming the file, is the expected outcome for bad input; any other exception is a finding,
// and libFuzzer catches crashes, leaks, hangs and sanitizer reports.
//
//   FUZZ_TORCH_FILE_SEEDS=DIR build-fuzz/fuzz_torch_file   writes the seed inputs into DIR
//   scripts/fuzz.sh [SECONDS] torch_file                    fuzzes (see docs/RELIABILITY.md)
#include <caffe2/serialize/inline_container.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "dcgan/serialization/torch_file.h"
#include "dcgan/util/errors.h"

namespace {

const std::string& temp_path() {
  static const std::string path = "/tmp/fuzz_torch_file." + std::to_string(getpid()) + ".pt";
  return path;
}

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "fuzz_torch_file: FINDING: %s\n", what.c_str());
  std::abort();
}

// A torch.save zip holding `pickle` as its data.pkl and two 64-byte storages.
std::string zip_with_pickle(const std::string& pickle) {
  std::string out;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) {
    out.append(static_cast<const char*>(data), size);
    return size;
  });
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  writer.writeRecord("byteorder", "little", 6);
  const std::string storage(64, '\x3f');
  writer.writeRecord("data/0", storage.data(), storage.size());
  writer.writeRecord("data/1", storage.data(), storage.size());
  writer.writeEndOfFile();
  return out;
}

// The pickle of a state_dict, taken from a file state_dict_bytes wrote.
std::string pickle_of(const std::string& file) {
  caffe2::serialize::PyTorchStreamReader reader(file);
  auto [data, size] = reader.getRecord("data.pkl");
  return std::string(static_cast<const char*>(data.get()), size);
}

void write_seeds(const std::string& dir) {
  const dcgan::serialization::TensorDict tensors = {
      {"conv.weight", torch::randn({2, 3})},
      {"conv.bias", torch::zeros({2})},
      {"bn.num_batches_tracked", torch::tensor(int64_t{3})}};
  const std::string file = dcgan::serialization::state_dict_bytes(tensors);
  const std::string path = dir + "/whole.pt";
  std::ofstream(dir + "/seed_mode0", std::ios::binary) << '\0' << file;
  std::ofstream(path, std::ios::binary) << file;
  std::ofstream(dir + "/seed_mode1", std::ios::binary) << '\1' << pickle_of(path);
  std::remove(path.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("FUZZ_TORCH_FILE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::ofstream(temp_path(), std::ios::binary | std::ios::trunc)
      << (data[0] & 1 ? zip_with_pickle(rest) : rest);
  try {
    const auto tensors = dcgan::serialization::read_state_dict(temp_path());
    for (const auto& [name, tensor] : tensors) {
      if (!tensor.defined()) finding("undefined tensor for " + name);
      // Every byte is readable (ASan checks the copy).
      const auto bytes = tensor.contiguous();
      std::string copy(bytes.nbytes(), '\0');
      if (!copy.empty()) std::memcpy(&copy[0], bytes.data_ptr(), copy.size());
    }
  } catch (const dcgan::InputError& e) {
    const std::string message = e.what();
    if (message.find('\n') != std::string::npos) finding("error of several lines: " + message);
  } catch (const std::exception& e) {
    finding(std::string("exception other than InputError: ") + e.what());
  }
  return 0;
}
