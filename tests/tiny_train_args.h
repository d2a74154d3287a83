#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace dcgan::test {

// `dcgan train` options for a tiny, fast run of `data` into `out`: conv_dim 4, z of 8, batches of
// 4, one epoch, log lines instead of a progress bar, no plot, 4 sample images. Callers append
// their own options; later options win.
inline std::vector<std::string> tiny_train_args(const std::string& data,
                                                const std::filesystem::path& out, int seed) {
  return {"train",
          "--data",
          data,
          "--out",
          out.string(),
          "--conv-dim",
          "4",
          "--z-size",
          "8",
          "--batch-size",
          "4",
          "--epochs",
          "1",
          "--seed",
          std::to_string(seed),
          "--progress",
          "log",
          "--no-plot",
          "--sample-size",
          "4"};
}

}  // namespace dcgan::test
