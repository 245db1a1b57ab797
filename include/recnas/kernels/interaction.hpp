#pragma once
// Feature interactions over token tensors [B, n, E].
//
//   dot_interaction:  Z_b = T_b . T_b^T (n x n), out[b, :] = strict lower triangle of Z_b in
//                     row order: (1,0), (2,0), (2,1), (3,0), ... -> n(n-1)/2 features
//                     (for k sparse tokens stacked with the dense token, n = k + 1).
//   dot_interaction_backward: dT[b, i, :] (+)= sum_{j != i} dZ_sym[i, j] T[b, j, :]
//   fm:               out[b, e] = (sum_t x[b, t, e])^2 - sum_t x[b, t, e]^2
//   fm_backward:      dx[b, t, e] (+)= dout[b, e] * 2 * (sum_t' x[b, t', e] - x[b, t, e])

#include <span>

#include <xsimd/xsimd.hpp>

#include "recnas/core/error.hpp"
#include "recnas/core/tensor.hpp"
#include "recnas/kernels/detail/vec.hpp"
#include "recnas/parallel/threads.hpp"
#include "recnas/simd/dispatch.hpp"

// GCC 12 reports false "(may be) used uninitialized" inside its own AVX-512 intrinsics
// (_mm512_undefined_ps pass-through operands) once they are inlined into kernels.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace recnas::kernels {

/// Features dot_interaction emits for n tokens.
[[nodiscard]] constexpr index dot_interaction_size(index n) noexcept { return n * (n - 1) / 2; }

namespace detail {

template <class Arch>
void dot_range(const float* t, index bs, index ts, index n, index e, float* out, index ldo,
               index b0, index b1) noexcept {
  for (index b = b0; b < b1; ++b) {
    const float* tb = t + b * bs;
    float* o = out + b * ldo;
    for (index i = 1; i < n; ++i) {
      for (index j = 0; j < i; ++j) *o++ = vdot<Arch>(tb + i * ts, tb + j * ts, e);
    }
  }
}

template <class Arch>
void dot_backward_range(const float* t, index bs, index ts, index n, index e, const float* dz,
                        index lddz, float* dt, index dbs, index dts, bool accumulate, index b0,
                        index b1) noexcept {
  for (index b = b0; b < b1; ++b) {
    const float* tb = t + b * bs;
    float* db = dt + b * dbs;
    if (!accumulate) {
      for (index i = 0; i < n; ++i) vzero<Arch>(db + i * dts, e);
    }
    const float* g = dz + b * lddz;
    for (index i = 1; i < n; ++i) {
      for (index j = 0; j < i; ++j) {
        const float gij = *g++;
        vaxpy<Arch>(db + i * dts, gij, tb + j * ts, e);
        vaxpy<Arch>(db + j * dts, gij, tb + i * ts, e);
      }
    }
  }
}

template <class Arch>
void fm_range(const float* x, index bs, index ts, index n, index e, float* out, index ldo, index b0,
              index b1) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr index L = static_cast<index>(batch::size);
  for (index b = b0; b < b1; ++b) {
    const float* xb = x + b * bs;
    float* o = out + b * ldo;
    index c = 0;
    for (; c + L <= e; c += L) {
      batch s(0.0f), q(0.0f);
      for (index t = 0; t < n; ++t) {
        const batch v = batch::load_unaligned(xb + t * ts + c);
        s += v;
        q = xsimd::fma(v, v, q);
      }
      xsimd::fms(s, s, q).store_unaligned(o + c);
    }
    for (; c < e; ++c) {
      float s = 0, q = 0;
      for (index t = 0; t < n; ++t) {
        const float v = xb[t * ts + c];
        s += v;
        q += v * v;
      }
      o[c] = s * s - q;
    }
  }
}

template <class Arch>
void fm_backward_range(const float* x, index bs, index ts, index n, index e, const float* dout,
                       index ldo, float* dx, index dbs, index dts, bool accumulate, index b0,
                       index b1) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr index L = static_cast<index>(batch::size);
  for (index b = b0; b < b1; ++b) {
    const float* xb = x + b * bs;
    float* db = dx + b * dbs;
    const float* g = dout + b * ldo;
    index c = 0;
    for (; c + L <= e; c += L) {
      batch s(0.0f);
      for (index t = 0; t < n; ++t) s += batch::load_unaligned(xb + t * ts + c);
      const batch g2 = batch::load_unaligned(g + c) * batch(2.0f);
      for (index t = 0; t < n; ++t) {
        batch d = g2 * (s - batch::load_unaligned(xb + t * ts + c));
        if (accumulate) d += batch::load_unaligned(db + t * dts + c);
        d.store_unaligned(db + t * dts + c);
      }
    }
    for (; c < e; ++c) {
      float s = 0;
      for (index t = 0; t < n; ++t) s += xb[t * ts + c];
      for (index t = 0; t < n; ++t) {
        const float d = 2.0f * g[c] * (s - xb[t * ts + c]);
        db[t * dts + c] = accumulate ? db[t * dts + c] + d : d;
      }
    }
  }
}

}  // namespace detail

struct interaction_table {
  void (*dot)(const float*, index, index, index, index, float*, index, index,
              index) noexcept = nullptr;
  void (*dot_backward)(const float*, index, index, index, index, const float*, index, float*, index,
                       index, bool, index, index) noexcept = nullptr;
  void (*fm)(const float*, index, index, index, index, float*, index, index,
             index) noexcept = nullptr;
  void (*fm_backward)(const float*, index, index, index, index, const float*, index, float*, index,
                      index, bool, index, index) noexcept = nullptr;

  template <class Arch>
  static interaction_table make() {
    return {&detail::dot_range<Arch>, &detail::dot_backward_range<Arch>, &detail::fm_range<Arch>,
            &detail::fm_backward_range<Arch>};
  }
};

/// out[b, 0:n(n-1)/2] = strict lower triangle of T_b T_b^T (row stride ldo).
inline void dot_interaction(token_view<const float> t, float* out, index ldo) {
  const index n = t.tokens(), e = t.width();
  expects(ldo >= dot_interaction_size(n), "dot_interaction: ldo >= n(n-1)/2");
  const auto& k = simd::dispatcher<interaction_table>::get();
  parallel::parallel_rows(
      t.batch(), static_cast<double>(t.batch() * n * n * e), [&](index b0, index b1) {
        k.dot(t.data(), t.batch_stride(), t.token_stride(), n, e, out, ldo, b0, b1);
      });
}

/// dT (+)= gradient of dot_interaction given dout (same layout as its output).
inline void dot_interaction_backward(token_view<const float> t, const float* dout, index ldo,
                                     token_view<float> dt, bool accumulate) {
  const index n = t.tokens(), e = t.width();
  expects(dt.batch() == t.batch() && dt.tokens() == n && dt.width() == e,
          "dot_interaction_backward: dt shaped like t");
  const auto& k = simd::dispatcher<interaction_table>::get();
  parallel::parallel_rows(
      t.batch(), static_cast<double>(2 * t.batch() * n * n * e), [&](index b0, index b1) {
        k.dot_backward(t.data(), t.batch_stride(), t.token_stride(), n, e, dout, ldo, dt.data(),
                       dt.batch_stride(), dt.token_stride(), accumulate, b0, b1);
      });
}

/// out[b, 0:E] = (sum_t x)^2 - sum_t x^2 per channel (row stride ldo).
inline void fm(token_view<const float> x, float* out, index ldo) {
  expects(ldo >= x.width(), "fm: ldo >= e");
  const auto& k = simd::dispatcher<interaction_table>::get();
  parallel::parallel_rows(x.batch(), static_cast<double>(3 * x.batch() * x.tokens() * x.width()),
                          [&](index b0, index b1) {
                            k.fm(x.data(), x.batch_stride(), x.token_stride(), x.tokens(),
                                 x.width(), out, ldo, b0, b1);
                          });
}

/// dx (+)= gradient of fm given dout[b, 0:E].
inline void fm_backward(token_view<const float> x, const float* dout, index ldo,
                        token_view<float> dx, bool accumulate) {
  expects(dx.batch() == x.batch() && dx.tokens() == x.tokens() && dx.width() == x.width(),
          "fm_backward: dx shaped like x");
  const auto& k = simd::dispatcher<interaction_table>::get();
  parallel::parallel_rows(x.batch(), static_cast<double>(4 * x.batch() * x.tokens() * x.width()),
                          [&](index b0, index b1) {
                            k.fm_backward(x.data(), x.batch_stride(), x.token_stride(), x.tokens(),
                                          x.width(), dout, ldo, dx.data(), dx.batch_stride(),
                                          dx.token_stride(), accumulate, b0, b1);
                          });
}

// ---------------------------------------------------------------- references (double sums)

inline void dot_interaction_ref(token_view<const float> t, float* out, index ldo) {
  for (index b = 0; b < t.batch(); ++b) {
    index o = 0;
    for (index i = 1; i < t.tokens(); ++i)
      for (index j = 0; j < i; ++j) {
        double s = 0;
        for (index c = 0; c < t.width(); ++c) s += static_cast<double>(t(b, i, c)) * t(b, j, c);
        out[b * ldo + o++] = static_cast<float>(s);
      }
  }
}

inline void fm_ref(token_view<const float> x, float* out, index ldo) {
  for (index b = 0; b < x.batch(); ++b)
    for (index c = 0; c < x.width(); ++c) {
      double s = 0, q = 0;
      for (index t = 0; t < x.tokens(); ++t) {
        s += x(b, t, c);
        q += static_cast<double>(x(b, t, c)) * x(b, t, c);
      }
      out[b * ldo + c] = static_cast<float>(s * s - q);
    }
}

}  // namespace recnas::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
