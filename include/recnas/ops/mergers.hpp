#pragma once
// The two "operator-balancing interaction modules" of NASRec, each an on/off bit per block.
//   dense_to_sparse (reference `dense_sparse_interact`): p = LN?(Linear(d -> 8*16)(dense)),
//     reshaped to 8 tokens appended after the sparse operator's tokens; skipped (a pure
//     reshape) when d == 128. In that case the reference's tokens alias the dense output, so
//     they include the sparse_to_dense term added in place afterwards (reads_merged).
//   sparse_to_dense (reference `deep_fm`): f = (sum_t x_t)^2 - sum_t x_t^2 per channel (no 1/2,
//     no channel sum) over the sparse operator's output, then LN?(Linear(16 -> d)), *added* to
//     the dense output; the projection is skipped when d == 16.

#include <array>
#include <string_view>

#include "recnas/kernels/interaction.hpp"
#include "recnas/ops/concepts.hpp"
#include "recnas/ops/kit.hpp"

namespace recnas::ops {

struct dense_to_sparse {
  static constexpr std::string_view name = "dense_to_sparse";
  static constexpr policy_kind kind = policy_kind::merger;
  static constexpr merge_direction direction = merge_direction::dense_to_sparse;
  static constexpr index tokens = 8;
  static constexpr index width = tokens * embed_dim;

  static bool skip(const op_shape& s) { return !s.all_subshapes && s.d == width; }
  static bool reads_merged(const op_shape& s) { return skip(s); }
  static void declare(const op_shape& s, param_declarer& d) {
    const bool p = !skip(s);
    d.matrix("W", p ? width : 0, s.d);
    d.bias_or_layernorm("W", p ? width : 0, s.d, s.layernorm);
  }
  /// Skipped, the tokens are the (merged) dense output itself: an address, no work.
  static void work(const op_shape& s, work_graph& w) {
    if (skip(s)) return;
    w.add(work_step::product(work_kind::projection, "dsi", width, s.d));
    if (s.layernorm) w.add(work_step::layernorm("dsi.ln", 1, width));
  }
  template <class T>
  struct saved {
    kit::projection_saved<T> proj;
  };
  /// io.dense: one segment, the block's dense output [B, d]; y: the 8 tokens, row stride ld.
  template <class T>
  static void forward(const op_io<T>& io, tape<T>& t, T* y, index ld) {
    auto& kept = t.template save<saved<T>>();
    kit::dense_projection_forward(io, 0, io.dense, width, skip(io.shape), y, ld, kept.proj);
  }
  template <class T>
  static void backward(const op_io<T>& io, const tape<T>& t, const T* dy, index ld) {
    const auto& kept = t.template saved<saved<T>>();
    T* g = io.scratch->alloc(io.batch * width);
    kit::copy_block(dy, ld, g, width, io.batch, width);
    kit::dense_projection_backward(io, 0, io.dense, width, skip(io.shape), g, width, kept.proj);
  }
};

struct sparse_to_dense {
  static constexpr std::string_view name = "sparse_to_dense";
  static constexpr policy_kind kind = policy_kind::merger;
  static constexpr merge_direction direction = merge_direction::sparse_to_dense;
  static constexpr index tokens = 0;

  static bool skip(const op_shape& s) { return !s.all_subshapes && s.d == embed_dim; }
  static bool reads_merged(const op_shape&) { return false; }
  static void declare(const op_shape& s, param_declarer& d) {
    const bool p = !skip(s);
    d.matrix("W", p ? s.d : 0, embed_dim);
    d.bias_or_layernorm("W", p ? s.d : 0, embed_dim, s.layernorm);
  }
  static void work(const op_shape& s, work_graph& w) {
    w.add(work_step::fm("fm", s.s, embed_dim));
    if (skip(s)) return;
    w.add(work_step::product(work_kind::projection, "fm_proj", s.d, embed_dim));
    if (s.layernorm) w.add(work_step::layernorm("fm_proj.ln", 1, s.d));
  }
  template <class T>
  struct saved {
    const T* f;  // [B, E]: the FM features the projection reads
    kit::projection_saved<T> proj;
  };
  /// io.tokens: one segment, the sparse operator's output; adds its [B, d] term into y.
  template <class T>
  static void forward(const op_io<T>& io, tape<T>& t, T* y, index ldy) {
    auto& kept = t.template save<saved<T>>();
    constexpr index E = embed_dim;
    const index B = io.batch, n = io.shape.d;
    const auto& x = io.tokens[0];
    T* f = io.scratch->alloc(B * E);
    kit::fm(token_view<const T>(x.x, B, x.tokens, E, x.bs, E), f, E);
    T* p = io.scratch->alloc(B * n);
    const std::array<dense_seg<T>, 1> xs{dense_seg<T>{f, nullptr, E, E, 0}};
    kit::dense_projection_forward<T>(io, 0, xs, n, skip(io.shape), p, n, kept.proj);
    kit::add_block(p, n, y, ldy, B, n);
    kept.f = f;
  }
  template <class T>
  static void backward(const op_io<T>& io, const tape<T>& t, const T* dy, index ldy) {
    const auto& kept = t.template saved<saved<T>>();
    constexpr index E = embed_dim;
    const index B = io.batch, n = io.shape.d;
    const auto& x = io.tokens[0];
    T* g = io.scratch->alloc(B * n);
    kit::copy_block(dy, ldy, g, n, B, n);
    T* df = io.scratch->zeros(B * E);
    const std::array<dense_seg<T>, 1> xs{dense_seg<T>{kept.f, df, E, E, 0}};
    kit::dense_projection_backward<T>(io, 0, xs, n, skip(io.shape), g, n, kept.proj);
    if (x.dx == nullptr) return;
    kit::fm_backward(token_view<const T>(x.x, B, x.tokens, E, x.bs, E), static_cast<const T*>(df),
                     E, token_view<T>(x.dx, B, x.tokens, E, x.bs, E), true);
  }
};

}  // namespace recnas::ops
