// A stand-in for PyTorch's pip wheels (2.5 and later), whose libtorch exports its own, statically
// linked copies of parts of libstdc++ (std::filesystem among them) as weak symbols. This library
// does the same with a remove_all that removes nothing and says so by its return value, so that a
// program whose calls bind to it can be caught (tests/link_order/link_order_test.sh).
#include <cstdint>
#include <filesystem>
#include <system_error>

#include "stand_in.h"

namespace std::filesystem {
// The mangled name of libstdc++'s own remove_all(const path&, error_code&).
__attribute__((weak)) uintmax_t remove_all(const path&, error_code& ec) {
  ec.clear();
  return kStandInRemoveAllResult;
}
}  // namespace std::filesystem

// A symbol the probe needs from this library, so that the linker keeps it (--as-needed) the way a
// program keeps libtorch.
int stand_in_is_loaded() { return 1; }
