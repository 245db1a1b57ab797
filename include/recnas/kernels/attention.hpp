#pragma once
// Small-head multi-head self-attention core (NASRec's attention block on E = 16 tokens: 8 heads
// of dimension 2; any head count dividing E works). The Q/K/V/output projections are token-wise
// FCs: run them with fc_forward on the [B*T, E] view of the tokens.
//
// For each example b and head h (columns [h*d, (h+1)*d) of the width, d = E / heads):
//   S = Q_h K_h^T / sqrt(d)   (T x T)
//   P = softmax(S) row-wise   (only its log-sum-exp per query is saved in `probs`
//                              [B, heads, Tp], Tp = T rounded up to 16; the backward
//                              recomputes P: 2 FMAs and one exp per score at d = 2,
//                              instead of storing B * heads * T * Tp floats)
//   O_h = P V_h
// Backward (P recomputed): dV_h = P^T dO_h, dP = dO_h V_h^T, dS = P * (dP - rowsum(dP * P)),
//   dQ_h = dS K_h / sqrt(d), dK_h = dS^T Q_h / sqrt(d).
//
// Fused per (b, h) and vectorised over queries: Q_h and dO_h are transposed once into a small
// per-thread buffer so a register holds one key's scores for L queries; the softmax max, exp
// and sums, P V, dP, dS and dQ are then lane-wise FMAs with broadcast K/V scalars, with no
// horizontal reductions except the final dK/dV sums over queries (one transposing haddp per
// L rows).

#include <algorithm>
#include <cmath>
#include <span>
#include <type_traits>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "recnas/core/error.hpp"
#include "recnas/core/tensor.hpp"
#include "recnas/kernels/detail/gemm_core.hpp"
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

/// Token tensors of one attention call (all [batch, tokens, width]).
struct attention_io {
  token_view<const float> q, k, v;
};

namespace detail {

/// Raw form of a token tensor for the ISA code (plain data: no member calls in ISA TUs).
template <class T>
struct tok {
  T* p;
  index bs, ts;
};
template <class T>
tok<T> raw(token_view<T> v) noexcept {
  return {v.data(), v.batch_stride(), v.token_stride()};
}

struct attention_raw {
  tok<const float> q, k, v;
  index batch, tokens, width, heads;
};

constexpr index attention_pad16(index n) noexcept { return (n + 15) / 16 * 16; }

/// Per-thread floats: Q^T and dO^T of one example ([E][Tp], queries along the lanes), P and
/// dP of one query block ([T][16] each), the dK/dV partial vectors ([2Td rounded up to 16][16])
/// and their sums. K and V are read in place.
constexpr index attention_thread_floats(index tokens, index width, index heads) noexcept {
  const index d = heads > 0 ? width / heads : 0;
  const index tp = attention_pad16(tokens), r = attention_pad16(2 * tokens * d);
  return 2 * width * tp + 32 * tokens + 17 * r + 64;
}

/// Channels per register-accumulator chunk (d = 2 in NASRec: one chunk).
inline constexpr index attention_chunk = 4;

/// dst[c * ldd + j] = scale * src[j * lds + c] for j < rows, c < cols (a token block to
/// queries-along-lanes): 8x8 register transposes on AVX2/AVX-512, scalar otherwise.
template <class Arch>
void transpose_scaled(const float* src, index lds, index rows, index cols, float* dst, index ldd,
                      float scale) noexcept {
  index c0 = 0;
#if defined(__x86_64__)
  if constexpr (xsimd::batch<float, Arch>::size >= 8) {
    for (; c0 + 8 <= cols; c0 += 8)
      for (index j0 = 0; j0 < rows; j0 += 8)
        transpose_8x8<Arch>(src + j0 * lds + c0, lds, rows - j0 < 8 ? rows - j0 : 8,
                            dst + c0 * ldd + j0, ldd);
    if (scale != 1.0f)
      for (index c = 0; c < c0; ++c) vscale<Arch>(dst + c * ldd, scale, rows);
  }
#endif
  for (index j = 0; j < rows; ++j)
    for (index c = c0; c < cols; ++c) dst[c * ldd + j] = src[j * lds + c] * scale;
}

/// Writes lanes [0, n) of v to p[0], p[stride], ... (+= when accumulate).
template <class Arch>
void scatter_lanes(xsimd::batch<float, Arch> v, float* p, index stride, index n,
                   bool accumulate) noexcept {
  alignas(64) float tmp[xsimd::batch<float, Arch>::size];
  v.store_aligned(tmp);
  for (index i = 0; i < n; ++i) p[i * stride] = accumulate ? p[i * stride] + tmp[i] : tmp[i];
}

/// One (example, head) of the forward, vectorised over queries: P^T[j, i] for a block of L
/// queries is one register per key j, so the max, the exp and the sums are lane-wise (no
/// horizontal reductions). `Dim` is the head dimension (a compile-time constant for d = 2).
template <class Arch, class Dim>
void attention_forward_head(Dim dim, index T, index tp, const float* qt, const float* ks, index kts,
                            const float* vs, index vts, float* pt, float* lse, float* o,
                            index ots) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr index L = static_cast<index>(batch::size);
  const index d = dim;
  alignas(64) float lane_f[L];
  for (index i = 0; i < L; ++i) lane_f[i] = static_cast<float>(i);
  const batch lane = batch::load_aligned(lane_f);
  for (index i0 = 0; i0 < T; i0 += L) {
    // Scores S^T[j, i0:i0+L] = sum_c K_s[j, c] Q^T[c, i0:i0+L] and their lane-wise max.
    batch m(-INFINITY);
    for (index j = 0; j < T; ++j) {
      batch sc = batch(ks[j * kts]) * batch::load_unaligned(qt + i0);
      for (index c = 1; c < d; ++c)
        sc = xsimd::fma(batch(ks[j * kts + c]), batch::load_unaligned(qt + c * tp + i0), sc);
      sc.store_unaligned(pt + j * L);
      m = xsimd::max(m, sc);
    }
    batch sum(0.0f);
    for (index j = 0; j < T; ++j) {
      const batch e = exp_nonpos<Arch>(batch::load_unaligned(pt + j * L) - m);
      e.store_unaligned(pt + j * L);
      sum += e;
    }
    // Saved for the backward: log-sum-exp per query, +inf in padded lanes (P = 0 there).
    const index valid = (T - i0 < L ? T - i0 : L);
    const batch inv = batch(1.0f) / sum;
    xsimd::select(lane < batch(static_cast<float>(valid)), m + xsimd::log(sum), batch(INFINITY))
        .store_unaligned(lse + i0);
    // O[i, c] = sum_j P^T[j, i] V[j, c]; the first chunk also normalises P in place.
    for (index c0 = 0; c0 < d; c0 += attention_chunk) {
      const index cn = (d - c0 < attention_chunk ? d - c0 : attention_chunk);
      batch acc[attention_chunk];
      for (index c = 0; c < cn; ++c) acc[c] = batch(0.0f);
      for (index j = 0; j < T; ++j) {
        batch p = batch::load_unaligned(pt + j * L);
        if (c0 == 0) {
          p *= inv;
          p.store_unaligned(pt + j * L);
        }
        for (index c = 0; c < cn; ++c) acc[c] = xsimd::fma(p, batch(vs[j * vts + c0 + c]), acc[c]);
      }
      for (index c = 0; c < cn; ++c)
        scatter_lanes<Arch>(acc[c], o + i0 * ots + c0 + c, ots, valid, false);
    }
  }
}

/// The forward of one (example, head) for head dimensions up to attention_chunk, in two passes
/// over the keys and without writing P: the lane-wise max of the scores, then the scores again
/// (2 FMAs at d = 2, the same operations as the backward's recomputation), their exp, its sum
/// and the unnormalised P V, scaled by 1 / sum at the end. Keys go in pairs with two sets of
/// accumulators, so the max / sum / P V dependency chains do not bound the loop.
template <class Arch, class Dim>
void attention_forward_head_fused(Dim dim, index T, index tp, const float* qt, const float* ks,
                                  index kts, const float* vs, index vts, float* lse, float* o,
                                  index ots) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr index L = static_cast<index>(batch::size);
  constexpr index C = attention_chunk;
  const index d = dim;
  alignas(64) float lane_f[L];
  for (index i = 0; i < L; ++i) lane_f[i] = static_cast<float>(i);
  const batch lane = batch::load_aligned(lane_f);
  for (index i0 = 0; i0 < T; i0 += L) {
    batch q[C];
    for (index c = 0; c < d; ++c) q[c] = batch::load_unaligned(qt + c * tp + i0);
    auto score = [&](index j) {
      const float* kj = ks + j * kts;
      batch sc = batch(kj[0]) * q[0];
      for (index c = 1; c < d; ++c) sc = xsimd::fma(batch(kj[c]), q[c], sc);
      return sc;
    };
    batch m0(-INFINITY), m1(-INFINITY);
    index j = 0;
    for (; j + 1 < T; j += 2) {
      m0 = xsimd::max(m0, score(j));
      m1 = xsimd::max(m1, score(j + 1));
    }
    if (j < T) m0 = xsimd::max(m0, score(j));
    const batch m = xsimd::max(m0, m1);
    batch s0(0.0f), s1(0.0f), a0[C], a1[C];
    for (index c = 0; c < d; ++c) a0[c] = a1[c] = batch(0.0f);
    for (j = 0; j + 1 < T; j += 2) {
      const batch e0 = exp_nonpos<Arch>(score(j) - m);
      const batch e1 = exp_nonpos<Arch>(score(j + 1) - m);
      s0 += e0;
      s1 += e1;
      const float* v0 = vs + j * vts;
      const float* v1 = v0 + vts;
      for (index c = 0; c < d; ++c) {
        a0[c] = xsimd::fma(e0, batch(v0[c]), a0[c]);
        a1[c] = xsimd::fma(e1, batch(v1[c]), a1[c]);
      }
    }
    if (j < T) {
      const batch e0 = exp_nonpos<Arch>(score(j) - m);
      s0 += e0;
      for (index c = 0; c < d; ++c) a0[c] = xsimd::fma(e0, batch(vs[j * vts + c]), a0[c]);
    }
    const batch sum = s0 + s1;
    // Saved for the backward: log-sum-exp per query, +inf in padded lanes (P = 0 there).
    const index valid = (T - i0 < L ? T - i0 : L);
    xsimd::select(lane < batch(static_cast<float>(valid)), m + xsimd::log(sum), batch(INFINITY))
        .store_unaligned(lse + i0);
    const batch inv = batch(1.0f) / sum;
    for (index c = 0; c < d; ++c)
      scatter_lanes<Arch>((a0[c] + a1[c]) * inv, o + i0 * ots + c, ots, valid, false);
  }
}

template <class Arch>
void attention_forward_range(const attention_raw& io, tok<float> out, float* probs, index b0,
                             index b1, float* ws) noexcept {
  const index T = io.tokens, E = io.width, heads = io.heads, d = E / heads;
  const index tp = (T + 15) / 16 * 16;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  float* qt = ws;           // [E][tp] = Q^T * scale (every head), zero past T
  float* pt = qt + E * tp;  // [T][16]: P^T of one query block
  vzero<Arch>(qt, E * tp);
  for (index b = b0; b < b1; ++b) {
    const float* qb = io.q.p + b * io.q.bs;
    transpose_scaled<Arch>(qb, io.q.ts, T, E, qt, tp, scale);
    for (index h = 0; h < heads; ++h) {
      const index c0 = h * d;
      const float* kb = io.k.p + b * io.k.bs + c0;  // K and V are read in place (broadcasts)
      const float* vb = io.v.p + b * io.v.bs + c0;
      float* lse = probs + (b * heads + h) * tp;
      float* o = out.p + b * out.bs + c0;
      if (d == 2)
        attention_forward_head_fused<Arch>(std::integral_constant<index, 2>{}, T, tp, qt + c0 * tp,
                                           kb, io.k.ts, vb, io.v.ts, lse, o, out.ts);
      else if (d <= attention_chunk)
        attention_forward_head_fused<Arch>(d, T, tp, qt + c0 * tp, kb, io.k.ts, vb, io.v.ts, lse, o,
                                           out.ts);
      else
        attention_forward_head<Arch>(d, T, tp, qt + c0 * tp, kb, io.k.ts, vb, io.v.ts, pt, lse, o,
                                     out.ts);
    }
  }
}

/// out[r] = sum of the L floats at rows[r * L] for r < n: groups of L rows through one
/// transposing reduction (haddp_ordered) instead of L horizontal adds, the tail row by row.
template <class Arch>
void hsum_rows(const float* rows, index n, float* out) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr index L = static_cast<index>(batch::size);
  index r = 0;
  for (; r + L <= n; r += L) {
    batch grp[L];
    for (index i = 0; i < L; ++i) grp[i] = batch::load_unaligned(rows + (r + i) * L);
    haddp_ordered<Arch>(grp).store_unaligned(out + r);
  }
  for (; r < n; ++r) out[r] = xsimd::hadd(batch::load_unaligned(rows + r * L));
}

/// One (example, head) of the backward, vectorised over queries like the forward. dQ rows are
/// lane-wise sums over keys; dK and dV (sums over queries) are accumulated as per-key partial
/// vectors in `red` and reduced at the end (hsum_rows).
template <class Arch, class Dim>
void attention_backward_head(Dim dim, index T, index tp, float scale, const float* qs,
                             const float* dot, const float* ks, index kts, const float* vs,
                             index vts, const float* lse, float* pt, float* dpb, float* red,
                             float* dq, index dqts, bool accumulate) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr index L = static_cast<index>(batch::size);
  const index d = dim;
  for (index i0 = 0; i0 < T; i0 += L) {
    // P^T[j, i] = exp(S^T[j, i] - lse[i]), recomputed exactly as in the forward (0 in padded
    // lanes); dP^T[j, i] = sum_c V[j, c] dO[i, c]; rowdot[i] = sum_j dP[i, j] P[i, j].
    const batch l = batch::load_unaligned(lse + i0);
    batch rowdot(0.0f);
    for (index j = 0; j < T; ++j) {
      batch sc = batch(ks[j * kts]) * batch::load_unaligned(qs + i0);
      for (index c = 1; c < d; ++c)
        sc = xsimd::fma(batch(ks[j * kts + c]), batch::load_unaligned(qs + c * tp + i0), sc);
      const batch p = exp_nonpos<Arch>(sc - l);
      p.store_unaligned(pt + j * L);
      batch g = batch(vs[j * vts]) * batch::load_unaligned(dot + i0);
      for (index c = 1; c < d; ++c)
        g = xsimd::fma(batch(vs[j * vts + c]), batch::load_unaligned(dot + c * tp + i0), g);
      g.store_unaligned(dpb + j * L);
      rowdot = xsimd::fma(g, p, rowdot);
    }
    // dS = P * (dP - rowdot); dQ_s[i, c] = sum_j dS[i, j] K_s[j, c];
    // partials dK[j, c] += dS[:, j] . Q_s[:, c] and dV[j, c] += P[:, j] . dO[:, c].
    for (index c0 = 0; c0 < d; c0 += attention_chunk) {
      const index cn = (d - c0 < attention_chunk ? d - c0 : attention_chunk);
      batch acc[attention_chunk], qv[attention_chunk], gv[attention_chunk];
      for (index c = 0; c < cn; ++c) {
        acc[c] = batch(0.0f);
        qv[c] = batch::load_unaligned(qs + (c0 + c) * tp + i0);
        gv[c] = batch::load_unaligned(dot + (c0 + c) * tp + i0);
      }
      for (index j = 0; j < T; ++j) {
        const batch p = batch::load_unaligned(pt + j * L);
        const batch ds = p * (batch::load_unaligned(dpb + j * L) - rowdot);
        float* rk = red + (j * 2 * d + c0) * L;
        float* rv = red + (j * 2 * d + d + c0) * L;
        for (index c = 0; c < cn; ++c) {
          acc[c] = xsimd::fma(ds, batch(ks[j * kts + c0 + c]), acc[c]);
          // The first query block initialises the partials (no separate zeroing pass).
          if (i0 == 0) {
            (ds * qv[c]).store_unaligned(rk + c * L);
            (p * gv[c]).store_unaligned(rv + c * L);
          } else {
            xsimd::fma(ds, qv[c], batch::load_unaligned(rk + c * L)).store_unaligned(rk + c * L);
            xsimd::fma(p, gv[c], batch::load_unaligned(rv + c * L)).store_unaligned(rv + c * L);
          }
        }
      }
      const index valid = (T - i0 < L ? T - i0 : L);
      for (index c = 0; c < cn; ++c)
        scatter_lanes<Arch>(acc[c] * batch(scale), dq + i0 * dqts + c0 + c, dqts, valid,
                            accumulate);
    }
  }
}

template <class Arch>
void attention_backward_range(const attention_raw& io, const float* probs, tok<const float> dout,
                              tok<float> dq, tok<float> dk, tok<float> dv, bool accumulate,
                              index b0, index b1, float* ws) noexcept {
  const index T = io.tokens, E = io.width, heads = io.heads, d = E / heads;
  const index tp = (T + 15) / 16 * 16;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  float* qs = ws;                                         // [E][tp] = Q^T * scale, zero past T
  float* dot = qs + E * tp;                               // [E][tp] = dO^T, zero past T
  float* pt = dot + E * tp;                               // [T][16]: P^T of one query block
  float* dpb = pt + T * 16;                               // [T][16]: dP^T of one query block
  float* red = dpb + T * 16;                              // [2 T d][16]: dK/dV partials
  float* sums = red + ((2 * T * d + 15) / 16 * 16) * 16;  // [2 T d]
  vzero<Arch>(qs, 2 * E * tp);
  for (index b = b0; b < b1; ++b) {
    const float* qb = io.q.p + b * io.q.bs;
    const float* gb = dout.p + b * dout.bs;
    transpose_scaled<Arch>(qb, io.q.ts, T, E, qs, tp, scale);
    transpose_scaled<Arch>(gb, dout.ts, T, E, dot, tp, 1.0f);
    for (index h = 0; h < heads; ++h) {
      const index c0 = h * d;
      const float* kb = io.k.p + b * io.k.bs + c0;
      const float* vb = io.v.p + b * io.v.bs + c0;
      const float* lse = probs + (b * heads + h) * tp;
      float* dqb = dq.p + b * dq.bs + c0;
      if (d == 2)
        attention_backward_head<Arch>(std::integral_constant<index, 2>{}, T, tp, scale,
                                      qs + c0 * tp, dot + c0 * tp, kb, io.k.ts, vb, io.v.ts, lse,
                                      pt, dpb, red, dqb, dq.ts, accumulate);
      else
        attention_backward_head<Arch>(d, T, tp, scale, qs + c0 * tp, dot + c0 * tp, kb, io.k.ts, vb,
                                      io.v.ts, lse, pt, dpb, red, dqb, dq.ts, accumulate);
      hsum_rows<Arch>(red, 2 * T * d, sums);
      float* dkb = dk.p + b * dk.bs + c0;
      float* dvb = dv.p + b * dv.bs + c0;
      for (index j = 0; j < T; ++j) {
        for (index c = 0; c < d; ++c) {
          float& a = dkb[j * dk.ts + c];
          float& v = dvb[j * dv.ts + c];
          const float ga = sums[j * 2 * d + c], gv = sums[j * 2 * d + d + c];
          a = accumulate ? a + ga : ga;
          v = accumulate ? v + gv : gv;
        }
      }
    }
  }
}

}  // namespace detail

struct attention_table {
  void (*forward)(const detail::attention_raw&, detail::tok<float>, float*, index, index,
                  float*) noexcept = nullptr;
  void (*backward)(const detail::attention_raw&, const float*, detail::tok<const float>,
                   detail::tok<float>, detail::tok<float>, detail::tok<float>, bool, index, index,
                   float*) noexcept = nullptr;

  template <class Arch>
  static attention_table make() {
    return {&detail::attention_forward_range<Arch>, &detail::attention_backward_range<Arch>};
  }
};

// Entry points (they dispatch) and references: never compiled in the ISA translation units,
// where an inline copy built with wider-ISA flags could be the one the linker keeps.
#ifndef RECNAS_ISA_TRANSLATION_UNIT

/// Floats of `probs` (the softmax statistics the backward needs) one call keeps:
/// batch * heads * (tokens rounded up to 16): the log-sum-exp of each query's scores
/// ([B, heads, Tp], +inf in the padding). P itself is recomputed by the backward (with d = 2
/// that is 2 FMAs and one exp per score), so the forward writes O(B H T) floats, not
/// O(B H T^2).
[[nodiscard]] constexpr index attention_probs_size(index batch, index tokens,
                                                   index heads) noexcept {
  return batch * heads * ((tokens + 15) / 16 * 16);
}

/// Floats of workspace forward/backward need on `threads` threads.
[[nodiscard]] inline index attention_workspace_size(index tokens, index width, index heads,
                                                    int threads = parallel::current_threads()) {
  return static_cast<index>(std::max(threads, 1)) *
         detail::attention_thread_floats(tokens, width, heads);
}

namespace detail {
inline void attention_check(const attention_io& io, index heads) {
  const index B = io.q.batch(), T = io.q.tokens(), E = io.q.width();
  expects(heads > 0 && E % heads == 0, "attention: heads must divide the width");
  for (const auto* t : {&io.k, &io.v})
    expects(t->batch() == B && t->tokens() == T && t->width() == E,
            "attention: q, k, v same shape");
}
template <class Body>
void attention_parallel(index batch, index tokens, index width, std::span<float> ws,
                        index per_thread, Body&& body) {
  const double cost = static_cast<double>(batch * tokens * tokens * width) * 8.0;
  const index fits = static_cast<index>(ws.size()) / per_thread;
  expects(fits >= 1, "attention: workspace too small (attention_workspace_size)");
  const index chunks = std::clamp<index>(
      std::min<index>({parallel::current_threads(), static_cast<index>(cost / 2e5), fits}), 1,
      std::max<index>(batch, 1));
  parallel::for_chunks(chunks, chunks, [&](index c0, index c1) {
    for (index c = c0; c < c1; ++c)
      body(batch * c / chunks, batch * (c + 1) / chunks, ws.data() + c * per_thread);
  });
}
}  // namespace detail

/// out = MHSA core of (q, k, v); probs receives the softmax statistics (attention_probs_size).
inline void attention_forward(const attention_io& io, index heads, token_view<float> out,
                              std::span<float> probs, std::span<float> workspace) {
  detail::attention_check(io, heads);
  const index B = io.q.batch(), T = io.q.tokens(), E = io.q.width();
  expects(out.batch() == B && out.tokens() == T && out.width() == E,
          "attention_forward: out shape");
  expects(static_cast<index>(probs.size()) >= attention_probs_size(B, T, heads),
          "attention_forward: probs size (attention_probs_size)");
  if (B == 0 || T == 0) return;
  const auto& k = simd::dispatcher<attention_table>::get();
  const detail::attention_raw r{
      detail::raw(io.q), detail::raw(io.k), detail::raw(io.v), B, T, E, heads};
  detail::attention_parallel(B, T, E, workspace, detail::attention_thread_floats(T, E, heads),
                             [&](index b0, index b1, float* ws) {
                               k.forward(r, detail::raw(out), probs.data(), b0, b1, ws);
                             });
}

/// dq, dk, dv (+)= gradients of attention_forward given dout and the saved probs.
inline void attention_backward(const attention_io& io, index heads, std::span<const float> probs,
                               token_view<const float> dout, token_view<float> dq,
                               token_view<float> dk, token_view<float> dv, bool accumulate,
                               std::span<float> workspace) {
  detail::attention_check(io, heads);
  const index B = io.q.batch(), T = io.q.tokens(), E = io.q.width();
  for (const auto* t : {&dq, &dk, &dv})
    expects(t->batch() == B && t->tokens() == T && t->width() == E,
            "attention_backward: grad shapes");
  expects(static_cast<index>(probs.size()) >= attention_probs_size(B, T, heads),
          "attention_backward: probs size");
  if (B == 0 || T == 0) return;
  const auto& k = simd::dispatcher<attention_table>::get();
  const detail::attention_raw r{
      detail::raw(io.q), detail::raw(io.k), detail::raw(io.v), B, T, E, heads};
  detail::attention_parallel(B, T, E, workspace, detail::attention_thread_floats(T, E, heads),
                             [&](index b0, index b1, float* ws) {
                               k.backward(r, probs.data(), detail::raw(dout), detail::raw(dq),
                                          detail::raw(dk), detail::raw(dv), accumulate, b0, b1, ws);
                             });
}

/// Double-precision reference of attention_forward (no probs).
inline void attention_forward_ref(const attention_io& io, index heads, token_view<float> out) {
  const index B = io.q.batch(), T = io.q.tokens(), E = io.q.width(), d = E / heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  std::vector<double> s(static_cast<std::size_t>(T));
  for (index b = 0; b < B; ++b)
    for (index h = 0; h < heads; ++h)
      for (index i = 0; i < T; ++i) {
        double mx = -INFINITY, sum = 0;
        for (index j = 0; j < T; ++j) {
          double v = 0;
          for (index c = h * d; c < (h + 1) * d; ++c)
            v += static_cast<double>(io.q(b, i, c)) * io.k(b, j, c);
          s[static_cast<std::size_t>(j)] = v * scale;
          mx = std::max(mx, v * scale);
        }
        for (auto& v : s) {
          v = std::exp(v - mx);
          sum += v;
        }
        for (index c = h * d; c < (h + 1) * d; ++c) {
          double o = 0;
          for (index j = 0; j < T; ++j) o += s[static_cast<std::size_t>(j)] / sum * io.v(b, j, c);
          out(b, i, c) = static_cast<float>(o);
        }
      }
}

#endif  // RECNAS_ISA_TRANSLATION_UNIT
}  // namespace recnas::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
