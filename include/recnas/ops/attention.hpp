#pragma once
// Attention (reference `transformer`): token projection T -> s (+LN over s), then one
// post-norm transformer layer on the s projected tokens: 8-head self-attention with E = 16
// (head dim 2, biases on, no positional encoding, no mask), residual + LayerNorm(16),
// FFN 16 -> 16 -> 16 with ReLU, residual + LayerNorm(16). Both inner LayerNorms always exist,
// with gamma initialised to 0.17 (the reference's LN_INIT).
//
// recnas runs attention over the s active tokens only; the reference's supernet lets the
// masked (zero) tokens take part as keys and values.

#include <array>
#include <cmath>
#include <limits>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "recnas/kernels/attention.hpp"
#include "recnas/kernels/elementwise.hpp"
#include "recnas/kernels/gemm.hpp"
#include "recnas/ops/concepts.hpp"
#include "recnas/ops/detail/math.hpp"

namespace recnas::ops {

struct attention {
  static constexpr std::string_view name = "attention";
  static constexpr policy_kind kind = policy_kind::sparse_operator;
  static constexpr reads inputs = reads::sparse;
  static constexpr index heads = 8;
  static constexpr index head_dim = embed_dim / heads;
  static constexpr double ln_init = 0.17;

  enum slot : index { Wt, bt, gt, bet, Win, bin, Wo, bo, g1, b1n, W1, b1, W2, b2, g2, b2n, count };

  static void declare(const op_shape& s, param_declarer& d) {
    constexpr index E = embed_dim;
    d.matrix("tokens.W", s.s, s.in_tokens, cols_kind::token_in);
    d.bias_or_layernorm("tokens", s.s, s.in_tokens, s.layernorm);
    d.matrix("in_proj.W", 3 * E, E);
    d.bias("in_proj.b", 3 * E, E);
    d.matrix("out_proj.W", E, E);
    d.bias("out_proj.b", E, E);
    d.constant("ln1_g", E, ln_init);
    d.constant("ln1_b", E, 0.0);
    d.matrix("ffn1.W", E, E);
    d.bias("ffn1.b", E, E);
    d.matrix("ffn2.W", E, E);
    d.bias("ffn2.b", E, E);
    d.constant("ln2_g", E, ln_init);
    d.constant("ln2_b", E, 0.0);
  }
  static void work(const op_shape& s, work_graph& w) {
    constexpr index E = embed_dim;
    const index t = s.s;
    const index scores = heads * t * t;
    using wk = work_kind;
    work_value tp = w.add(work_step::product(wk::efc, "att_tproj", t, s.in_tokens, E));
    if (s.layernorm) tp = w.add(work_step::layernorm("att_tproj.ln", 1, t * E));
    const work_value qkv = w.add(work_step::product(wk::attention_projection, "qkv", 3 * E, E, t));
    w.add(work_step::activation_product(wk::attention_scores, "qk", t, E, t)
              .elems(2 * t * E, scores));
    const work_value sm = w.add(work_step::softmax("softmax", scores));
    const work_value av = w.add(work_step::activation_product(wk::attention_values, "av", t, E, t)
                                    .elems(scores + t * E, t * E),
                                {sm, qkv});
    const work_value o = w.add(work_step::product(wk::attention_projection, "o", E, E, t), {av});
    const work_value ln1 = w.add(work_step::layernorm("ln1", t, E), {o, tp});
    w.add(work_step::product(wk::attention_projection, "ffn1", E, E, t), {ln1});
    const work_value f2 = w.add(work_step::product(wk::attention_projection, "ffn2", E, E, t));
    w.add(work_step::layernorm("ln2", t, E), {f2, ln1});
  }

  template <class T>
  using mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

  // The token-wise layers (in-projection, out-projection, FFN) run as one product over all
  // B*s tokens, the LayerNorm(16)s over all B*s rows and the softmax attention core per example;
  // all three through recnas::kernels for float (the double path keeps the scalar code).

  /// Floats of the attention-core tape: the kernel keeps one log-sum-exp per query and head
  /// (float), the scalar path the full probabilities (double).
  template <class T>
  static index core_tape_size(index B, index s) {
    if constexpr (detail::use_kernels<T>) {
      return kernels::attention_probs_size(B, s, heads);
    } else {
      return B * heads * s * s;
    }
  }
  /// Part 0, 1, 2 (Q, K, V or their gradients) of a [B, s, 3E] projection buffer.
  template <class T>
  static token_view<T> qkv_part(T* qkv, index B, index s, index part) {
    constexpr index E = embed_dim;
    return token_view<T>(qkv + part * E, B, s, E, s * 3 * E, 3 * E);
  }
  template <class T>
  static kernels::attention_io qkv_io(const T* qkv, index B, index s) {
    return {qkv_part(qkv, B, s, 0), qkv_part(qkv, B, s, 1), qkv_part(qkv, B, s, 2)};
  }

  template <class T>
  static void token_linear(index rows, const T* x, const ops::param_ref<T>& W,
                           const ops::param_ref<T>& b, index n, T* y) {
    const std::array<dense_seg<T>, 1> xs{dense_seg<T>{x, nullptr, W.cols, W.cols, 0}};
    detail::linear_forward<T>(rows, xs, W.w, W.cols, b.w, n, y, n);
  }
  template <class T>
  static void token_linear_backward(index rows, const T* x, T* dx, const ops::param_ref<T>& W,
                                    const ops::param_ref<T>& b, index n, const T* dy) {
    const std::array<dense_seg<T>, 1> xs{dense_seg<T>{x, dx, W.cols, W.cols, 0}};
    detail::linear_backward<T>(rows, xs, W.w, W.g, W.cols, b.g, n, dy, n);
  }

  // ---- float (training): recnas::kernels with fused steps ----------------------------------
  // Same math as the generic path below, without its separate passes: LayerNorms read the
  // residual sums in place of a copy (the sums are what their backward needs), ReLU is fused
  // into FFN1 and its backward, input gradients are written rather than zeroed and then
  // accumulated, the LN2 and LN1 backward write straight into the next gradient buffer, and
  // the FFN1 input gradient accumulates into the LN2 gradient's buffer (the residual).

  /// Y[R, n] = act(X[R, E] W^T + b) over all R = B s tokens.
  static void token_fc(index rows, const float* x, const param_ref<float>& W,
                       const param_ref<float>& b, index n, kernels::activation act, float* y) {
    const std::array<kernels::fc_input, 1> in{kernels::fc_input{x, W.cols, 0, W.cols}};
    kernels::fc_forward(in, rows, W.w, W.cols, b.w, n, act, y, n,
                        detail::kernel_workspace(kernels::fc_workspace_size(rows, n, W.cols)));
  }
  /// Backward of token_fc: dX (+)= dZ W, dW += dZ^T X, db += colsum dZ, dZ = dY * act'(Y).
  static void token_fc_backward(index rows, const float* x, float* dx, bool accumulate,
                                const param_ref<float>& W, const param_ref<float>& b, index n,
                                kernels::activation act, const float* y, const float* dy) {
    const std::array<kernels::fc_input, 1> in{kernels::fc_input{x, W.cols, 0, W.cols}};
    const std::array<kernels::fc_input_grad, 1> gr{kernels::fc_input_grad{dx, W.cols, accumulate}};
    kernels::fc_backward(in, gr, rows, y, n, dy, n, W.w, W.cols, n, act, W.g, b.g,
                         detail::kernel_workspace(kernels::fc_workspace_size(rows, n, W.cols)));
  }

  static void forward_float(const op_io<float>& io, tape<float>& t, float* y, index ybs) {
    constexpr index E = embed_dim;
    constexpr float eps = 1e-5f;
    const index B = io.batch, s = io.shape.s, R = B * s;
    const auto& P = io.params;
    auto& A = *io.scratch;
    float* x0 = A.alloc(R * E);
    detail::token_projection_forward(io, Wt, s, false, x0, s * E, t, 0);
    float* qkv = A.alloc(R * 3 * E);
    float* att = A.alloc(core_tape_size<float>(B, s));
    float* o = A.alloc(R * E);
    float* r1 = A.alloc(R * E);  // X0 + O Wo^T + bo: LN1's input
    float* n1 = A.alloc(R * E);
    float* h1 = A.alloc(R * E);
    float* r2 = A.alloc(R * E);   // N1 + H W2^T + b2: LN2's input
    float* st1 = A.alloc(2 * R);  // mean, rstd
    float* st2 = A.alloc(2 * R);
    token_fc(R, x0, P[Win], P[bin], 3 * E, kernels::activation::none, qkv);
    kernels::attention_forward(
        qkv_io(qkv, B, s), heads, token_view<float>(o, B, s, E),
        std::span<float>(att, static_cast<std::size_t>(core_tape_size<float>(B, s))),
        detail::kernel_workspace(kernels::attention_workspace_size(s, E, heads)));
    token_fc(R, o, P[Wo], P[bo], E, kernels::activation::none, r1);
    kernels::axpy(R, E, 1.0f, x0, E, r1, E);
    kernels::layer_norm(R, E, r1, E, P[g1].w, P[b1n].w, eps, n1, E, st1, st1 + R);
    token_fc(R, n1, P[W1], P[b1], E, kernels::activation::relu, h1);
    token_fc(R, h1, P[W2], P[b2], E, kernels::activation::none, r2);
    kernels::axpy(R, E, 1.0f, n1, E, r2, E);
    if (ybs == s * E) {  // no merger tokens after the s tokens: y is [R, E]
      kernels::layer_norm(R, E, r2, E, P[g2].w, P[b2n].w, eps, y, E, st2, st2 + R);
    } else {
      float* f = A.alloc(R * E);
      kernels::layer_norm(R, E, r2, E, P[g2].w, P[b2n].w, eps, f, E, st2, st2 + R);
      for (index b = 0; b < B; ++b) std::copy(f + b * s * E, f + (b + 1) * s * E, y + b * ybs);
    }
    t.p[2] = x0;
    t.p[3] = qkv;
    t.p[4] = att;
    t.p[5] = o;
    t.p[6] = n1;
    t.p[7] = h1;
    t.p[8] = r1;
    t.p[9] = st1;
    t.p[10] = r2;
    t.p[11] = st2;
  }

  static void backward_float(const op_io<float>& io, const tape<float>& t, const float* dy,
                             index ybs) {
    constexpr index E = embed_dim;
    constexpr auto none = kernels::activation::none;
    const index B = io.batch, s = io.shape.s, R = B * s;
    const auto& P = io.params;
    auto& A = *io.scratch;
    const float *x0 = t.p[2], *qkv = t.p[3], *att = t.p[4], *o = t.p[5], *n1 = t.p[6], *h1 = t.p[7],
                *r1 = t.p[8], *st1 = t.p[9], *r2 = t.p[10], *st2 = t.p[11];
    const float* dyc = dy;  // dY as [R, E]
    if (ybs != s * E) {
      float* c = A.alloc(R * E);
      for (index b = 0; b < B; ++b) std::copy(dy + b * ybs, dy + b * ybs + s * E, c + b * s * E);
      dyc = c;
    }
    // dR2 = LN2'(dY); the same buffer then accumulates dN1 = dR2 + dZ1 W1 (residual).
    float* dr2 = A.alloc(R * E);
    kernels::layer_norm_backward(R, E, r2, E, dyc, E, P[g2].w, st2, st2 + R, dr2, E, false, P[g2].g,
                                 P[b2n].g);
    float* dh = A.alloc(R * E);
    token_fc_backward(R, h1, dh, false, P[W2], P[b2], E, none, nullptr, dr2);
    token_fc_backward(R, n1, dr2, true, P[W1], P[b1], E, kernels::activation::relu, h1, dh);
    // dR1 = LN1'(dN1) is also dX0's first term (residual).
    float* dx0 = A.alloc(R * E);
    kernels::layer_norm_backward(R, E, r1, E, dr2, E, P[g1].w, st1, st1 + R, dx0, E, false, P[g1].g,
                                 P[b1n].g);
    float* dout = A.alloc(R * E);
    token_fc_backward(R, o, dout, false, P[Wo], P[bo], E, none, nullptr, dx0);
    float* dqkv = A.alloc(R * 3 * E);
    kernels::attention_backward(
        qkv_io(qkv, B, s), heads,
        std::span<const float>(att, static_cast<std::size_t>(core_tape_size<float>(B, s))),
        token_view<const float>(dout, B, s, E), qkv_part(dqkv, B, s, 0), qkv_part(dqkv, B, s, 1),
        qkv_part(dqkv, B, s, 2), false,
        detail::kernel_workspace(kernels::attention_workspace_size(s, E, heads)));
    token_fc_backward(R, x0, dx0, true, P[Win], P[bin], 3 * E, none, nullptr, dqkv);
    detail::token_projection_backward(io, Wt, s, false, dx0, s * E, t, 0);
  }

  template <class T>
  static void forward(const op_io<T>& io, tape<T>& t, T* y, index ybs) {
    if constexpr (detail::use_kernels<T>) {
      forward_float(io, t, y, ybs);
    } else {
      forward_generic(io, t, y, ybs);
    }
  }
  template <class T>
  static void backward(const op_io<T>& io, const tape<T>& t, const T* dy, index ybs) {
    if constexpr (detail::use_kernels<T>) {
      backward_float(io, t, dy, ybs);
    } else {
      backward_generic(io, t, dy, ybs);
    }
  }

  // ---- generic (double, gradient checks): Eigen and scalar loops ------------------------------
  template <class T>
  static void forward_generic(const op_io<T>& io, tape<T>& t, T* y, index ybs) {
    constexpr index E = embed_dim;
    const index B = io.batch, s = io.shape.s, R = B * s;
    const auto& P = io.params;
    T* x0 = io.scratch->alloc(R * E);
    detail::token_projection_forward(io, Wt, s, false, x0, s * E, t, 0);
    T* qkv = io.scratch->alloc(R * 3 * E);
    T* att = io.scratch->alloc(core_tape_size<T>(B, s));
    T* o = io.scratch->alloc(R * E);
    T* n1 = io.scratch->alloc(R * E);
    T* h1 = io.scratch->alloc(R * E);
    T* f = io.scratch->alloc(R * E);
    T* xh1 = io.scratch->alloc(R * E);
    T* rs1 = io.scratch->alloc(2 * R);
    T* xh2 = io.scratch->alloc(R * E);
    T* rs2 = io.scratch->alloc(2 * R);
    token_linear(R, x0, P[Win], P[bin], 3 * E, qkv);
    {
      const T scale = T(1) / std::sqrt(T(head_dim));
      parallel::parallel_rows(B, static_cast<double>(B * s * s * 8 * E), [&](index b0, index b1_) {
        std::vector<T> kv(static_cast<std::size_t>(4 * s));
        for (index b = b0; b < b1_; ++b) {
          const auto QKV = detail::cm(qkv + b * s * 3 * E, s, 3 * E, 3 * E);
          auto O = detail::mm(o + b * s * E, s, E, E);
          // Heads of dimension 2: plain loops over contiguous copies of K_h and V_h columns.
          for (index h = 0; h < heads; ++h) {
            for (index c = 0; c < s; ++c) {
              kv[static_cast<std::size_t>(c)] = QKV(c, E + h * head_dim);
              kv[static_cast<std::size_t>(s + c)] = QKV(c, E + h * head_dim + 1);
              kv[static_cast<std::size_t>(2 * s + c)] = QKV(c, 2 * E + h * head_dim);
              kv[static_cast<std::size_t>(3 * s + c)] = QKV(c, 2 * E + h * head_dim + 1);
            }
            const T* k0 = kv.data();
            const T* k1 = k0 + s;
            const T* v0 = k0 + 2 * s;
            const T* v1 = k0 + 3 * s;
            for (index r = 0; r < s; ++r) {
              const T q0 = QKV(r, h * head_dim) * scale, q1 = QKV(r, h * head_dim + 1) * scale;
              T* row = att + ((b * heads + h) * s + r) * s;
              T mx = -std::numeric_limits<T>::infinity();
              for (index c = 0; c < s; ++c) {
                row[c] = q0 * k0[c] + q1 * k1[c];
                mx = std::max(mx, row[c]);
              }
              T sum = 0;
              for (index c = 0; c < s; ++c) {
                row[c] = std::exp(row[c] - mx);
                sum += row[c];
              }
              const T inv = T(1) / sum;
              T o0 = 0, o1 = 0;
              for (index c = 0; c < s; ++c) {
                row[c] *= inv;
                o0 += row[c] * v0[c];
                o1 += row[c] * v1[c];
              }
              O(r, h * head_dim) = o0;
              O(r, h * head_dim + 1) = o1;
            }
          }
        }
      });
    }
    // N1 = LN1(X0 + O Wo^T + bo)
    token_linear(R, o, P[Wo], P[bo], E, n1);
    for (index i = 0; i < R * E; ++i) n1[i] += x0[i];
    detail::layernorm_rows_forward(n1, R, E, E, P[g1].w, P[b1n].w, xh1, rs1);
    // H = ReLU(N1 W1^T + b1); Y = LN2(N1 + H W2^T + b2)
    token_linear(R, n1, P[W1], P[b1], E, h1);
    for (index i = 0; i < R * E; ++i) h1[i] = std::max(h1[i], T(0));
    token_linear(R, h1, P[W2], P[b2], E, f);
    for (index i = 0; i < R * E; ++i) f[i] += n1[i];
    detail::layernorm_rows_forward(f, R, E, E, P[g2].w, P[b2n].w, xh2, rs2);
    for (index b = 0; b < B; ++b) std::copy(f + b * s * E, f + (b + 1) * s * E, y + b * ybs);
    t.p[2] = x0;
    t.p[3] = qkv;
    t.p[4] = att;
    t.p[5] = o;
    t.p[6] = n1;
    t.p[7] = h1;
    t.p[8] = xh1;
    t.p[9] = rs1;
    t.p[10] = xh2;
    t.p[11] = rs2;
  }

  template <class T>
  static void backward_generic(const op_io<T>& io, const tape<T>& t, const T* dy, index ybs) {
    constexpr index E = embed_dim;
    const index B = io.batch, s = io.shape.s, R = B * s;
    const auto& P = io.params;
    // dR2 = LN2'(dY)
    T* dr2 = io.scratch->alloc(R * E);
    for (index b = 0; b < B; ++b) std::copy(dy + b * ybs, dy + b * ybs + s * E, dr2 + b * s * E);
    detail::layernorm_rows_backward(dr2, R, E, E, P[g2].w, t.p[10], t.p[11], P[g2].g, P[b2n].g);
    // FFN: dH = (dR2 W2) * [H > 0]; dN1 = dR2 + dH W1
    T* dh = io.scratch->zeros(R * E);
    token_linear_backward(R, t.p[7], dh, P[W2], P[b2], E, dr2);
    for (index i = 0; i < R * E; ++i) {
      if (!(t.p[7][i] > T(0))) dh[i] = T(0);
    }
    T* dn1 = io.scratch->alloc(R * E);
    std::copy(dr2, dr2 + R * E, dn1);
    token_linear_backward(R, t.p[6], dn1, P[W1], P[b1], E, dh);
    detail::layernorm_rows_backward(dn1, R, E, E, P[g1].w, t.p[8], t.p[9], P[g1].g, P[b1n].g);
    // R1 = X0 + O Wo^T + bo: dX0 = dR1, dO = dR1 Wo
    T* dx0 = io.scratch->alloc(R * E);
    std::copy(dn1, dn1 + R * E, dx0);
    T* dout = io.scratch->zeros(R * E);
    token_linear_backward(R, t.p[5], dout, P[Wo], P[bo], E, dn1);
    // Attention heads, per example.
    T* dqkv = io.scratch->alloc(R * 3 * E);
    {
      const T scale = T(1) / std::sqrt(T(head_dim));
      parallel::parallel_rows(B, static_cast<double>(B * s * s * 8 * E), [&](index b0, index b1_) {
        mat<T> dA(s, s);
        for (index b = b0; b < b1_; ++b) {
          const auto QKV = detail::cm(t.p[3] + b * s * 3 * E, s, 3 * E, 3 * E);
          const auto dO = detail::cm(dout + b * s * E, s, E, E);
          auto dQKV = detail::mm(dqkv + b * s * 3 * E, s, 3 * E, 3 * E);
          for (index h = 0; h < heads; ++h) {
            const auto A = detail::cm(t.p[4] + (b * heads + h) * s * s, s, s, s);
            const auto Qh = QKV.middleCols(h * head_dim, head_dim);
            const auto Kh = QKV.middleCols(E + h * head_dim, head_dim);
            const auto Vh = QKV.middleCols(2 * E + h * head_dim, head_dim);
            const auto dOh = dO.middleCols(h * head_dim, head_dim);
            dQKV.middleCols(2 * E + h * head_dim, head_dim).noalias() = A.transpose() * dOh;
            dA.noalias() = dOh * Vh.transpose();
            for (index r = 0; r < s; ++r) {
              const T dot = dA.row(r).dot(A.row(r));
              dA.row(r) = A.row(r).cwiseProduct((dA.row(r).array() - dot).matrix());
            }
            dQKV.middleCols(h * head_dim, head_dim).noalias() = dA * Kh * scale;
            dQKV.middleCols(E + h * head_dim, head_dim).noalias() = dA.transpose() * Qh * scale;
          }
        }
      });
    }
    token_linear_backward(R, t.p[2], dx0, P[Win], P[bin], 3 * E, dqkv);
    detail::token_projection_backward(io, Wt, s, false, dx0, s * E, t, 0);
  }
};

}  // namespace recnas::ops
