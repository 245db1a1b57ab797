#pragma once
// Sigmoid-Gating (reference `sigmoid-gating`): with l, r zero-padded on the right to
// w = max(w_l, w_r): g = sigmoid(S l + b_S) (S square w x w, with bias), y = LN?(P(g * r)),
// P: w -> d always with bias, skipped when w == d. The self-linear is on the *left* operand
// and the gate multiplies the *right* one; the projection comes after the product.

#include <array>
#include <cmath>
#include <string_view>

#include "recnas/ops/concepts.hpp"
#include "recnas/ops/detail/padded_projection.hpp"
#include "recnas/ops/kit.hpp"

namespace recnas::ops {

struct sigmoid_gating {
  static constexpr std::string_view name = "sigmoid_gating";
  static constexpr policy_kind kind = policy_kind::dense_operator;
  static constexpr reads inputs = reads::left_right;

  static index width(const op_shape& s) { return detail::padded_width(s); }
  static bool skip(const op_shape& s) { return detail::padded_projection_skipped(s); }

  // Slots: S, S.b, then P, P.b, ln_g, ln_b (detail/padded_projection.hpp; P keeps its bias).
  static void declare(const op_shape& s, param_declarer& d) {
    const index w = width(s);
    d.matrix("S", w, w);
    d.bias("S.b", w, w);
    detail::declare_padded_projection(s, d, /*bias_with_layernorm=*/true);
  }
  static void work(const op_shape& s, work_graph& w) {
    const index wd = width(s);
    const work_value gate =
        w.add(work_step::product(work_kind::projection, "gate", wd, wd), {work_graph::left});
    w.add(work_step::gating("sg", wd), {gate, work_graph::right});
    detail::padded_projection_work(s, w, "sg_proj");
  }
  template <class T>
  struct saved {
    const T* gate;  // sigmoid(S pad(l) + b), [B, w]
    const T* h;     // gate * pad(r), [B, w]
    kit::projection_saved<T> proj;
  };
  template <class T>
  static void forward(const op_io<T>& io, tape<T>& t, T* y, index ldy) {
    auto& kept = t.template save<saved<T>>();
    const index B = io.batch, w = width(io.shape);
    // gate = sigmoid(l S^T + b): only the left operand's real columns contribute.
    T* gate = io.scratch->alloc(B * w);
    const std::array<dense_seg<T>, 1> ls{
        dense_seg<T>{io.left.x, nullptr, io.left.ld, io.left.width, 0}};
    kit::linear_forward<T>(B, ls, io.params[0].w, io.params[0].cols, io.params[1].w, w, gate, w);
    for (index i = 0; i < B * w; ++i) gate[i] = T(1) / (T(1) + std::exp(-gate[i]));
    T* h = io.scratch->zeros(B * w);  // g * pad(r)
    for (index b = 0; b < B; ++b) {
      for (index c = 0; c < io.right.width; ++c)
        h[b * w + c] = gate[b * w + c] * io.right.x[b * io.right.ld + c];
    }
    detail::padded_projection_forward(io, 2, h, y, ldy, kept.proj);
    kept.gate = gate;
    kept.h = h;
  }
  template <class T>
  static void backward(const op_io<T>& io, const tape<T>& t, const T* dy, index lddy) {
    const auto& kept = t.template saved<saved<T>>();
    const index B = io.batch, w = width(io.shape);
    const T* dh = detail::padded_projection_backward(io, 2, kept.h, dy, lddy, kept.proj);
    const T* gate = kept.gate;
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
    kit::linear_backward<T>(B, ls, io.params[0].w, io.params[0].g, io.params[0].cols,
                            io.params[1].g, w, dpre, w);
  }
};

}  // namespace recnas::ops
