#pragma once
// Shared helpers of the kernel tests: random data, closeness checks, the ISA loop.

#include <cmath>
#include <cstdint>
#include <vector>

#include <doctest/doctest.h>

#include <recnas/core/rng.hpp>
#include <recnas/simd/isa.hpp>

namespace kt {

using recnas::index;

/// Every ISA level this CPU runs (generic first).
inline std::vector<recnas::simd::isa> isa_levels() {
  std::vector<recnas::simd::isa> out;
  for (auto level :
       {recnas::simd::isa::generic, recnas::simd::isa::avx2, recnas::simd::isa::avx512}) {
    if (static_cast<int>(level) <= static_cast<int>(recnas::simd::detected_isa()))
      out.push_back(level);
  }
  return out;
}

inline std::vector<float> random_vec(std::size_t n, std::uint64_t seed, float lo = -1.0f,
                                     float hi = 1.0f) {
  recnas::rng r(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = lo + (hi - lo) * static_cast<float>(r.uniform());
  return v;
}

/// |a - b| <= atol + rtol * |b| elementwise; reports the first failure.
inline bool close(const float* a, const float* b, std::size_t n, double atol = 1e-4,
                  double rtol = 1e-4) {
  for (std::size_t i = 0; i < n; ++i) {
    const double d = std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
    if (!(d <= atol + rtol * std::abs(static_cast<double>(b[i])))) {
      MESSAGE("mismatch at " << i << ": " << a[i] << " vs " << b[i]);
      return false;
    }
  }
  return true;
}

inline bool close(const std::vector<float>& a, const std::vector<float>& b, double atol = 1e-4,
                  double rtol = 1e-4) {
  REQUIRE(a.size() == b.size());
  return close(a.data(), b.data(), a.size(), atol, rtol);
}

}  // namespace kt

namespace kt {

/// Central finite difference of loss() in the entry v (restored afterwards).
template <class Loss>
double fd(Loss&& loss, float& v, float h = 1e-3f) {
  const float old = v;
  v = old + h;
  const double lp = loss();
  v = old - h;
  const double lm = loss();
  v = old;
  return (lp - lm) / (2.0 * static_cast<double>(h));
}

/// Checks every entry of `grad` against finite differences of loss() w.r.t. `param`.
template <class Loss>
void check_fd(Loss&& loss, std::vector<float>& param, const std::vector<float>& grad,
              double eps = 1e-2, double scale = 1e-2, float h = 1e-3f) {
  REQUIRE(param.size() == grad.size());
  for (std::size_t i = 0; i < param.size(); ++i) {
    CAPTURE(i);
    CHECK(static_cast<double>(grad[i]) ==
          doctest::Approx(fd(loss, param[i], h)).epsilon(eps).scale(scale));
  }
}

/// sum_i r_i * y_i in double: a loss whose gradient w.r.t. y is r.
inline double weighted_sum(const std::vector<float>& r, const std::vector<float>& y) {
  double s = 0;
  for (std::size_t i = 0; i < y.size(); ++i) s += static_cast<double>(r[i]) * y[i];
  return s;
}

}  // namespace kt
