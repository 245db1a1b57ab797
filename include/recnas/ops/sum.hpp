#pragma once
// Sum (reference `sum`): y = LN?(P(pad(l) + pad(r))) with zero padding on the right to
// w = max(w_l, w_r); the projection P (w -> d, bias unless LN follows) is skipped when w == d.

#include <string_view>

#include "recnas/ops/concepts.hpp"
#include "recnas/ops/detail/padded_projection.hpp"
#include "recnas/ops/kit.hpp"

namespace recnas::ops {

struct sum {
  static constexpr std::string_view name = "sum";
  static constexpr policy_kind kind = policy_kind::dense_operator;
  static constexpr reads inputs = reads::left_right;

  static index width(const op_shape& s) { return detail::padded_width(s); }
  static bool skip(const op_shape& s) { return detail::padded_projection_skipped(s); }

  // Slots: P, P.b, ln_g, ln_b (detail/padded_projection.hpp; P has no bias before a LN).
  static void declare(const op_shape& s, param_declarer& d) {
    detail::declare_padded_projection(s, d, /*bias_with_layernorm=*/false);
  }
  static void work(const op_shape& s, work_graph& w) {
    w.add(work_step::sum("sum", width(s)), {work_graph::left, work_graph::right});
    detail::padded_projection_work(s, w, "sum_proj");
  }
  template <class T>
  struct saved {
    const T* h;  // pad(l) + pad(r), [B, w]
    kit::projection_saved<T> proj;
  };
  template <class T>
  static void forward(const op_io<T>& io, tape<T>& t, T* y, index ldy) {
    auto& kept = t.template save<saved<T>>();
    const index B = io.batch, w = width(io.shape);
    T* h = io.scratch->zeros(B * w);  // pad(l) + pad(r)
    kit::add_block(io.left.x, io.left.ld, h, w, B, io.left.width);
    kit::add_block(io.right.x, io.right.ld, h, w, B, io.right.width);
    detail::padded_projection_forward(io, 0, h, y, ldy, kept.proj);
    kept.h = h;
  }
  template <class T>
  static void backward(const op_io<T>& io, const tape<T>& t, const T* dy, index lddy) {
    const auto& kept = t.template saved<saved<T>>();
    const index B = io.batch, w = width(io.shape);
    const T* dh = detail::padded_projection_backward(io, 0, kept.h, dy, lddy, kept.proj);
    if (io.left.dx != nullptr) kit::add_block(dh, w, io.left.dx, io.left.ld, B, io.left.width);
    if (io.right.dx != nullptr) kit::add_block(dh, w, io.right.dx, io.right.ld, B, io.right.width);
  }
};

}  // namespace recnas::ops
