#pragma once
// Kernels of the training step around the model: the global gradient norm, gradient scaling
// (clipping) and the fused Adagrad update. They touch every dense parameter and every embedding
// row a batch used, once or twice per step; as scalar loops (sqrt and division per element, a
// double-precision reduction the compiler may not vectorize) they took a quarter of a DLRM step.
//
//   sum_squares:     sum_i x[i]^2, partial sums of 256 values in float, the rest in double
//   scale:           x[0:n] *= c
//   adagrad_update:  g' = g + wd w; s += g'^2; w -= lr g' / (sqrt(s) + eps)
//
// Every element goes through the same vector code (a partial last vector is computed in a
// padded copy), so the result of an element does not depend on where a span starts or ends:
// the row-sparse update of an embedding row equals the dense update of the whole table.

#include <algorithm>
#include <cmath>
#include <cstddef>

#include <xsimd/xsimd.hpp>

#include "recnas/core/tensor.hpp"
#include "recnas/simd/dispatch.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace recnas::kernels {

namespace detail {

template <class Arch>
double sum_squares_impl(const float* x, index n) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr index L = static_cast<index>(batch::size);
  constexpr index block = 256;  // floats per float-precision partial sum
  double total = 0.0;
  index i = 0;
  for (; i + block <= n; i += block) {
    batch a0(0.0f), a1(0.0f), a2(0.0f), a3(0.0f);
    for (index k = i; k < i + block; k += 4 * L) {
      const batch v0 = batch::load_unaligned(x + k), v1 = batch::load_unaligned(x + k + L);
      const batch v2 = batch::load_unaligned(x + k + 2 * L),
                  v3 = batch::load_unaligned(x + k + 3 * L);
      a0 = xsimd::fma(v0, v0, a0);
      a1 = xsimd::fma(v1, v1, a1);
      a2 = xsimd::fma(v2, v2, a2);
      a3 = xsimd::fma(v3, v3, a3);
    }
    total += static_cast<double>(xsimd::hadd((a0 + a1) + (a2 + a3)));
  }
  batch acc(0.0f);
  for (; i + L <= n; i += L) {
    const batch v = batch::load_unaligned(x + i);
    acc = xsimd::fma(v, v, acc);
  }
  if (i < n) {
    alignas(64) float t[L] = {};
    std::copy(x + i, x + n, t);
    const batch v = batch::load_aligned(t);
    acc = xsimd::fma(v, v, acc);
  }
  return total + static_cast<double>(xsimd::hadd(acc));
}

template <class Arch>
void scale_impl(float* x, index n, float c) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr index L = static_cast<index>(batch::size);
  const batch cv(c);
  index i = 0;
  for (; i + L <= n; i += L) (batch::load_unaligned(x + i) * cv).store_unaligned(x + i);
  for (; i < n; ++i) x[i] *= c;  // one multiply: the same rounding as the vector lanes
}

template <class Arch>
inline void adagrad_vec(float* w, const float* g, float* s, xsimd::batch<float, Arch> lr,
                        xsimd::batch<float, Arch> eps, xsimd::batch<float, Arch> wd) noexcept {
  using batch = xsimd::batch<float, Arch>;
  const batch wv = batch::load_unaligned(w);
  const batch gi = xsimd::fma(wd, wv, batch::load_unaligned(g));
  const batch sv = xsimd::fma(gi, gi, batch::load_unaligned(s));
  sv.store_unaligned(s);
  (wv - lr * gi / (xsimd::sqrt(sv) + eps)).store_unaligned(w);
}

template <class Arch>
void adagrad_impl(float* w, const float* g, float* s, index n, float lr, float eps,
                  float wd) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr index L = static_cast<index>(batch::size);
  const batch lv(lr), ev(eps), dv(wd);
  index i = 0;
  for (; i + L <= n; i += L) adagrad_vec<Arch>(w + i, g + i, s + i, lv, ev, dv);
  if (i < n) {
    alignas(64) float tw[L] = {}, tg[L] = {}, ts[L] = {};
    const index r = n - i;
    std::copy(w + i, w + n, tw);
    std::copy(g + i, g + n, tg);
    std::copy(s + i, s + n, ts);
    adagrad_vec<Arch>(tw, tg, ts, lv, ev, dv);
    std::copy(tw, tw + r, w + i);
    std::copy(ts, ts + r, s + i);
  }
}

}  // namespace detail

struct optim_table {
  double (*sum_squares)(const float*, index) noexcept = nullptr;
  void (*scale)(float*, index, float) noexcept = nullptr;
  void (*adagrad)(float*, const float*, float*, index, float, float, float) noexcept = nullptr;

  template <class Arch>
  static optim_table make() {
    return {&detail::sum_squares_impl<Arch>, &detail::scale_impl<Arch>,
            &detail::adagrad_impl<Arch>};
  }
};

#ifndef RECNAS_ISA_TRANSLATION_UNIT

namespace detail {
inline const optim_table& optim() { return simd::dispatcher<optim_table>::get(); }
}  // namespace detail

/// sum_i x[i]^2 (partial sums of 256 values in float, accumulated in double).
[[nodiscard]] inline double sum_squares(const float* x, index n) noexcept {
  return n > 0 ? detail::optim().sum_squares(x, n) : 0.0;
}
/// x[0:n] *= c
inline void scale(float* x, index n, float c) noexcept {
  if (n > 0) detail::optim().scale(x, n, c);
}
/// Adagrad (torch.optim.Adagrad, L2 weight decay added to the gradient) on n parameters with
/// accumulators s.
inline void adagrad_update(float* w, const float* g, float* s, index n, float lr, float eps,
                           float wd) noexcept {
  if (n > 0) detail::optim().adagrad(w, g, s, n, lr, eps, wd);
}

/// Double-precision scalar references (tests, benchmarks).
namespace reference {
[[nodiscard]] inline double sum_squares(const float* x, index n) noexcept {
  double s = 0.0;
  for (index i = 0; i < n; ++i) s += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  return s;
}
inline void adagrad_update(float* w, const float* g, float* s, index n, double lr, double eps,
                           double wd) noexcept {
  for (index i = 0; i < n; ++i) {
    const double gi = static_cast<double>(g[i]) + wd * static_cast<double>(w[i]);
    const double si = static_cast<double>(s[i]) + gi * gi;
    s[i] = static_cast<float>(si);
    w[i] = static_cast<float>(static_cast<double>(w[i]) - lr * gi / (std::sqrt(si) + eps));
  }
}
}  // namespace reference

#endif  // RECNAS_ISA_TRANSLATION_UNIT

}  // namespace recnas::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
