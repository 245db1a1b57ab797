#pragma once
// A kernel that only issues independent FMAs: the machine's peak FP32 rate, which every other
// kernel's benchmark reports against (counter `peak_fraction`).

#include <cstdint>

#include <xsimd/xsimd.hpp>

#include "recnas/simd/dispatch.hpp"

namespace recnas::kernels {

namespace detail {
template <class Arch>
float fma_chains(std::int64_t iterations, float seed) noexcept {
  using batch = xsimd::batch<float, Arch>;
  // 12 independent chains cover FMA latency x throughput on current x86 cores.
  constexpr int chains = 12;
  batch acc[chains];
  for (int c = 0; c < chains; ++c) acc[c] = batch(seed + 0.001f * static_cast<float>(c));
  const batch a(0.999999f);
  const batch b(1e-7f);
  for (std::int64_t i = 0; i < iterations; ++i) {
    for (int c = 0; c < chains; ++c) acc[c] = xsimd::fma(acc[c], a, b);
  }
  batch sum = acc[0];
  for (int c = 1; c < chains; ++c) sum += acc[c];
  return xsimd::hadd(sum);
}
}  // namespace detail

/// Table of the peak-FMA probe.
struct peak_table {
  /// Runs `iterations` rounds of `flops_per_iteration()/2` FMAs; returns a checksum.
  float (*fma_chains)(std::int64_t iterations, float seed) = nullptr;
  /// FLOPs done per iteration (2 per FMA lane).
  std::int64_t flops_per_iteration = 0;
  int lanes = 0;

  template <class Arch>
  static peak_table make() {
    const int lanes = static_cast<int>(xsimd::batch<float, Arch>::size);
    return {&detail::fma_chains<Arch>, std::int64_t{2} * 12 * lanes, lanes};
  }
};

// Entry points (they dispatch) and references: never compiled in the ISA translation units,
// where an inline copy built with wider-ISA flags could be the one the linker keeps.
#ifndef RECNAS_ISA_TRANSLATION_UNIT

/// The peak-FMA probe for the active ISA.
[[nodiscard]] inline const peak_table& peak() { return simd::dispatcher<peak_table>::get(); }

#endif  // RECNAS_ISA_TRANSLATION_UNIT
}  // namespace recnas::kernels
