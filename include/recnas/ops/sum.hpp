#pragma once
// Sum (reference `sum`): y = LN?(P(pad(l) + pad(r))) with zero padding on the right to
// w = max(w_l, w_r); the projection P (w -> d, bias unless LN follows) is skipped when w == d.

#include <algorithm>
#include <array>
#include <string_view>

#include "recnas/ops/concepts.hpp"
#include "recnas/ops/detail/math.hpp"

namespace recnas::ops {

struct sum {
  static constexpr std::string_view name = "sum";
  static constexpr policy_kind kind = policy_kind::dense_operator;
  static constexpr reads inputs = reads::left_right;

  static index width(const op_shape& s) { return std::max(s.left_width, s.right_width); }
  static bool skip(const op_shape& s) { return !s.all_subshapes && width(s) == s.d; }

  static void declare(const op_shape& s, param_declarer& d) {
    const index w = width(s);
    const bool proj = !skip(s);
    d.matrix("P", proj ? s.d : 0, w);
    d.bias("P.b", proj && !s.layernorm ? s.d : 0, w);
    d.constant("ln_g", s.layernorm ? s.d : 0, 1.0);
    d.constant("ln_b", s.layernorm ? s.d : 0, 0.0);
  }
  static void work(const op_shape& s, work_sink& w) {
    if (!skip(s)) w.matmul("sum.proj", s.d, width(s), 1);
    if (s.layernorm) w.layernorm(s.d);
  }
  template <class T>
  static void forward(const op_io<T>& io, tape<T>& t, T* y, index ldy) {
    const index B = io.batch, w = width(io.shape), n = io.shape.d;
    T* h = io.scratch->zeros(B * w);
    detail::add_block(io.left.x, io.left.ld, h, w, B, io.left.width);
    detail::add_block(io.right.x, io.right.ld, h, w, B, io.right.width);
    if (skip(io.shape)) {
      detail::copy_block(h, w, y, ldy, B, n);
    } else {
      const std::array<dense_seg<T>, 1> xs{dense_seg<T>{h, nullptr, w, w, 0}};
      const auto& b = io.params[1];
      detail::linear_forward<T>(B, xs, io.params[0].w, io.params[0].cols,
                                b.present() ? b.w : nullptr, n, y, ldy);
    }
    t.p[0] = h;
    if (io.shape.layernorm) {
      t.p[1] = io.scratch->alloc(B * n);
      t.p[2] = io.scratch->alloc(2 * B);
      detail::layernorm_rows_forward(y, B, n, ldy, io.params[2].w, io.params[3].w, t.p[1], t.p[2]);
    }
  }
  template <class T>
  static void backward(const op_io<T>& io, const tape<T>& t, const T* dy, index lddy) {
    const index B = io.batch, w = width(io.shape), n = io.shape.d;
    T* g = io.scratch->alloc(B * n);
    detail::copy_block(dy, lddy, g, n, B, n);
    if (io.shape.layernorm) {
      detail::layernorm_rows_backward(g, B, n, n, io.params[2].w, t.p[1], t.p[2], io.params[2].g,
                                      io.params[3].g);
    }
    T* dh = nullptr;
    if (skip(io.shape)) {
      dh = g;  // w == n
    } else {
      dh = io.scratch->zeros(B * w);
      const std::array<dense_seg<T>, 1> xs{dense_seg<T>{t.p[0], dh, w, w, 0}};
      const auto& b = io.params[1];
      detail::linear_backward<T>(B, xs, io.params[0].w, io.params[0].g, io.params[0].cols,
                                 b.present() ? b.g : nullptr, n, g, n);
    }
    if (io.left.dx != nullptr) detail::add_block(dh, w, io.left.dx, io.left.ld, B, io.left.width);
    if (io.right.dx != nullptr)
      detail::add_block(dh, w, io.right.dx, io.right.ld, B, io.right.width);
  }
};

}  // namespace recnas::ops
