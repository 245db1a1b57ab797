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
#if defined(__x86_64__)
#include <immintrin.h>  // masked stores, instantiated only in the AVX-512 unit
#endif

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

/// Forward fallback (E * n too large for the stack transpose): the pair products T_i * T_j (one
/// register per pair, FMAs over the E chunks) are reduced L pairs at a time by one transposing
/// horizontal add (haddp_ordered), in output order, instead of one horizontal add per pair.
template <class Arch>
void dot_range_hadd(const float* t, index bs, index ts, index n, index e, float* out, index ldo,
                    index b0, index b1) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr index L = static_cast<index>(batch::size);
  const index full = e / L * L;
  alignas(64) float ti[L], tj[L];
  for (index l = 0; l < L; ++l) ti[l] = tj[l] = 0.0f;
  const auto pair = [&](const float* a, const float* b2) {
    batch acc(0.0f);
    for (index c = 0; c < full; c += L)
      acc = xsimd::fma(batch::load_unaligned(a + c), batch::load_unaligned(b2 + c), acc);
    if (full < e) {  // channel tail through zero-padded registers
      for (index c = full; c < e; ++c) {
        ti[c - full] = a[c];
        tj[c - full] = b2[c];
      }
      acc = xsimd::fma(batch::load_aligned(ti), batch::load_aligned(tj), acc);
    }
    return acc;
  };
  for (index b = b0; b < b1; ++b) {
    const float* tb = t + b * bs;
    float* o = out + b * ldo;
    batch grp[L];
    index k = 0;
    for (index i = 1; i < n; ++i) {
      for (index j = 0; j < i; ++j) {
        grp[k++] = pair(tb + i * ts, tb + j * ts);
        if (k == L) {
          haddp_ordered<Arch>(grp).store_unaligned(o);
          o += L;
          k = 0;
        }
      }
    }
    for (index r = 0; r < k; ++r) o[r] = xsimd::hadd(grp[r]);
  }
}

/// Stores lanes [0, cnt) of v at p (AVX-512: one masked store; else through a buffer).
template <class Arch>
void store_first(xsimd::batch<float, Arch> v, float* p, index cnt) noexcept {
  constexpr index L = static_cast<index>(xsimd::batch<float, Arch>::size);
#if defined(__x86_64__)
  if constexpr (L == 16) {
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << cnt) - 1u), v);
    return;
  }
#endif
  alignas(64) float tmp[L];
  v.store_aligned(tmp);
  for (index l = 0; l < cnt; ++l) p[l] = tmp[l];
}

/// Forward as small GEMMs: per example T_b^T is transposed once into a stack buffer
/// ([E][n rounded up to L], keys along the lanes); row i of the triangle is then
/// sum_c T[i, c] * T^T[c, j0:j0+L] (broadcast FMAs, no horizontal adds), four rows at a time
/// for independent accumulator chains. Row i's outputs j < i are contiguous in `out`.
template <class Arch>
void dot_range(const float* t, index bs, index ts, index n, index e, float* out, index ldo,
               index b0, index b1) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr index L = static_cast<index>(batch::size);
  constexpr index cap = 4096;  // floats of the transpose buffer (16 KiB of stack)
  const index np = (n + L - 1) / L * L;
  if (e * np > cap) {
    dot_range_hadd<Arch>(t, bs, ts, n, e, out, ldo, b0, b1);
    return;
  }
  alignas(64) float tt[cap];
  for (index i = 0; i < e * np; ++i) tt[i] = 0.0f;  // padded keys stay 0
  constexpr index R = 4;
  for (index b = b0; b < b1; ++b) {
    const float* tb = t + b * bs;
    float* o = out + b * ldo;
    for (index j = 0; j < n; ++j)
      for (index c = 0; c < e; ++c) tt[c * np + j] = tb[j * ts + c];
    for (index i0 = 1; i0 < n; i0 += R) {
      const index rn = n - i0 < R ? n - i0 : R;
      const float* ti = tb + i0 * ts;
      for (index j0 = 0; j0 < i0 + rn - 1; j0 += L) {
        batch acc[R];
        for (index r = 0; r < R; ++r) acc[r] = batch(0.0f);
        for (index c = 0; c < e; ++c) {
          const batch v = batch::load_aligned(tt + c * np + j0);
          for (index r = 0; r < R; ++r)  // rows past n read row i0 (results unused)
            acc[r] = xsimd::fma(batch(ti[(r < rn ? r : 0) * ts + c]), v, acc[r]);
        }
        for (index r = 0; r < rn; ++r) {
          const index i = i0 + r;
          if (j0 >= i) continue;
          float* dst = o + i * (i - 1) / 2 + j0;
          if (i - j0 >= L)
            acc[r].store_unaligned(dst);
          else
            store_first<Arch>(acc[r], dst, i - j0);
        }
      }
    }
  }
}

/// Backward: dT_i = sum_{j != i} G_ij T_j with G the symmetric pair gradient; each output row
/// is accumulated in registers (no read-modify-write per pair), E chunks of L lanes.
template <class Arch>
void dot_backward_range(const float* t, index bs, index ts, index n, index e, const float* dz,
                        index lddz, float* dt, index dbs, index dts, bool accumulate, index b0,
                        index b1) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr index L = static_cast<index>(batch::size);
  const index full = e / L * L;
  for (index b = b0; b < b1; ++b) {
    const float* tb = t + b * bs;
    float* db = dt + b * dbs;
    const float* g = dz + b * lddz;  // pair (i, j), j < i, at i (i - 1) / 2 + j
    for (index i = 0; i < n; ++i) {
      const float* gi = g + i * (i - 1) / 2;
      for (index c = 0; c < full; c += L) {
        batch acc = accumulate ? batch::load_unaligned(db + i * dts + c) : batch(0.0f);
        for (index j = 0; j < i; ++j)
          acc = xsimd::fma(batch(gi[j]), batch::load_unaligned(tb + j * ts + c), acc);
        for (index j = i + 1; j < n; ++j)
          acc = xsimd::fma(batch(g[j * (j - 1) / 2 + i]), batch::load_unaligned(tb + j * ts + c),
                           acc);
        acc.store_unaligned(db + i * dts + c);
      }
      for (index c = full; c < e; ++c) {
        float acc = accumulate ? db[i * dts + c] : 0.0f;
        for (index j = 0; j < i; ++j) acc += gi[j] * tb[j * ts + c];
        for (index j = i + 1; j < n; ++j) acc += g[j * (j - 1) / 2 + i] * tb[j * ts + c];
        db[i * dts + c] = acc;
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

// Entry points (they dispatch) and references: never compiled in the ISA translation units,
// where an inline copy built with wider-ISA flags could be the one the linker keeps.
#ifndef RECNAS_ISA_TRANSLATION_UNIT

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

#endif  // RECNAS_ISA_TRANSLATION_UNIT
}  // namespace recnas::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
