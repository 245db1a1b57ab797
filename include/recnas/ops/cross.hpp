#pragma once
// Cross (DCN-v2's full-rank cross layer, Wang et al. 2021): with x = l (the layer input) and
// x0 = r (the stem the cross network keeps multiplying by), both zero-padded on the right to
// w = max(w_l, w_r): c = x0 * (S x + b_S) + x (S square w x w, with bias), y = LN?(P c), P:
// w -> d (bias unless LayerNorm), skipped when w == d. A chain of cross blocks whose right
// operand is the same early block is DCN-v2's cross network x_{l+1} = x0 * (W x_l + b) + x_l.
// No activation: the residual keeps every lower-degree term of the polynomial.

#include <array>
#include <string_view>

#include "recnas/kernels/elementwise.hpp"
#include "recnas/ops/concepts.hpp"
#include "recnas/ops/detail/padded_projection.hpp"
#include "recnas/ops/kit.hpp"

namespace recnas::ops {

struct cross {
  static constexpr std::string_view name = "cross";
  static constexpr policy_kind kind = policy_kind::dense_operator;
  static constexpr reads inputs = reads::left_right;

  static index width(const op_shape& s) { return detail::padded_width(s); }
  static bool skip(const op_shape& s) { return detail::padded_projection_skipped(s); }

  // Slots: S, S.b, then P, P.b, ln_g, ln_b (detail/padded_projection.hpp; P.b only without LN).
  static void declare(const op_shape& s, param_declarer& d) {
    const index w = width(s);
    d.matrix("S", w, w);
    d.bias("S.b", w, w);
    detail::declare_padded_projection(s, d, /*bias_with_layernorm=*/false);
  }
  /// S x on the crossbars, then x0 * (.) and the residual + x on the digital units.
  static void work(const op_shape& s, work_graph& w) {
    const index wd = width(s);
    const work_value u =
        w.add(work_step::product(work_kind::projection, "cross_self", wd, wd), {work_graph::left});
    const work_value m = w.add(work_step::multiply("cross_mul", wd), {u, work_graph::right});
    w.add(work_step::sum("cross_add", wd), {m, work_graph::left});
    detail::padded_projection_work(s, w, "cross_proj");
  }

  template <class T>
  struct saved {
    const T* u;  // S pad(l) + b, [B, w]
    const T* c;  // pad(r) * u + pad(l), [B, w]
    kit::projection_saved<T> proj;
  };

  template <class T>
  static void forward(const op_io<T>& io, tape<T>& t, T* y, index ldy) {
    auto& kept = t.template save<saved<T>>();
    const index B = io.batch, w = width(io.shape);
    const index lw = io.left.width, rw = io.right.width;
    // u = S pad(l) + b: only the left operand's real columns contribute.
    T* u = io.scratch->alloc(B * w);
    const std::array<dense_seg<T>, 1> ls{dense_seg<T>{io.left.x, nullptr, io.left.ld, lw, 0}};
    kit::linear_forward<T>(B, ls, io.params[0].w, io.params[0].cols, io.params[1].w, w, u, w);
    T* c = io.scratch->zeros(B * w);  // pad(r) * u + pad(l)
    kit::multiply(B, rw, io.right.x, io.right.ld, static_cast<const T*>(u), w, c, w);
    kit::axpy(B, lw, T(1), io.left.x, io.left.ld, c, w);
    detail::padded_projection_forward(io, 2, c, y, ldy, kept.proj);
    kept.u = u;
    kept.c = c;
  }

  template <class T>
  static void backward(const op_io<T>& io, const tape<T>& t, const T* dy, index lddy) {
    const auto& kept = t.template saved<saved<T>>();
    const index B = io.batch, w = width(io.shape);
    const index lw = io.left.width, rw = io.right.width;
    const T* dc = detail::padded_projection_backward(io, 2, kept.c, dy, lddy, kept.proj);
    const T* u = kept.u;
    // du = dc * pad(r) (zero past r's width, so S.b and S see only what reached c).
    T* du = io.scratch->zeros(B * w);
    kit::multiply(B, rw, dc, w, io.right.x, io.right.ld, du, w);
    if (io.right.dx != nullptr) {
      kit::multiply_backward(B, rw, io.right.x, io.right.ld, u, w, dc, w, io.right.dx, io.right.ld,
                             static_cast<T*>(nullptr), 0, /*accumulate=*/true);
    }
    if (io.left.dx != nullptr) kit::axpy(B, lw, T(1), dc, w, io.left.dx, io.left.ld);
    const std::array<dense_seg<T>, 1> ls{dense_seg<T>{io.left.x, io.left.dx, io.left.ld, lw, 0}};
    kit::linear_backward<T>(B, ls, io.params[0].w, io.params[0].g, io.params[0].cols,
                            io.params[1].g, w, du, w);
  }
};

}  // namespace recnas::ops
