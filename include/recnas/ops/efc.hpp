#pragma once
// EFC (reference `linear-3d`, ElasticLinear3D, "embedding FC"): a linear layer over the token
// axis (T -> s, weights shared by the 16 channels), LN? over the s axis, ReLU. It mixes
// features and never changes the embedding width.

#include <string_view>

#include "recnas/ops/concepts.hpp"
#include "recnas/ops/kit.hpp"

namespace recnas::ops {

struct efc {
  static constexpr std::string_view name = "efc";
  static constexpr policy_kind kind = policy_kind::sparse_operator;
  static constexpr reads inputs = reads::sparse;

  static void declare(const op_shape& s, param_declarer& d) {
    d.matrix("W", s.s, s.in_tokens, cols_kind::token_in);
    d.bias_or_layernorm("W", s.s, s.in_tokens, s.layernorm);
  }
  static void work(const op_shape& s, work_graph& w) {
    w.add(work_step::product(work_kind::efc, "efc", s.s, s.in_tokens, embed_dim));
    if (s.layernorm) w.add(work_step::layernorm("efc.ln", 1, s.s * embed_dim));
  }
  template <class T>
  struct saved {
    kit::projection_saved<T> proj;
    const T* y;  // the output after ReLU, which a network keeps intact until backward
    index bs;
  };
  template <class T>
  static void forward(const op_io<T>& io, tape<T>& t, T* y, index bs) {
    auto& kept = t.template save<saved<T>>();
    kit::token_projection_forward(io, 0, io.shape.s, false, y, bs, kept.proj);
    kit::relu_forward(y, io.batch, io.shape.s * embed_dim, bs);
    kept.y = y;
    kept.bs = bs;
  }
  template <class T>
  static void backward(const op_io<T>& io, const tape<T>& t, const T* dy, index bs) {
    const auto& kept = t.template saved<saved<T>>();
    const index B = io.batch, w = io.shape.s * embed_dim;
    T* g = io.scratch->alloc(B * w);
    kit::relu_backward_copy(dy, bs, kept.y, kept.bs, g, w, B, w);
    kit::token_projection_backward(io, 0, io.shape.s, false, g, w, kept.proj);
  }
};

}  // namespace recnas::ops
