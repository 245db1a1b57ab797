#pragma once
// Small Arch-templated vector loops shared by the memory-bound kernels (embedding, elementwise,
// interaction). Templated on Arch so every ISA translation unit gets its own copy (no ODR
// sharing between code built with different flags).

#include <cstddef>

#include <xsimd/xsimd.hpp>

// GCC 12 reports false "(may be) used uninitialized" inside its own AVX-512 intrinsics
// (_mm512_undefined_ps pass-through operands) once they are inlined into kernels.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace recnas::kernels::detail {

using vidx = std::ptrdiff_t;

/// d[0:n] = s[0:n]
template <class Arch>
inline void vcopy(float* d, const float* s, vidx n) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr vidx L = static_cast<vidx>(batch::size);
  vidx i = 0;
  for (; i + L <= n; i += L) batch::load_unaligned(s + i).store_unaligned(d + i);
  for (; i < n; ++i) d[i] = s[i];
}

/// d[0:n] += a * s[0:n]
template <class Arch>
inline void vaxpy(float* d, float a, const float* s, vidx n) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr vidx L = static_cast<vidx>(batch::size);
  const batch av(a);
  vidx i = 0;
  for (; i + L <= n; i += L) {
    xsimd::fma(av, batch::load_unaligned(s + i), batch::load_unaligned(d + i))
        .store_unaligned(d + i);
  }
  for (; i < n; ++i) d[i] += a * s[i];
}

/// d[0:n] *= a
template <class Arch>
inline void vscale(float* d, float a, vidx n) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr vidx L = static_cast<vidx>(batch::size);
  const batch av(a);
  vidx i = 0;
  for (; i + L <= n; i += L) (batch::load_unaligned(d + i) * av).store_unaligned(d + i);
  for (; i < n; ++i) d[i] *= a;
}

/// d[0:n] = 0
template <class Arch>
inline void vzero(float* d, vidx n) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr vidx L = static_cast<vidx>(batch::size);
  vidx i = 0;
  for (; i + L <= n; i += L) batch(0.0f).store_unaligned(d + i);
  for (; i < n; ++i) d[i] = 0.0f;
}

/// sum of x[0:n] * y[0:n] (vector partial sums, then a horizontal add)
template <class Arch>
inline float vdot(const float* x, const float* y, vidx n) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr vidx L = static_cast<vidx>(batch::size);
  batch acc(0.0f);
  vidx i = 0;
  for (; i + L <= n; i += L)
    acc = xsimd::fma(batch::load_unaligned(x + i), batch::load_unaligned(y + i), acc);
  float s = xsimd::hadd(acc);
  for (; i < n; ++i) s += x[i] * y[i];
  return s;
}

/// sum of x[0:n]
template <class Arch>
inline float vsum(const float* x, vidx n) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr vidx L = static_cast<vidx>(batch::size);
  batch acc(0.0f);
  vidx i = 0;
  for (; i + L <= n; i += L) acc += batch::load_unaligned(x + i);
  float s = xsimd::hadd(acc);
  for (; i < n; ++i) s += x[i];
  return s;
}

}  // namespace recnas::kernels::detail

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
