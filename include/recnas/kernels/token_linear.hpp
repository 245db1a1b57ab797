#pragma once
// Token-axis linear: NASRec's EFC (dense/sparse token mixing) and the token projections.
//
// Inputs are S token sources X_s[B, T_s, E] (batch stride bs_s, token stride ts_s, width E
// contiguous), each using weight columns [w_col_begin_s, w_col_begin_s + T_s) of a max-size
// weight W[s_max, T_max] (row stride ldw); the operator uses the first `s` rows (prefix slice).
//
//   token_linear_forward:         Y[b, i, :] = (accumulate ? Y : 0) + sum_s sum_t W[i, col_s + t]
//   X_s[b, t, :] token_linear_backward_data:   dX_s[b, t, :] (+)= sum_i W[i, col_s + t] dY[b, i, :]
//   token_linear_backward_weight: dW[i, col_s + t] += sum_b sum_e dY[b, i, e] X_s[b, t, e]
//
// i.e. Y_b = W_slice . X_b per example, the same s x T weight shared by the E channels. The
// weight slice is packed once per call, examples are split over the threads, and dW is one GEMM
// over K = B*E. No copies of X or Y when E is a multiple of the vector width (E = 16).

#include <algorithm>
#include <array>
#include <span>

#include "recnas/core/error.hpp"
#include "recnas/core/tensor.hpp"
#include "recnas/kernels/detail/gemm_core.hpp"
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

/// One token source of a token-axis linear.
struct token_input {
  const float* x = nullptr;  // X[b, t, e] = x[b * batch_stride + t * token_stride + e]
  index batch_stride = 0;
  index token_stride = 0;
  index w_col_begin = 0;  // first weight column (token) of this source
  index tokens = 0;       // active tokens of this source
};

/// Where a source's input gradient goes (dx == nullptr: skipped).
struct token_input_grad {
  float* dx = nullptr;
  index batch_stride = 0;
  index token_stride = 0;
  bool accumulate = false;
};

/// An output token tensor Y[b, i, e] = y[b * batch_stride + i * token_stride + e].
struct token_output {
  float* y = nullptr;
  index batch_stride = 0;
  index token_stride = 0;
};

struct token_linear_table {
  void (*pack_a)(const detail::operand&, index m, index k, float* dst) = nullptr;
  index (*packed_a_size)(index m, index k) noexcept = nullptr;
  void (*batched_range)(const detail::batched_gemm&, index b0, index b1, float* ws) = nullptr;

  template <class Arch>
  static token_linear_table make() {
    return {&detail::pack_a_full<Arch>, &detail::packed_a_size<Arch>, &detail::batched_range<Arch>};
  }
};

// Entry points (they dispatch) and references: never compiled in the ISA translation units,
// where an inline copy built with wider-ISA flags could be the one the linker keeps.
#ifndef RECNAS_ISA_TRANSLATION_UNIT

/// Floats of workspace that covers forward and both backward calls of one operator.
[[nodiscard]] inline index token_linear_workspace_size(std::span<const token_input> in, index s,
                                                       index e,
                                                       int threads = parallel::current_threads()) {
  index t_total = 0, t_max = 0;
  for (const auto& x : in) {
    t_total += x.tokens;
    t_max = std::max(t_max, x.tokens);
  }
  const auto pad = [](index v) { return (v + 23) / 24 * 24 + 24; };  // any ISA's tile_m
  const index apack = std::max(pad(s) * t_total, pad(t_max + 24) * std::max<index>(s, 1)) * 2;
  const index per_thread = std::max<index>(t_max, s) * ((e + 15) / 16 * 16) + 16;
  const index gemm = gemm_workspace_size(std::max<index>(t_max, 1), threads);
  const index align_slack = 16 * (static_cast<index>(in.size()) + 2);
  return std::max(apack + per_thread * std::max(threads, 1), gemm) + align_slack;
}

namespace detail {

inline void token_check(std::span<const token_input> in, index e, index ldw) {
  expects(static_cast<index>(in.size()) <= fc_max_segments, "token_linear: at most 64 sources");
  expects(e >= 0, "token_linear: width e >= 0");
  for (const auto& x : in) {
    expects(x.tokens >= 0 && x.w_col_begin >= 0 && x.w_col_begin + x.tokens <= ldw,
            "token_linear: source tokens inside the weight's leading dimension");
    expects(x.tokens == 0 || x.token_stride >= e, "token_linear: token_stride >= e");
  }
}

inline float* align64(float* p) {
  const auto mis = reinterpret_cast<std::uintptr_t>(p) % 64;
  return mis == 0 ? p : p + (64 - mis) / sizeof(float);
}

/// Runs a batched problem over examples on the current threads.
inline void run_batched(const batched_gemm& pb, index batch, float* thread_ws, index per_thread) {
  const auto& t = simd::dispatcher<token_linear_table>::get();
  double k = 0;
  for (int i = 0; i < pb.nseg; ++i) k += static_cast<double>(pb.segs[i].k);
  const double flops =
      2.0 * static_cast<double>(pb.m * pb.n) * std::max(k, 1.0) * static_cast<double>(batch);
  const index chunks = std::clamp<index>(
      std::min<index>(parallel::current_threads(), static_cast<index>(flops / 2e6)), 1, batch);
  parallel::for_chunks(chunks, chunks, [&](index c0, index c1) {
    for (index c = c0; c < c1; ++c) {
      t.batched_range(pb, batch * c / chunks, batch * (c + 1) / chunks,
                      align64(thread_ws + c * per_thread));
    }
  });
}

}  // namespace detail

/// Y[:, 0:s, :] (+)= W[0:s, cols] . X per example (see the header comment).
inline void token_linear_forward(std::span<const token_input> in, index batch, index e,
                                 const float* w, index ldw, index s, token_output out,
                                 bool accumulate, std::span<float> workspace) {
  detail::token_check(in, e, ldw);
  if (batch <= 0 || s <= 0 || e <= 0) return;
  const auto& t = simd::dispatcher<token_linear_table>::get();
  std::array<detail::batched_segment, fc_max_segments> segs{};
  float* p = detail::align64(workspace.data());
  float* const end = workspace.data() + workspace.size();
  int n = 0;
  index t_max = 0;
  for (const auto& x : in) {
    if (x.tokens == 0) continue;
    const detail::operand_group g{w + x.w_col_begin, ldw, 1, x.tokens, 1, 0};
    const index sz = t.packed_a_size(s, x.tokens);
    expects(p + sz <= end, "token_linear_forward: workspace too small");
    t.pack_a(detail::operand{&g, 1}, s, x.tokens, p);
    segs[n++] = {p, x.tokens, x.x, x.batch_stride, x.token_stride};
    p = detail::align64(p + sz);
    t_max = std::max(t_max, x.tokens);
  }
  const index per_thread = t_max * ((e + 15) / 16 * 16) + 16;
  const int threads = parallel::current_threads();
  expects(p + per_thread * threads <= end, "token_linear_forward: workspace too small");
  detail::batched_gemm pb{s,         e, segs.data(), n, out.y, out.batch_stride, out.token_stride,
                          accumulate};
  detail::run_batched(pb, batch, p, per_thread);
}

/// dX_s (+)= W[0:s, cols_s]^T . dY per example, for sources whose grad.dx is not null.
inline void token_linear_backward_data(std::span<const token_input> in,
                                       std::span<const token_input_grad> grad, index batch, index e,
                                       const float* w, index ldw, index s, token_output dy,
                                       std::span<float> workspace) {
  detail::token_check(in, e, ldw);
  expects(grad.size() == in.size(), "token_linear_backward_data: one grad per source");
  if (batch <= 0 || e <= 0) return;
  const auto& t = simd::dispatcher<token_linear_table>::get();
  float* base = detail::align64(workspace.data());
  float* const end = workspace.data() + workspace.size();
  for (std::size_t i = 0; i < in.size(); ++i) {
    const auto& x = in[i];
    if (grad[i].dx == nullptr || x.tokens == 0) continue;
    // A = W[0:s, cols]^T: element (t, i) = w[i * ldw + col + t].
    const detail::operand_group g{w + x.w_col_begin, 1, ldw, s, 1, 0};
    const index sz = t.packed_a_size(x.tokens, s);
    expects(base + sz <= end, "token_linear_backward_data: workspace too small");
    t.pack_a(detail::operand{&g, 1}, x.tokens, s, base);
    const detail::batched_segment seg{base, s, dy.y, dy.batch_stride, dy.token_stride};
    float* thread_ws = detail::align64(base + sz);
    const index per_thread = s * ((e + 15) / 16 * 16) + 16;
    expects(thread_ws + per_thread * parallel::current_threads() <= end,
            "token_linear_backward_data: workspace too small");
    detail::batched_gemm pb{x.tokens,
                            e,
                            &seg,
                            s > 0 ? 1 : 0,
                            grad[i].dx,
                            grad[i].batch_stride,
                            grad[i].token_stride,
                            grad[i].accumulate};
    detail::run_batched(pb, batch, thread_ws, per_thread);
  }
}

/// dW[0:s, cols_s] += sum over examples and channels of dY[b, i, :] . X_s[b, t, :].
inline void token_linear_backward_weight(std::span<const token_input> in, index batch, index e,
                                         index s, token_output dy, float* dw, index ldw,
                                         std::span<float> workspace) {
  detail::token_check(in, e, ldw);
  if (s <= 0) return;
  for (const auto& x : in) {
    if (x.tokens == 0) continue;
    const detail::operand_group a{dy.y, dy.token_stride, 1, e, batch, dy.batch_stride};
    const detail::operand_group b{x.x, 1, x.token_stride, e, batch, x.batch_stride};
    detail::gemm_problem pb;
    pb.m = s;
    pb.n = x.tokens;
    pb.k = batch * e;
    pb.a = {&a, 1};
    pb.b = {&b, 1};
    pb.c = dw + x.w_col_begin;
    pb.ldc = ldw;
    pb.accumulate = true;
    detail::run_gemm(pb, workspace);
  }
}

// ---------------------------------------------------------------- references (double sums)

inline void token_linear_forward_ref(std::span<const token_input> in, index batch, index e,
                                     const float* w, index ldw, index s, token_output out,
                                     bool accumulate) {
  for (index b = 0; b < batch; ++b) {
    for (index i = 0; i < s; ++i) {
      for (index c = 0; c < e; ++c) {
        float* y = out.y + b * out.batch_stride + i * out.token_stride + c;
        double acc = accumulate ? *y : 0.0;
        for (const auto& x : in) {
          for (index t = 0; t < x.tokens; ++t) {
            acc += static_cast<double>(w[i * ldw + x.w_col_begin + t]) *
                   x.x[b * x.batch_stride + t * x.token_stride + c];
          }
        }
        *y = static_cast<float>(acc);
      }
    }
  }
}

inline void token_linear_backward_data_ref(std::span<const token_input> in,
                                           std::span<const token_input_grad> grad, index batch,
                                           index e, const float* w, index ldw, index s,
                                           token_output dy) {
  for (std::size_t k = 0; k < in.size(); ++k) {
    if (grad[k].dx == nullptr) continue;
    for (index b = 0; b < batch; ++b) {
      for (index t = 0; t < in[k].tokens; ++t) {
        for (index c = 0; c < e; ++c) {
          float* d = grad[k].dx + b * grad[k].batch_stride + t * grad[k].token_stride + c;
          double acc = grad[k].accumulate ? *d : 0.0;
          for (index i = 0; i < s; ++i) {
            acc += static_cast<double>(w[i * ldw + in[k].w_col_begin + t]) *
                   dy.y[b * dy.batch_stride + i * dy.token_stride + c];
          }
          *d = static_cast<float>(acc);
        }
      }
    }
  }
}

inline void token_linear_backward_weight_ref(std::span<const token_input> in, index batch, index e,
                                             index s, token_output dy, float* dw, index ldw) {
  for (const auto& x : in) {
    for (index i = 0; i < s; ++i) {
      for (index t = 0; t < x.tokens; ++t) {
        double acc = dw[i * ldw + x.w_col_begin + t];
        for (index b = 0; b < batch; ++b) {
          for (index c = 0; c < e; ++c) {
            acc += static_cast<double>(dy.y[b * dy.batch_stride + i * dy.token_stride + c]) *
                   x.x[b * x.batch_stride + t * x.token_stride + c];
          }
        }
        dw[i * ldw + x.w_col_begin + t] = static_cast<float>(acc);
      }
    }
  }
}

#endif  // RECNAS_ISA_TRANSLATION_UNIT
}  // namespace recnas::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
