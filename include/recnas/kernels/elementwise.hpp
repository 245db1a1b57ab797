#pragma once
// Row-wise and elementwise kernels on [rows, cols] matrices (each with its own leading
// dimension), forward and backward. Every `dx`-style output has an `accumulate` flag: false
// overwrites, true adds (so a tensor consumed by several operators sums its gradients).
//
//   activation_forward:  y = act(x)                    (activation_backward is in gemm.hpp)
//   add:                 y = a + b                     backward: identity (use axpy)
//   axpy:                y += alpha * x
//   mul:                 y = a * b                     backward: da = dy * b, db = dy * a
//   sigmoid_gate:        y = x * sigmoid(g)            backward: dx = dy * s, dg = dy * x * s(1-s)
//   layer_norm:          y = (x - mean) * rstd * gamma + beta over the first `width` columns,
//                        rstd = 1 / sqrt(var + eps) (biased var); mean/rstd saved per row
//   softmax:             y = exp(x - max) / sum        backward: dx = y * (dy - sum(dy * y))
//   row_sum:             y[r] = sum_c x[r, c]          backward: dx[r, c] = dy[r]
//   token_sum:           y[b, :] = sum_t x[b, t, :]    backward: dx[b, t, :] = dy[b, :]

#include <algorithm>
#include <cmath>
#include <utility>

#include <xsimd/xsimd.hpp>

#include "recnas/core/error.hpp"
#include "recnas/core/tensor.hpp"
#include "recnas/kernels/detail/gemm_core.hpp"
#include "recnas/kernels/detail/vec.hpp"
#include "recnas/kernels/gemm.hpp"
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

/// Binary elementwise operations of elementwise_table::binary.
enum class binary_op : int { add = 0, mul = 1, sigmoid_gate = 2 };

namespace detail {

template <class Arch>
inline xsimd::batch<float, Arch> vsigmoid(xsimd::batch<float, Arch> x) noexcept {
  using batch = xsimd::batch<float, Arch>;
  return batch(1.0f) / (batch(1.0f) + xsimd::exp(-x));
}

template <class Arch>
void act_forward_rows(activation act, index rows, index cols, const float* x, index ldx, float* y,
                      index ldy) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr index L = static_cast<index>(batch::size);
  for (index r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    float* yr = y + r * ldy;
    index c = 0;
    for (; c + L <= cols; c += L)
      apply_activation<Arch>(batch::load_unaligned(xr + c), act).store_unaligned(yr + c);
    for (; c < cols; ++c) {
      const float v = xr[c];
      yr[c] = act == activation::relu      ? (v > 0.0f ? v : 0.0f)
              : act == activation::sigmoid ? 1.0f / (1.0f + std::exp(-v))
                                           : v;
    }
  }
}

template <class Arch>
void binary_rows(binary_op op, index rows, index cols, const float* a, index lda, const float* b,
                 index ldb, float* y, index ldy) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr index L = static_cast<index>(batch::size);
  for (index r = 0; r < rows; ++r) {
    const float* ar = a + r * lda;
    const float* br = b + r * ldb;
    float* yr = y + r * ldy;
    index c = 0;
    for (; c + L <= cols; c += L) {
      const batch av = batch::load_unaligned(ar + c), bv = batch::load_unaligned(br + c);
      batch out = op == binary_op::add   ? av + bv
                  : op == binary_op::mul ? av * bv
                                         : av * vsigmoid<Arch>(bv);
      out.store_unaligned(yr + c);
    }
    for (; c < cols; ++c) {
      yr[c] = op == binary_op::add   ? ar[c] + br[c]
              : op == binary_op::mul ? ar[c] * br[c]
                                     : ar[c] / (1.0f + std::exp(-br[c]));
    }
  }
}

/// Backward of mul / sigmoid_gate: da (+)= dy * d(out)/da, db (+)= dy * d(out)/db (either may be
/// null).
template <class Arch>
void binary_backward_rows(binary_op op, index rows, index cols, const float* a, index lda,
                          const float* b, index ldb, const float* dy, index lddy, float* da,
                          index ldda, float* db, index lddb, bool accumulate) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr index L = static_cast<index>(batch::size);
  for (index r = 0; r < rows; ++r) {
    const float* ar = a + r * lda;
    const float* br = b + r * ldb;
    const float* gr = dy + r * lddy;
    float* dar = da != nullptr ? da + r * ldda : nullptr;
    float* dbr = db != nullptr ? db + r * lddb : nullptr;
    index c = 0;
    for (; c + L <= cols; c += L) {
      const batch av = batch::load_unaligned(ar + c), bv = batch::load_unaligned(br + c);
      const batch g = batch::load_unaligned(gr + c);
      batch ga, gb;
      if (op == binary_op::mul) {
        ga = g * bv;
        gb = g * av;
      } else {
        const batch s = vsigmoid<Arch>(bv);
        ga = g * s;
        gb = g * av * s * (batch(1.0f) - s);
      }
      if (dar != nullptr) {
        if (accumulate) ga += batch::load_unaligned(dar + c);
        ga.store_unaligned(dar + c);
      }
      if (dbr != nullptr) {
        if (accumulate) gb += batch::load_unaligned(dbr + c);
        gb.store_unaligned(dbr + c);
      }
    }
    for (; c < cols; ++c) {
      float ga, gb;
      if (op == binary_op::mul) {
        ga = gr[c] * br[c];
        gb = gr[c] * ar[c];
      } else {
        const float s = 1.0f / (1.0f + std::exp(-br[c]));
        ga = gr[c] * s;
        gb = gr[c] * ar[c] * s * (1.0f - s);
      }
      if (dar != nullptr) dar[c] = accumulate ? dar[c] + ga : ga;
      if (dbr != nullptr) dbr[c] = accumulate ? dbr[c] + gb : gb;
    }
  }
}

template <class Arch>
void axpy_rows(index rows, index cols, float alpha, const float* x, index ldx, float* y,
               index ldy) noexcept {
  for (index r = 0; r < rows; ++r) vaxpy<Arch>(y + r * ldy, alpha, x + r * ldx, cols);
}

template <class Arch>
void layer_norm_rows(index rows, index width, const float* x, index ldx, const float* gamma,
                     const float* beta, float eps, float* y, index ldy, float* mean,
                     float* rstd) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr index L = static_cast<index>(batch::size);
  for (index r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    float* yr = y + r * ldy;
    const float mu = vsum<Arch>(xr, width) / static_cast<float>(width);
    // Two-pass variance: stable for rows with a large mean.
    batch acc(0.0f);
    index c = 0;
    for (; c + L <= width; c += L) {
      const batch d = batch::load_unaligned(xr + c) - batch(mu);
      acc = xsimd::fma(d, d, acc);
    }
    float var = xsimd::hadd(acc);
    for (; c < width; ++c) var += (xr[c] - mu) * (xr[c] - mu);
    var /= static_cast<float>(width);
    const float rs = 1.0f / std::sqrt(var + eps);
    c = 0;
    for (; c + L <= width; c += L) {
      const batch n = (batch::load_unaligned(xr + c) - batch(mu)) * batch(rs);
      xsimd::fma(n, batch::load_unaligned(gamma + c), batch::load_unaligned(beta + c))
          .store_unaligned(yr + c);
    }
    for (; c < width; ++c) yr[c] = (xr[c] - mu) * rs * gamma[c] + beta[c];
    if (mean != nullptr) mean[r] = mu;
    if (rstd != nullptr) rstd[r] = rs;
  }
}

/// dx rows of layer norm: dx = rstd * (g - mean(g) - n * mean(g * n)), g = dy * gamma.
template <class Arch>
void layer_norm_backward_rows(index rows, index width, const float* x, index ldx, const float* dy,
                              index lddy, const float* gamma, const float* mean, const float* rstd,
                              float* dx, index lddx, bool accumulate) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr index L = static_cast<index>(batch::size);
  const float inv_w = 1.0f / static_cast<float>(width);
  for (index r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    const float* gr = dy + r * lddy;
    float* dr = dx + r * lddx;
    const float mu = mean[r], rs = rstd[r];
    batch sg(0.0f), sgn(0.0f);
    index c = 0;
    for (; c + L <= width; c += L) {
      const batch g = batch::load_unaligned(gr + c) * batch::load_unaligned(gamma + c);
      const batch n = (batch::load_unaligned(xr + c) - batch(mu)) * batch(rs);
      sg += g;
      sgn = xsimd::fma(g, n, sgn);
    }
    float s1 = xsimd::hadd(sg), s2 = xsimd::hadd(sgn);
    for (; c < width; ++c) {
      const float g = gr[c] * gamma[c];
      s1 += g;
      s2 += g * (xr[c] - mu) * rs;
    }
    const float m1 = s1 * inv_w, m2 = s2 * inv_w;
    c = 0;
    for (; c + L <= width; c += L) {
      const batch g = batch::load_unaligned(gr + c) * batch::load_unaligned(gamma + c);
      const batch n = (batch::load_unaligned(xr + c) - batch(mu)) * batch(rs);
      batch d = batch(rs) * (g - batch(m1) - n * batch(m2));
      if (accumulate) d += batch::load_unaligned(dr + c);
      d.store_unaligned(dr + c);
    }
    for (; c < width; ++c) {
      const float g = gr[c] * gamma[c];
      const float n = (xr[c] - mu) * rs;
      const float d = rs * (g - m1 - n * m2);
      dr[c] = accumulate ? dr[c] + d : d;
    }
  }
}

/// dgamma[c] += sum_r dy * n, dbeta[c] += sum_r dy over all rows (columns vectorised).
template <class Arch>
void layer_norm_param_grad(index rows, index width, const float* x, index ldx, const float* dy,
                           index lddy, const float* mean, const float* rstd, float* dgamma,
                           float* dbeta) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr index L = static_cast<index>(batch::size);
  index c = 0;
  for (; c + L <= width; c += L) {
    batch g(0.0f), b(0.0f);
    for (index r = 0; r < rows; ++r) {
      const batch d = batch::load_unaligned(dy + r * lddy + c);
      const batch n = (batch::load_unaligned(x + r * ldx + c) - batch(mean[r])) * batch(rstd[r]);
      g = xsimd::fma(d, n, g);
      b += d;
    }
    if (dgamma != nullptr) (batch::load_unaligned(dgamma + c) + g).store_unaligned(dgamma + c);
    if (dbeta != nullptr) (batch::load_unaligned(dbeta + c) + b).store_unaligned(dbeta + c);
  }
  for (; c < width; ++c) {
    float g = 0, b = 0;
    for (index r = 0; r < rows; ++r) {
      const float d = dy[r * lddy + c];
      g += d * (x[r * ldx + c] - mean[r]) * rstd[r];
      b += d;
    }
    if (dgamma != nullptr) dgamma[c] += g;
    if (dbeta != nullptr) dbeta[c] += b;
  }
}

template <class Arch>
void softmax_rows(index rows, index cols, const float* x, index ldx, float* y, index ldy) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr index L = static_cast<index>(batch::size);
  const index full = cols / L * L, rem = cols - full;
  alignas(64) float tail[L];
  for (index r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    float* yr = y + r * ldy;
    // The tail goes through a register padded with -inf (exp gives 0): no scalar exp.
    // Arguments are <= 0 after the max is subtracted: exp_nonpos (half of xsimd::exp).
    batch xt(-INFINITY);
    if (rem > 0) {
      for (index i = 0; i < L; ++i) tail[i] = i < rem ? xr[full + i] : -INFINITY;
      xt = batch::load_aligned(tail);
    }
    batch m = xt;
    for (index c = 0; c < full; c += L) m = xsimd::max(m, batch::load_unaligned(xr + c));
    m.store_aligned(tail);
    float mx = tail[0];
    for (index i = 1; i < L; ++i) mx = tail[i] > mx ? tail[i] : mx;
    batch s(0.0f);
    for (index c = 0; c < full; c += L) {
      const batch e = exp_nonpos<Arch>(batch::load_unaligned(xr + c) - batch(mx));
      e.store_unaligned(yr + c);
      s += e;
    }
    if (rem > 0) {
      const batch e = exp_nonpos<Arch>(xt - batch(mx));
      s += e;
      e.store_aligned(tail);
      for (index i = 0; i < rem; ++i) yr[full + i] = tail[i];
    }
    if (cols > 0) vscale<Arch>(yr, 1.0f / xsimd::hadd(s), cols);
  }
}

template <class Arch>
void softmax_backward_rows(index rows, index cols, const float* y, index ldy, const float* dy,
                           index lddy, float* dx, index lddx, bool accumulate) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr index L = static_cast<index>(batch::size);
  for (index r = 0; r < rows; ++r) {
    const float* yr = y + r * ldy;
    const float* gr = dy + r * lddy;
    float* dr = dx + r * lddx;
    const float dot = vdot<Arch>(yr, gr, cols);
    index c = 0;
    for (; c + L <= cols; c += L) {
      batch d = batch::load_unaligned(yr + c) * (batch::load_unaligned(gr + c) - batch(dot));
      if (accumulate) d += batch::load_unaligned(dr + c);
      d.store_unaligned(dr + c);
    }
    for (; c < cols; ++c) {
      const float d = yr[c] * (gr[c] - dot);
      dr[c] = accumulate ? dr[c] + d : d;
    }
  }
}

/// y[b, 0:e] (+)= sum_t x[b, t, 0:e]
template <class Arch>
void token_sum_range(const float* x, index bs, index ts, index n, index e, float* y, index ldy,
                     bool accumulate, index b0, index b1) noexcept {
  for (index b = b0; b < b1; ++b) {
    float* yr = y + b * ldy;
    if (!accumulate) vzero<Arch>(yr, e);
    for (index t = 0; t < n; ++t) vaxpy<Arch>(yr, 1.0f, x + b * bs + t * ts, e);
  }
}

/// y[r] (+)= sum_c x[r, c]
template <class Arch>
void row_sum_rows(index rows, index cols, const float* x, index ldx, float* y,
                  bool accumulate) noexcept {
  for (index r = 0; r < rows; ++r) {
    const float s = vsum<Arch>(x + r * ldx, cols);
    y[r] = accumulate ? y[r] + s : s;
  }
}

}  // namespace detail

struct elementwise_table {
  void (*act_forward)(activation, index, index, const float*, index, float*,
                      index) noexcept = nullptr;
  void (*binary)(binary_op, index, index, const float*, index, const float*, index, float*,
                 index) noexcept = nullptr;
  void (*binary_backward)(binary_op, index, index, const float*, index, const float*, index,
                          const float*, index, float*, index, float*, index,
                          bool) noexcept = nullptr;
  void (*axpy)(index, index, float, const float*, index, float*, index) noexcept = nullptr;
  void (*layer_norm)(index, index, const float*, index, const float*, const float*, float, float*,
                     index, float*, float*) noexcept = nullptr;
  void (*layer_norm_backward)(index, index, const float*, index, const float*, index, const float*,
                              const float*, const float*, float*, index, bool) noexcept = nullptr;
  void (*layer_norm_param_grad)(index, index, const float*, index, const float*, index,
                                const float*, const float*, float*, float*) noexcept = nullptr;
  void (*softmax)(index, index, const float*, index, float*, index) noexcept = nullptr;
  void (*softmax_backward)(index, index, const float*, index, const float*, index, float*, index,
                           bool) noexcept = nullptr;
  void (*token_sum)(const float*, index, index, index, index, float*, index, bool, index,
                    index) noexcept = nullptr;
  void (*row_sum)(index, index, const float*, index, float*, bool) noexcept = nullptr;

  template <class Arch>
  static elementwise_table make() {
    return {&detail::act_forward_rows<Arch>,      &detail::binary_rows<Arch>,
            &detail::binary_backward_rows<Arch>,  &detail::axpy_rows<Arch>,
            &detail::layer_norm_rows<Arch>,       &detail::layer_norm_backward_rows<Arch>,
            &detail::layer_norm_param_grad<Arch>, &detail::softmax_rows<Arch>,
            &detail::softmax_backward_rows<Arch>, &detail::token_sum_range<Arch>,
            &detail::row_sum_rows<Arch>};
  }
};

// Entry points (they dispatch) and references: never compiled in the ISA translation units,
// where an inline copy built with wider-ISA flags could be the one the linker keeps.
#ifndef RECNAS_ISA_TRANSLATION_UNIT

namespace detail {
inline const elementwise_table& ew() { return simd::dispatcher<elementwise_table>::get(); }
/// Splits rows over threads when rows * cols * work_per_element is large enough.
template <class Body>
void rows_parallel(index rows, index cols, double work, Body&& body) {
  if (rows <= 0) return;
  parallel::parallel_rows(rows, static_cast<double>(rows) * static_cast<double>(cols) * work,
                          std::forward<Body>(body));
}
}  // namespace detail

/// y = act(x) (y may alias x).
inline void activation_forward(activation act, index rows, index cols, const float* x, index ldx,
                               float* y, index ldy) {
  detail::rows_parallel(
      rows, cols, act == activation::sigmoid ? 20.0 : 2.0, [&](index r0, index r1) {
        detail::ew().act_forward(act, r1 - r0, cols, x + r0 * ldx, ldx, y + r0 * ldy, ldy);
      });
}

/// y = a (op) b elementwise: add, mul or a * sigmoid(b).
inline void binary(binary_op op, index rows, index cols, const float* a, index lda, const float* b,
                   index ldb, float* y, index ldy) {
  detail::rows_parallel(rows, cols, op == binary_op::sigmoid_gate ? 20.0 : 2.0,
                        [&](index r0, index r1) {
                          detail::ew().binary(op, r1 - r0, cols, a + r0 * lda, lda, b + r0 * ldb,
                                              ldb, y + r0 * ldy, ldy);
                        });
}

/// Backward of mul / sigmoid_gate (for add, the gradient is dy itself: use axpy).
inline void binary_backward(binary_op op, index rows, index cols, const float* a, index lda,
                            const float* b, index ldb, const float* dy, index lddy, float* da,
                            index ldda, float* db, index lddb, bool accumulate) {
  expects(op != binary_op::add, "binary_backward: the gradient of add is dy (use axpy)");
  detail::rows_parallel(rows, cols, 20.0, [&](index r0, index r1) {
    detail::ew().binary_backward(op, r1 - r0, cols, a + r0 * lda, lda, b + r0 * ldb, ldb,
                                 dy + r0 * lddy, lddy, da != nullptr ? da + r0 * ldda : nullptr,
                                 ldda, db != nullptr ? db + r0 * lddb : nullptr, lddb, accumulate);
  });
}

/// y += alpha * x.
inline void axpy(index rows, index cols, float alpha, const float* x, index ldx, float* y,
                 index ldy) {
  detail::rows_parallel(rows, cols, 2.0, [&](index r0, index r1) {
    detail::ew().axpy(r1 - r0, cols, alpha, x + r0 * ldx, ldx, y + r0 * ldy, ldy);
  });
}

/// Layer norm over the first `width` columns with gamma[0:width], beta[0:width] (prefixes of the
/// max-size parameters); mean/rstd (length rows, may be null) are kept for the backward.
inline void layer_norm(index rows, index width, const float* x, index ldx, const float* gamma,
                       const float* beta, float eps, float* y, index ldy, float* mean,
                       float* rstd) {
  expects(width > 0, "layer_norm: width > 0");
  detail::rows_parallel(rows, width, 8.0, [&](index r0, index r1) {
    detail::ew().layer_norm(r1 - r0, width, x + r0 * ldx, ldx, gamma, beta, eps, y + r0 * ldy, ldy,
                            mean != nullptr ? mean + r0 : nullptr,
                            rstd != nullptr ? rstd + r0 : nullptr);
  });
}

/// dx (+)= layer-norm input gradient; dgamma, dbeta += parameter gradients (may be null).
inline void layer_norm_backward(index rows, index width, const float* x, index ldx, const float* dy,
                                index lddy, const float* gamma, const float* mean,
                                const float* rstd, float* dx, index lddx, bool accumulate,
                                float* dgamma, float* dbeta) {
  expects(width > 0, "layer_norm_backward: width > 0");
  if (dx != nullptr) {
    detail::rows_parallel(rows, width, 10.0, [&](index r0, index r1) {
      detail::ew().layer_norm_backward(r1 - r0, width, x + r0 * ldx, ldx, dy + r0 * lddy, lddy,
                                       gamma, mean + r0, rstd + r0, dx + r0 * lddx, lddx,
                                       accumulate);
    });
  }
  if (dgamma != nullptr || dbeta != nullptr)
    detail::ew().layer_norm_param_grad(rows, width, x, ldx, dy, lddy, mean, rstd, dgamma, dbeta);
}

/// Row-wise softmax (y may alias x).
inline void softmax(index rows, index cols, const float* x, index ldx, float* y, index ldy) {
  detail::rows_parallel(rows, cols, 20.0, [&](index r0, index r1) {
    detail::ew().softmax(r1 - r0, cols, x + r0 * ldx, ldx, y + r0 * ldy, ldy);
  });
}

/// dx (+)= y * (dy - sum(dy * y)) row-wise, from the softmax output y.
inline void softmax_backward(index rows, index cols, const float* y, index ldy, const float* dy,
                             index lddy, float* dx, index lddx, bool accumulate) {
  detail::rows_parallel(rows, cols, 4.0, [&](index r0, index r1) {
    detail::ew().softmax_backward(r1 - r0, cols, y + r0 * ldy, ldy, dy + r0 * lddy, lddy,
                                  dx + r0 * lddx, lddx, accumulate);
  });
}

/// y[b, 0:e] (+)= sum over tokens of x[b, t, 0:e] (row stride ldy).
inline void token_sum(token_view<const float> x, float* y, index ldy, bool accumulate) {
  const auto& k = detail::ew();
  parallel::parallel_rows(x.batch(), static_cast<double>(x.batch() * x.tokens() * x.width()),
                          [&](index b0, index b1) {
                            k.token_sum(x.data(), x.batch_stride(), x.token_stride(), x.tokens(),
                                        x.width(), y, ldy, accumulate, b0, b1);
                          });
}

/// dx[b, t, :] (+)= dy[b, :] for every token (the backward of token_sum).
inline void token_sum_backward(const float* dy, index lddy, token_view<float> dx, bool accumulate) {
  for (index t = 0; t < dx.tokens(); ++t) {
    float* base = dx.data() + t * dx.token_stride();
    if (!accumulate) {
      for (index b = 0; b < dx.batch(); ++b)
        for (index c = 0; c < dx.width(); ++c) base[b * dx.batch_stride() + c] = 0.0f;
    }
    axpy(dx.batch(), dx.width(), 1.0f, dy, lddy, base, dx.batch_stride());
  }
}

/// y[r] (+)= sum of row r.
inline void row_sum(index rows, index cols, const float* x, index ldx, float* y, bool accumulate) {
  detail::rows_parallel(rows, cols, 1.0, [&](index r0, index r1) {
    detail::ew().row_sum(r1 - r0, cols, x + r0 * ldx, ldx, y + r0, accumulate);
  });
}

// ---------------------------------------------------------------- references (double sums)

inline void layer_norm_ref(index rows, index width, const float* x, index ldx, const float* gamma,
                           const float* beta, float eps, float* y, index ldy) {
  for (index r = 0; r < rows; ++r) {
    double mu = 0, var = 0;
    for (index c = 0; c < width; ++c) mu += x[r * ldx + c];
    mu /= static_cast<double>(width);
    for (index c = 0; c < width; ++c) var += (x[r * ldx + c] - mu) * (x[r * ldx + c] - mu);
    var /= static_cast<double>(width);
    const double rs = 1.0 / std::sqrt(var + eps);
    for (index c = 0; c < width; ++c)
      y[r * ldy + c] = static_cast<float>((x[r * ldx + c] - mu) * rs * gamma[c] + beta[c]);
  }
}

inline void softmax_ref(index rows, index cols, const float* x, index ldx, float* y, index ldy) {
  for (index r = 0; r < rows; ++r) {
    double mx = -INFINITY, s = 0;
    for (index c = 0; c < cols; ++c) mx = std::max<double>(mx, x[r * ldx + c]);
    for (index c = 0; c < cols; ++c) s += std::exp(x[r * ldx + c] - mx);
    for (index c = 0; c < cols; ++c)
      y[r * ldy + c] = static_cast<float>(std::exp(x[r * ldx + c] - mx) / s);
  }
}

#endif  // RECNAS_ISA_TRANSLATION_UNIT
}  // namespace recnas::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
