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

#include "recnas/kernels/attention.hpp"
#include "recnas/kernels/elementwise.hpp"
#include "recnas/kernels/gemm.hpp"
#include "recnas/ops/concepts.hpp"
#include "recnas/ops/kit.hpp"

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

  // What backward re-reads; over all R = B*s tokens, x0, o, n1, h1, r1, r2 are [R, E].
  template <class T>
  struct saved {
    kit::projection_saved<T> token_proj;
    const T* x0;   // the s projected tokens: the transformer layer's input
    const T* qkv;  // [R, 3E]
    const T* att;  // the attention core's state (attention_core_size)
    const T* o;    // attention output, before Wo
    const T* n1;   // LN1's output
    const T* h1;   // ReLU(FFN1)
    const T* r1;   // x0 + O Wo^T + bo: LN1's input
    const T* st1;  // LN1's mean, rstd [2R]
    const T* r2;   // n1 + H W2^T + b2: LN2's input
    const T* st2;  // LN2's mean, rstd [2R]
  };

  // The token-wise layers (in-projection, out-projection, FFN) run as one product over all
  // B*s tokens, the LayerNorm(16)s over all B*s rows and the attention core per example, each
  // through one kit function (recnas::kernels for float, the reference loops for double).
  // LayerNorms read the residual sums in place of a copy (the sums are what their backward
  // needs), ReLU is fused into FFN1 and its backward, input gradients are written rather than
  // zeroed and then accumulated, and the FFN1 input gradient accumulates into the LN2
  // gradient's buffer (the residual).

  template <class T>
  static void forward(const op_io<T>& io, tape<T>& t, T* y, index ybs) {
    constexpr index E = embed_dim;
    constexpr auto none = kernels::activation::none;
    const index B = io.batch, s = io.shape.s, R = B * s;
    const auto& P = io.params;
    auto& A = *io.scratch;
    auto& kept = t.template save<saved<T>>();
    T* x0 = A.alloc(R * E);
    kit::token_projection_forward(io, Wt, s, false, x0, s * E, kept.token_proj);
    T* qkv = A.alloc(R * 3 * E);
    T* att = A.alloc(kit::attention_core_size<T>(B, s, heads));
    T* o = A.alloc(R * E);
    T* r1 = A.alloc(R * E);  // X0 + O Wo^T + bo: LN1's input
    T* n1 = A.alloc(R * E);
    T* h1 = A.alloc(R * E);
    T* r2 = A.alloc(R * E);   // N1 + H W2^T + b2: LN2's input
    T* st1 = A.alloc(2 * R);  // mean, rstd
    T* st2 = A.alloc(2 * R);
    kit::rows_linear_forward(R, x0, P[Win], P[bin], 3 * E, none, qkv);
    kit::attention_forward(qkv, B, s, heads, o, att);
    kit::rows_linear_forward(R, o, P[Wo], P[bo], E, none, r1);
    kit::axpy(R, E, T(1), x0, E, r1, E);
    kit::layer_norm(R, E, r1, E, P[g1].w, P[b1n].w, n1, E, st1, st1 + R);
    kit::rows_linear_forward(R, n1, P[W1], P[b1], E, kernels::activation::relu, h1);
    kit::rows_linear_forward(R, h1, P[W2], P[b2], E, none, r2);
    kit::axpy(R, E, T(1), n1, E, r2, E);
    if (ybs == s * E) {  // no merger tokens after the s tokens: y is [R, E]
      kit::layer_norm(R, E, r2, E, P[g2].w, P[b2n].w, y, E, st2, st2 + R);
    } else {
      T* f = A.alloc(R * E);
      kit::layer_norm(R, E, r2, E, P[g2].w, P[b2n].w, f, E, st2, st2 + R);
      for (index b = 0; b < B; ++b) std::copy(f + b * s * E, f + (b + 1) * s * E, y + b * ybs);
    }
    kept.x0 = x0;
    kept.qkv = qkv;
    kept.att = att;
    kept.o = o;
    kept.n1 = n1;
    kept.h1 = h1;
    kept.r1 = r1;
    kept.st1 = st1;
    kept.r2 = r2;
    kept.st2 = st2;
  }

  template <class T>
  static void backward(const op_io<T>& io, const tape<T>& t, const T* dy, index ybs) {
    constexpr index E = embed_dim;
    constexpr auto none = kernels::activation::none;
    const index B = io.batch, s = io.shape.s, R = B * s;
    const auto& P = io.params;
    auto& A = *io.scratch;
    const auto& kept = t.template saved<saved<T>>();
    const T *x0 = kept.x0, *qkv = kept.qkv, *att = kept.att, *o = kept.o, *n1 = kept.n1,
            *h1 = kept.h1, *r1 = kept.r1, *st1 = kept.st1, *r2 = kept.r2, *st2 = kept.st2;
    const T* dyc = dy;  // dY as [R, E]
    if (ybs != s * E) {
      T* c = A.alloc(R * E);
      for (index b = 0; b < B; ++b) std::copy(dy + b * ybs, dy + b * ybs + s * E, c + b * s * E);
      dyc = c;
    }
    // dR2 = LN2'(dY); the same buffer then accumulates dN1 = dR2 + dZ1 W1 (residual).
    T* dr2 = A.alloc(R * E);
    kit::layer_norm_backward(R, E, r2, E, dyc, E, P[g2].w, st2, st2 + R, dr2, E, false, P[g2].g,
                             P[b2n].g);
    T* dh = A.alloc(R * E);
    kit::rows_linear_backward(R, h1, dh, false, P[W2], P[b2], E, none,
                              static_cast<const T*>(nullptr), static_cast<const T*>(dr2));
    kit::rows_linear_backward(R, n1, dr2, true, P[W1], P[b1], E, kernels::activation::relu, h1,
                              static_cast<const T*>(dh));
    // dR1 = LN1'(dN1) is also dX0's first term (residual).
    T* dx0 = A.alloc(R * E);
    kit::layer_norm_backward(R, E, r1, E, static_cast<const T*>(dr2), E, P[g1].w, st1, st1 + R, dx0,
                             E, false, P[g1].g, P[b1n].g);
    T* dout = A.alloc(R * E);
    kit::rows_linear_backward(R, o, dout, false, P[Wo], P[bo], E, none,
                              static_cast<const T*>(nullptr), static_cast<const T*>(dx0));
    T* dqkv = A.alloc(R * 3 * E);
    kit::attention_backward(qkv, B, s, heads, att, static_cast<const T*>(dout), dqkv);
    kit::rows_linear_backward(R, x0, dx0, true, P[Win], P[bin], 3 * E, none,
                              static_cast<const T*>(nullptr), static_cast<const T*>(dqkv));
    kit::token_projection_backward(io, Wt, s, false, dx0, s * E, kept.token_proj);
  }
};

}  // namespace recnas::ops
