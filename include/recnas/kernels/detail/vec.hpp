#pragma once
// Small Arch-templated vector loops shared by the memory-bound kernels (embedding, elementwise,
// interaction). Templated on Arch so every ISA translation unit gets its own copy (no ODR
// sharing between code built with different flags).

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#if defined(__x86_64__)
#include <immintrin.h>  // declared for every ISA; only the AVX-512 translation unit calls it
#endif

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

/// exp(x) for x <= 0 (softmax arguments after subtracting the max), about 2 ulp: Cody-Waite
/// reduction to |r| <= ln2/2, Cephes' degree-6 polynomial, 2^n built in the exponent bits.
/// Exactly 1 at x = 0 and 0 below -87 (and at -inf); no NaN/overflow handling (x > 0 is not
/// supported). About half the instructions of xsimd::exp, which handles the full range.
template <class Arch>
inline xsimd::batch<float, Arch> exp_nonpos(xsimd::batch<float, Arch> x) noexcept {
  using batch = xsimd::batch<float, Arch>;
  using ibatch = xsimd::batch<std::int32_t, Arch>;
  const auto underflow = x < batch(-87.0f);
  x = xsimd::max(x, batch(-87.0f));
  const batch n = xsimd::nearbyint(x * batch(1.44269504088896341f));
  batch r = xsimd::fnma(n, batch(0.693359375f), x);
  r = xsimd::fnma(n, batch(-2.12194440e-4f), r);
  batch p(1.9875691500e-4f);
  p = xsimd::fma(p, r, batch(1.3981999507e-3f));
  p = xsimd::fma(p, r, batch(8.3334519073e-3f));
  p = xsimd::fma(p, r, batch(4.1665795894e-2f));
  p = xsimd::fma(p, r, batch(1.6666665459e-1f));
  p = xsimd::fma(p, r, batch(5.0000001201e-1f));
  p = xsimd::fma(p * r, r, r + batch(1.0f));
#if defined(__x86_64__)
  if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
    // p * 2^n in one instruction (exact, as the product below: n >= -126 after the clamp);
    // the exp is what bounds the attention core, which runs on the two 512-bit ports.
    return xsimd::select(underflow, batch(0.0f), batch(_mm512_scalef_ps(p, n)));
  }
#endif
  const ibatch e = (xsimd::to_int(n) + ibatch(127)) << 23;
  return xsimd::select(underflow, batch(0.0f), p * xsimd::bitwise_cast<batch>(e));
}

/// out[0:L] = horizontal sums of rows[0:L] in order (L = lanes). xsimd 8's AVX-512 haddp
/// returns lanes 2,3 <-> 4,5 and 10,11 <-> 12,13 swapped (its shuffle order); feeding the rows
/// through the same involution cancels it (the attention and interaction tests check exact
/// sums on every ISA, so another xsimd version's order would be caught).
template <class Arch>
inline xsimd::batch<float, Arch> haddp_ordered(const xsimd::batch<float, Arch>* rows) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr std::size_t L = batch::size;
  if constexpr (L == 16 && XSIMD_VERSION_MAJOR == 8) {
    constexpr std::size_t perm[16] = {0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15};
    batch grp[16];
    for (std::size_t i = 0; i < 16; ++i) grp[i] = rows[perm[i]];
    return xsimd::haddp(grp);
  } else {
    return xsimd::haddp(rows);
  }
}

}  // namespace recnas::kernels::detail

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
