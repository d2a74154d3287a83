#pragma once
#include <cstdint>

// What the stand-in's remove_all returns: no real removal of a small folder counts this many.
inline constexpr std::uintmax_t kStandInRemoveAllResult = 424242;

int stand_in_is_loaded();
