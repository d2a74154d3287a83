#pragma once

#include <string>

namespace dcgan {

std::string version();        // this tool's version, e.g. "0.1.0"
std::string torch_version();  // the LibTorch it runs on, e.g. "1.13.1"
bool cuda_available();
std::string version_report();  // one line: "dcgan 0.1.0 (LibTorch 1.13.1, CUDA: not available)"

}  // namespace dcgan

#include <nlohmann/json.hpp>

namespace dcgan {

// Versions of dcgan and the libraries it was built with, for config.json.
nlohmann::json library_versions();

}  // namespace dcgan
