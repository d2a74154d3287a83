// Calls std::filesystem::remove_all in a program linked against a library that exports its own copy
// of it (libstdcxx_stand_in.cpp, as PyTorch's wheels do), and checks that libstdc++'s ran: the
// folder is gone. Exit 0 when it is, 1 when the call bound to the stand-in.
//   link_order_probe DIR
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "stand_in.h"

int main(int argc, char** argv) {
  if (argc != 2 || stand_in_is_loaded() != 1) {
    std::fprintf(stderr, "usage: link_order_probe DIR\n");
    return 2;
  }
  namespace fs = std::filesystem;
  const fs::path dir = argv[1];
  fs::create_directories(dir / "a" / "b");
  std::ofstream(dir / "a" / "b" / "file") << "x";
  std::error_code ec;
  const auto removed = fs::remove_all(dir, ec);
  if (removed == kStandInRemoveAllResult || fs::exists(dir)) {
    std::fprintf(stderr,
                 "link_order_probe: std::filesystem::remove_all bound to the stand-in library's "
                 "copy, not libstdc++'s (%s is still there)\n",
                 dir.c_str());
    return 1;
  }
  std::printf("link_order_probe: libstdc++'s remove_all removed %ju entries\n", removed);
  return 0;
}
