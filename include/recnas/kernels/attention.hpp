#pragma once
// Small-head multi-head self-attention core (NASRec's attention block on E = 16 tokens: 8 heads
// of dimension 2; any head count dividing E works). The Q/K/V/output projections are token-wise
// FCs: run them with fc_forward on the [B*T, E] view of the tokens.
//
// For each example b and head h (columns [h*d, (h+1)*d) of the width, d = E / heads):
//   S = Q_h K_h^T / sqrt(d)   (T x T)
//   P = softmax(S) row-wise   (saved in `probs` [B, heads, T, Tp] for the backward, rows
//                              padded with zeros to Tp = T rounded up to 16)
//   O_h = P V_h
// Backward (from P): dV_h = P^T dO_h, dP = dO_h V_h^T, dS = P * (dP - rowsum(dP * P)),
//   dQ_h = dS K_h / sqrt(d), dK_h = dS^T Q_h / sqrt(d).
//
// Fused per (b, h): K_h and V_h are transposed once into a small per-thread buffer so every
// row of scores, the softmax, P V and all backward products are vectorised along the key axis.

#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

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

/// Per-thread floats: K^T, V^T, dK^T, dV^T ([d][T] each) and two rows of T.
constexpr index attention_thread_floats(index tokens, index width, index heads) noexcept {
  const index d = heads > 0 ? width / heads : 0;
  const index tp = (tokens + 15) / 16 * 16;
  return 4 * d * tp + 2 * tp + 16;
}

/// Row softmax over s[0:n] (n a multiple of the register width) where only s[0:valid] are
/// scores: the rest are masked to -inf, so they come out as exact zeros.
template <class Arch>
void softmax_padded(float* s, index n, index valid) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr index L = static_cast<index>(batch::size);
  alignas(64) float tmp[L];
  for (index i = 0; i < L; ++i) tmp[i] = static_cast<float>(i);
  const batch lane = batch::load_aligned(tmp);
  const batch ninf(-INFINITY);
  batch m = ninf;
  for (index j = 0; j < n; j += L) {
    batch v = batch::load_unaligned(s + j);
    if (j + L > valid) {
      v = xsimd::select(lane + batch(static_cast<float>(j)) < batch(static_cast<float>(valid)), v,
                        ninf);
      v.store_unaligned(s + j);
    }
    m = xsimd::max(m, v);
  }
  m.store_aligned(tmp);
  float mx = tmp[0];
  for (index i = 1; i < L; ++i) mx = tmp[i] > mx ? tmp[i] : mx;
  batch acc(0.0f);
  for (index j = 0; j < n; j += L) {
    const batch e = xsimd::exp(batch::load_unaligned(s + j) - batch(mx));
    e.store_unaligned(s + j);
    acc += e;
  }
  vscale<Arch>(s, 1.0f / xsimd::hadd(acc), n);
}

template <class Arch>
void attention_forward_range(const attention_raw& io, tok<float> out, float* probs, index b0,
                             index b1, float* ws) noexcept {
  // Element access as a local lambda: unique to this Arch instantiation (no shared inline code).
  const auto at = [](auto t, index b, index i, index c) -> auto& {
    return t.p[b * t.bs + i * t.ts + c];
  };
  const index T = io.tokens, heads = io.heads, d = io.width / heads;
  // Rows are padded to tp (a multiple of 16): padded keys/values are zero and padded scores
  // -inf, so every vector loop runs on whole registers without tails.
  const index tp = (T + 15) / 16 * 16;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  float* kt = ws;           // [d][tp]
  float* vt = ws + d * tp;  // [d][tp]
  vzero<Arch>(kt, 2 * d * tp);
  for (index b = b0; b < b1; ++b) {
    for (index h = 0; h < heads; ++h) {
      const index c0 = h * d;
      for (index j = 0; j < T; ++j) {
        for (index c = 0; c < d; ++c) {
          kt[c * tp + j] = at(io.k, b, j, c0 + c) * scale;
          vt[c * tp + j] = at(io.v, b, j, c0 + c);
        }
      }
      float* pb = probs + ((b * heads + h) * T) * tp;
      for (index i = 0; i < T; ++i) {
        float* sp = pb + i * tp;  // the scores become P in place (padded row)
        vzero<Arch>(sp, tp);
        for (index c = 0; c < d; ++c) vaxpy<Arch>(sp, at(io.q, b, i, c0 + c), kt + c * tp, tp);
        softmax_padded<Arch>(sp, tp, T);
        for (index c = 0; c < d; ++c) at(out, b, i, c0 + c) = vdot<Arch>(sp, vt + c * tp, tp);
      }
    }
  }
}

template <class Arch>
void attention_backward_range(const attention_raw& io, const float* probs, tok<const float> dout,
                              tok<float> dq, tok<float> dk, tok<float> dv, bool accumulate,
                              index b0, index b1, float* ws) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr index L = static_cast<index>(batch::size);
  // Element access as a local lambda: unique to this Arch instantiation (no shared inline code).
  const auto at = [](auto t, index b, index i, index c) -> auto& {
    return t.p[b * t.bs + i * t.ts + c];
  };
  const index T = io.tokens, heads = io.heads, d = io.width / heads;
  const index tp = (T + 15) / 16 * 16;  // padded rows, as in the forward
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  float* kt = ws;
  float* vt = kt + d * tp;
  float* dkt = vt + d * tp;
  float* dvt = dkt + d * tp;
  float* dp = dvt + d * tp;
  vzero<Arch>(kt, 2 * d * tp);
  for (index b = b0; b < b1; ++b) {
    for (index h = 0; h < heads; ++h) {
      const index c0 = h * d;
      for (index j = 0; j < T; ++j) {
        for (index c = 0; c < d; ++c) {
          kt[c * tp + j] = at(io.k, b, j, c0 + c);
          vt[c * tp + j] = at(io.v, b, j, c0 + c);
        }
      }
      vzero<Arch>(dkt, 2 * d * tp);
      const float* pb = probs + ((b * heads + h) * T) * tp;
      for (index i = 0; i < T; ++i) {
        const float* pp = pb + i * tp;  // padded row of P: zeros past T
        // dP[i, :] = sum_c dO[i, c] V[:, c]
        vzero<Arch>(dp, tp);
        for (index c = 0; c < d; ++c) vaxpy<Arch>(dp, at(dout, b, i, c0 + c), vt + c * tp, tp);
        const float dot = vdot<Arch>(dp, pp, tp);
        // dS = P * (dP - dot), kept in dp (zero in the padding since P is)
        for (index j = 0; j < tp; j += L) {
          (batch::load_unaligned(pp + j) * (batch::load_unaligned(dp + j) - batch(dot)))
              .store_unaligned(dp + j);
        }
        for (index c = 0; c < d; ++c) {
          const float g = scale * vdot<Arch>(dp, kt + c * tp, tp);
          float& dqv = at(dq, b, i, c0 + c);
          dqv = accumulate ? dqv + g : g;
          vaxpy<Arch>(dkt + c * tp, scale * at(io.q, b, i, c0 + c), dp, tp);
          vaxpy<Arch>(dvt + c * tp, at(dout, b, i, c0 + c), pp, tp);
        }
      }
      for (index j = 0; j < T; ++j) {
        for (index c = 0; c < d; ++c) {
          float& a = at(dk, b, j, c0 + c);
          float& v = at(dv, b, j, c0 + c);
          a = accumulate ? a + dkt[c * tp + j] : dkt[c * tp + j];
          v = accumulate ? v + dvt[c * tp + j] : dvt[c * tp + j];
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

/// Floats of `probs` one call keeps: batch * heads * tokens * (tokens rounded up to 16).
[[nodiscard]] constexpr index attention_probs_size(index batch, index tokens,
                                                   index heads) noexcept {
  return batch * heads * tokens * ((tokens + 15) / 16 * 16);
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

/// out = MHSA core of (q, k, v); probs receives P ([B, heads, T, Tp], attention_probs_size).
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

}  // namespace recnas::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
