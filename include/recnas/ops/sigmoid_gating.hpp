#pragma once
// Sigmoid-Gating (reference `sigmoid-gating`): with l, r zero-padded on the right to
// w = max(w_l, w_r): g = sigmoid(S l + b_S) (S square w x w, with bias), y = LN?(P(g * r)),
// P: w -> d always with bias, skipped when w == d. The self-linear is on the *left* operand
// and the gate multiplies the *right* one; the projection comes after the product.

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>

#include "recnas/ops/concepts.hpp"
#include "recnas/ops/detail/math.hpp"

namespace recnas::ops {

struct sigmoid_gating {
  static constexpr std::string_view name = "sigmoid_gating";
  static constexpr policy_kind kind = policy_kind::dense_operator;
  static constexpr reads inputs = reads::left_right;

  static index width(const op_shape& s) { return std::max(s.left_width, s.right_width); }
  static bool skip(const op_shape& s) { return !s.all_subshapes && width(s) == s.d; }

  static void declare(const op_shape& s, param_declarer& d) {
    const index w = width(s);
    const bool proj = !skip(s);
    d.matrix("S", w, w);
    d.bias("S.b", w, w);
    d.matrix("P", proj ? s.d : 0, w);
    d.bias("P.b", proj ? s.d : 0, w);
    d.constant("ln_g", s.layernorm ? s.d : 0, 1.0);
    d.constant("ln_b", s.layernorm ? s.d : 0, 0.0);
  }
  static void work(const op_shape& s, work_sink& w) {
    w.matmul("sg.self", width(s), width(s), 1);
    if (!skip(s)) w.matmul("sg.proj", s.d, width(s), 1);
    if (s.layernorm) w.layernorm(s.d);
  }
  template <class T>
  static void forward(const op_io<T>& io, tape<T>& t, T* y, index ldy) {
    const index B = io.batch, w = width(io.shape), n = io.shape.d;
    // gate = sigmoid(l S^T + b): only the left operand's real columns contribute.
    T* gate = io.scratch->alloc(B * w);
    const std::array<dense_seg<T>, 1> ls{
        dense_seg<T>{io.left.x, nullptr, io.left.ld, io.left.width, 0}};
    detail::linear_forward<T>(B, ls, io.params[0].w, io.params[0].cols, io.params[1].w, w, gate, w);
    for (index i = 0; i < B * w; ++i) gate[i] = T(1) / (T(1) + std::exp(-gate[i]));
    T* h = io.scratch->zeros(B * w);  // g * pad(r)
    for (index b = 0; b < B; ++b) {
      for (index c = 0; c < io.right.width; ++c)
        h[b * w + c] = gate[b * w + c] * io.right.x[b * io.right.ld + c];
    }
    if (skip(io.shape)) {
      detail::copy_block(h, w, y, ldy, B, n);
    } else {
      const std::array<dense_seg<T>, 1> hs{dense_seg<T>{h, nullptr, w, w, 0}};
      detail::linear_forward<T>(B, hs, io.params[2].w, io.params[2].cols, io.params[3].w, n, y,
                                ldy);
    }
    t.p[0] = gate;
    t.p[1] = h;
    if (io.shape.layernorm) {
      t.p[2] = io.scratch->alloc(B * n);
      t.p[3] = io.scratch->alloc(2 * B);
      detail::layernorm_rows_forward(y, B, n, ldy, io.params[4].w, io.params[5].w, t.p[2], t.p[3]);
    }
  }
  template <class T>
  static void backward(const op_io<T>& io, const tape<T>& t, const T* dy, index lddy) {
    const index B = io.batch, w = width(io.shape), n = io.shape.d;
    T* g = io.scratch->alloc(B * n);
    detail::copy_block(dy, lddy, g, n, B, n);
    if (io.shape.layernorm) {
      detail::layernorm_rows_backward(g, B, n, n, io.params[4].w, t.p[2], t.p[3], io.params[4].g,
                                      io.params[5].g);
    }
    T* dh = nullptr;
    if (skip(io.shape)) {
      dh = g;
    } else {
      dh = io.scratch->zeros(B * w);
      const std::array<dense_seg<T>, 1> hs{dense_seg<T>{t.p[1], dh, w, w, 0}};
      detail::linear_backward<T>(B, hs, io.params[2].w, io.params[2].g, io.params[2].cols,
                                 io.params[3].g, n, g, n);
    }
    const T* gate = t.p[0];
    T* dpre = io.scratch->zeros(B * w);  // gradient before the sigmoid
    for (index b = 0; b < B; ++b) {
      for (index c = 0; c < io.right.width; ++c) {
        const T gv = gate[b * w + c];
        const T d = dh[b * w + c];
        if (io.right.dx != nullptr) io.right.dx[b * io.right.ld + c] += d * gv;
        dpre[b * w + c] = d * io.right.x[b * io.right.ld + c] * gv * (T(1) - gv);
      }
    }
    const std::array<dense_seg<T>, 1> ls{
        dense_seg<T>{io.left.x, io.left.dx, io.left.ld, io.left.width, 0}};
    detail::linear_backward<T>(B, ls, io.params[0].w, io.params[0].g, io.params[0].cols,
                               io.params[1].g, w, dpre, w);
  }
};

}  // namespace recnas::ops
