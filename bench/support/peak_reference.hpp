#pragma once
// The machine's measured single-core FP32 FMA peak, shared by every benchmark's
// `peak_fraction` counter. Measured once per process with the widest ISA available.

#include <algorithm>
#include <chrono>
#include <cstdint>

#include <recnas/kernels/peak.hpp>

namespace recnas::bench {

/// Best of 5 short runs (the maximum, because interference only ever slows a run down).
inline double measure_peak_gflops() {
  const auto& t = recnas::kernels::peak();
  volatile float sink = 0.0f;
  const std::int64_t iters = 2'000'000;
  double best = 0.0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    sink = sink + t.fma_chains(iters, 1.0f);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, static_cast<double>(iters * t.flops_per_iteration) / s * 1e-9);
  }
  return best;
}

/// Cached single-core peak in GFLOP/s.
inline double peak_gflops_per_core() {
  static const double peak = measure_peak_gflops();
  return peak;
}

}  // namespace recnas::bench
