// Calls std::filesystem::remove_all in a program linked against a library that exports its own copy
// of it (libstdcxx_stand_in.cpp, as PyTorch's wheels do), and checks that libstdc++'s ran: the
// folder is gone. remove_all is its only std::filesystem call, so that a static libstdc++ brings
// its copy in for this call alone, as a program whose every such call LibTorch also exports.
// Exit 0 when the folder is gone, 1 when the call bound to the stand-in.
//   link_order_probe DIR
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>

#include "stand_in.h"

int main(int argc, char** argv) {
  if (argc != 2 || stand_in_is_loaded() != 1) {
    std::fprintf(stderr, "usage: link_order_probe DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  const std::string file = dir + "/a/file";
  if (mkdir(dir.c_str(), 0755) != 0 || mkdir((dir + "/a").c_str(), 0755) != 0) {
    std::fprintf(stderr, "link_order_probe: cannot make %s\n", dir.c_str());
    return 2;
  }
  if (std::FILE* out = std::fopen(file.c_str(), "w")) std::fclose(out);
  std::error_code ec;
  const auto removed = std::filesystem::remove_all(dir, ec);
  struct stat info {};
  if (removed == kStandInRemoveAllResult || stat(dir.c_str(), &info) == 0) {
    std::fprintf(stderr,
                 "link_order_probe: std::filesystem::remove_all bound to the stand-in library's "
                 "copy, not libstdc++'s (%s is still there)\n",
                 dir.c_str());
    return 1;
  }
  std::printf("link_order_probe: libstdc++'s remove_all removed %ju entries\n", removed);
  return 0;
}
