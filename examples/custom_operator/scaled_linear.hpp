#pragma once
// A user-written dense operator: y = tanh(W x + b) over the block's concatenated dense inputs.
// It satisfies recnas::ops::DenseOperator by providing a name and kind, what it reads, its
// parameters at the largest widths (`declare`), its work per example (`work`: the FLOPs count
// and the PIM model read it), and forward/backward on the active widths written once, as
// templates on the scalar type, with the operator kit (recnas/ops/kit.hpp): float runs on
// recnas's SIMD kernels, double is the reference the conformance checks compare with. The same
// code runs inside a supernet (prefix slices of the max-size weight) and standalone; main.cpp
// checks both with recnas/testing/operator_check.hpp.

#include <cmath>
#include <string_view>

#include <recnas/ops/concepts.hpp>
#include <recnas/ops/kit.hpp>

namespace my_ops {

struct tanh_linear {
  static constexpr std::string_view name = "tanh_linear";
  static constexpr recnas::policy_kind kind = recnas::policy_kind::dense_operator;
  static constexpr recnas::ops::reads inputs = recnas::ops::reads::dense;

  static void declare(const recnas::ops::op_shape& s, recnas::ops::param_declarer& d) {
    d.matrix("W", s.d, s.in_width, recnas::ops::cols_kind::dense_in);  // slices per input source
    d.bias("b", s.d, s.in_width);
  }
  /// What it computes per example, for FLOPs and the PIM model: W x + b on the crossbars (a
  /// product with stored weights reading the block's dense inputs), then d tanh evaluations on
  /// the digital units. Nothing else in recnas needs to know this operator.
  static void work(const recnas::ops::op_shape& s, recnas::work_graph& w) {
    w.add(recnas::work_step::product(recnas::work_kind::fc, "tanh_linear", s.d, s.in_width),
          {recnas::work_graph::dense});
    w.add(recnas::work_step::elementwise(recnas::work_kind::digital_other, "tanh", 0.0, 0.0,
                                         static_cast<double>(s.d), s.d, s.d));
  }
  /// What backward needs from forward, kept on the tape (its own type: backward reads it back
  /// as the same struct, which the tape checks).
  template <class T>
  struct saved {
    const T* y;  // the output stays intact until backward (a network guarantee)
    recnas::index ldy;
  };
  template <class T>
  static void forward(const recnas::ops::op_io<T>& io, recnas::ops::tape<T>& t, T* y,
                      recnas::index ldy) {
    const auto& W = io.params[0];
    recnas::ops::kit::linear_forward<T>(io.batch, io.dense, W.w, W.cols, io.params[1].w, io.shape.d,
                                        y, ldy);
    for (recnas::index b = 0; b < io.batch; ++b) {
      for (recnas::index c = 0; c < io.shape.d; ++c) y[b * ldy + c] = std::tanh(y[b * ldy + c]);
    }
    auto& kept = t.template save<saved<T>>();
    kept.y = y;
    kept.ldy = ldy;
  }
  template <class T>
  static void backward(const recnas::ops::op_io<T>& io, const recnas::ops::tape<T>& t, const T* dy,
                       recnas::index lddy) {
    const auto& kept = t.template saved<saved<T>>();
    const recnas::index B = io.batch, n = io.shape.d;
    T* g = io.scratch->alloc(B * n);
    for (recnas::index b = 0; b < B; ++b) {
      for (recnas::index c = 0; c < n; ++c) {
        const T yv = kept.y[b * kept.ldy + c];
        g[b * n + c] = dy[b * lddy + c] * (T(1) - yv * yv);
      }
    }
    const auto& W = io.params[0];
    recnas::ops::kit::linear_backward<T>(B, io.dense, W.w, W.g, W.cols, io.params[1].g, n, g, n);
  }
};

}  // namespace my_ops
