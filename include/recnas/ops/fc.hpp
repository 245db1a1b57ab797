#pragma once
// FC (reference `linear-2d`, ElasticLinear): y = ReLU(LN?(W x [+ b])) over the concatenated
// dense inputs. LayerNorm (supernet style) replaces the bias.

#include <algorithm>
#include <string_view>

#include "recnas/ops/concepts.hpp"
#include "recnas/ops/kit.hpp"

namespace recnas::ops {

struct fc {
  static constexpr std::string_view name = "fc";
  static constexpr policy_kind kind = policy_kind::dense_operator;
  static constexpr reads inputs = reads::dense;

  static void declare(const op_shape& s, param_declarer& d) {
    d.matrix("W", s.d, s.in_width, cols_kind::dense_in);
    d.bias_or_layernorm("W", s.d, s.in_width, s.layernorm);
  }
  static void work(const op_shape& s, work_graph& w) {
    w.add(work_step::product(work_kind::fc, "fc", s.d, s.in_width));
    if (s.layernorm) w.add(work_step::layernorm("fc.ln", 1, s.d));
  }
  template <class T>
  struct saved {
    kit::projection_saved<T> proj;
    const T* y;  // the output after ReLU, which a network keeps intact until backward
    index ldy;
  };
  template <class T>
  static void forward(const op_io<T>& io, tape<T>& t, T* y, index ldy) {
    auto& kept = t.template save<saved<T>>();
    kit::dense_projection_forward(io, 0, io.dense, io.shape.d, false, y, ldy, kept.proj);
    kit::relu_forward(y, io.batch, io.shape.d, ldy);
    kept.y = y;
    kept.ldy = ldy;
  }
  template <class T>
  static void backward(const op_io<T>& io, const tape<T>& t, const T* dy, index lddy) {
    const auto& kept = t.template saved<saved<T>>();
    const index B = io.batch, n = io.shape.d;
    T* g = io.scratch->alloc(B * n);
    kit::relu_backward_copy(dy, lddy, kept.y, kept.ldy, g, n, B, n);
    kit::dense_projection_backward(io, 0, io.dense, n, false, g, n, kept.proj);
  }
};

}  // namespace recnas::ops
