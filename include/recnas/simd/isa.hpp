#pragma once
// Instruction-set levels, detection, and the force knob used by tests and benchmarks.
//
// recnas kernels exist per ISA. `detected_isa()` is what the CPU supports; `active_isa()` is
// the level kernels use: the detected one, lowered by `force_isa()` or by the environment
// variable RECNAS_ISA=generic|avx2|avx512 (never raised above what the CPU supports).

#include <atomic>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "recnas/core/error.hpp"

namespace recnas::simd {

enum class isa : int {
  generic = 0,  // the translation unit's own default xsimd arch (SSE2 without flags)
  avx2 = 1,     // AVX2 + FMA3, 8 floats per register
  avx512 = 2,   // AVX-512 F/CD/BW/DQ/VL, 16 floats per register
};
inline constexpr int isa_count = 3;

[[nodiscard]] constexpr std::string_view to_string(isa i) noexcept {
  switch (i) {
    case isa::generic:
      return "generic";
    case isa::avx2:
      return "avx2";
    case isa::avx512:
      return "avx512";
  }
  return "unknown";
}

[[nodiscard]] inline std::optional<isa> parse_isa(std::string_view s) noexcept {
  if (s == "generic") return isa::generic;
  if (s == "avx2") return isa::avx2;
  if (s == "avx512") return isa::avx512;
  return std::nullopt;
}

/// The best level this CPU runs (cpuid through xsimd).
[[nodiscard]] inline isa detected_isa() noexcept {
  static const isa detected = [] {
    const auto a = xsimd::available_architectures();
    if (a.avx512f && a.avx512bw && a.avx512dq && a.avx512cd && a.fma3_avx2) return isa::avx512;
    if (a.avx2 && a.fma3_avx2) return isa::avx2;
    return isa::generic;
  }();
  return detected;
}

namespace detail {
inline std::atomic<int>& forced_isa_slot() noexcept {
  static std::atomic<int> slot{-1};
  return slot;
}
inline std::optional<isa> env_isa() {
  static const std::optional<isa> from_env = []() -> std::optional<isa> {
    const char* v = std::getenv("RECNAS_ISA");
    if (v == nullptr || *v == '\0') return std::nullopt;
    auto parsed = parse_isa(v);
    if (!parsed) {
      throw input_error("", 0, "RECNAS_ISA",
                        "unknown ISA '" + std::string(v) + "' (expected generic, avx2 or avx512)");
    }
    return parsed;
  }();
  return from_env;
}
}  // namespace detail

/// Forces kernels down to `level` (std::nullopt restores automatic choice). Thread-safe; meant
/// for tests and benchmarks that compare ISA paths.
inline void force_isa(std::optional<isa> level) noexcept {
  detail::forced_isa_slot().store(level ? static_cast<int>(*level) : -1, std::memory_order_relaxed);
}

/// The level kernels run at: min(detected, forced or RECNAS_ISA).
[[nodiscard]] inline isa active_isa() {
  int level = static_cast<int>(detected_isa());
  const int forced = detail::forced_isa_slot().load(std::memory_order_relaxed);
  if (forced >= 0) {
    level = forced < level ? forced : level;
  } else if (auto env = detail::env_isa()) {
    level = static_cast<int>(*env) < level ? static_cast<int>(*env) : level;
  }
  return static_cast<isa>(level);
}

/// RAII form of force_isa for a scope.
class scoped_isa {
 public:
  explicit scoped_isa(isa level) noexcept { force_isa(level); }
  ~scoped_isa() { force_isa(std::nullopt); }
  scoped_isa(const scoped_isa&) = delete;
  scoped_isa& operator=(const scoped_isa&) = delete;
};

/// The architecture of the caller's own (fallback) kernel tables: xsimd's default for the
/// translation unit's flags, except that AVX-512BW is used as AVX-512DQ. The kernels need no
/// byte/word instructions, and xsimd 8.1's AVX-512BW overloads of integer `select` (used inside
/// `xsimd::log`) do not compile at -O0.
using fallback_arch = std::conditional_t<std::is_base_of_v<xsimd::avx512dq, xsimd::default_arch>,
                                         xsimd::avx512dq, xsimd::default_arch>;

/// Maps an xsimd architecture tag to the dispatch level whose table it fills.
template <class Arch>
[[nodiscard]] constexpr isa isa_of() noexcept {
  if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
    return isa::avx512;
  } else if constexpr (std::is_base_of_v<xsimd::avx2, Arch>) {
    return isa::avx2;
  } else {
    return isa::generic;
  }
}

}  // namespace recnas::simd
