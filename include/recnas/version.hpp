#pragma once
// The single source of the version; CMakeLists.txt parses these three lines.
#define RECNAS_VERSION_MAJOR 0
#define RECNAS_VERSION_MINOR 1
#define RECNAS_VERSION_PATCH 0

#include <string_view>

namespace recnas {
inline constexpr int version_major = RECNAS_VERSION_MAJOR;
inline constexpr int version_minor = RECNAS_VERSION_MINOR;
inline constexpr int version_patch = RECNAS_VERSION_PATCH;
inline constexpr std::string_view version_string = "0.1.0";
static_assert(version_string.size() == 5, "keep version_string in sync with the macros above");
}  // namespace recnas
