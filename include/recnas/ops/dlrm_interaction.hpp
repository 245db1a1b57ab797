#pragma once
// DLRM's interaction and the first layer of its top MLP (Naumov et al. 2019, the reference
// `dot` interaction): the dense input x (the bottom MLP's output, projected to E = 16 (+LN)
// unless already 16 wide) and all T input tokens, unprojected, form T + 1 vectors; z = [x;
// the strict lower triangle of their Gram matrix] (16 + T(T+1)/2 values, pairs in row-major
// order (1,0), (2,0), (2,1), ...), y = ReLU(LN?(W z + b)). Unlike the space's Dot-Product,
// no token projection and the raw x is kept beside the pairs, as in DLRM; with 26 Criteo
// embeddings z has 16 + 351 = 367 values.

#include <array>
#include <string_view>

#include "recnas/kernels/interaction.hpp"
#include "recnas/ops/concepts.hpp"
#include "recnas/ops/kit.hpp"

namespace recnas::ops {

struct dlrm_interaction {
  static constexpr std::string_view name = "dlrm_interaction";
  static constexpr policy_kind kind = policy_kind::dense_operator;
  static constexpr reads inputs = reads::dense | reads::sparse;

  static index pairs(const op_shape& s) { return dp_pairs(s.in_tokens); }
  static index z_width(const op_shape& s) { return embed_dim + pairs(s); }
  static bool skip_dense(const op_shape& s) { return !s.all_subshapes && s.in_width == embed_dim; }

  // Slots: dense.W, dense.b/LN (2 slots: ln_g, ln_b), then top.W, top.b/LN at 4.
  static void declare(const op_shape& s, param_declarer& d) {
    const bool pd = !skip_dense(s);
    d.matrix("dense.W", pd ? embed_dim : 0, s.in_width, cols_kind::dense_in);
    d.bias_or_layernorm("dense", pd ? embed_dim : 0, s.in_width, s.layernorm);
    d.matrix("top.W", s.d, z_width(s));
    d.bias_or_layernorm("top", s.d, z_width(s), s.layernorm);
  }
  /// As DLRM, the whole Gram matrix of [x; tokens] is computed and one triangle kept; z is
  /// [x; pairs], a free concatenation.
  static void work(const op_shape& s, work_graph& w) {
    constexpr index E = embed_dim;
    const index n = s.in_tokens + 1;
    work_value x = work_graph::dense;
    if (!skip_dense(s)) {
      x = w.add(work_step::product(work_kind::projection, "dlrm_dproj", E, s.in_width),
                {work_graph::dense});
      if (s.layernorm) x = w.add(work_step::layernorm("dlrm_dproj.ln", 1, E));
    }
    const work_value gram =
        w.add(work_step::activation_product(work_kind::dot_product, "dlrm_dot", n, E, n)
                  .elems(n * E, z_width(s) - E),
              {x, work_graph::tokens});
    w.add(work_step::product(work_kind::fc, "dlrm_top", s.d, z_width(s)), {x, gram});
    if (s.layernorm) w.add(work_step::layernorm("dlrm_top.ln", 1, s.d));
  }

  template <class T>
  struct saved {
    kit::projection_saved<T> dense_proj, top_proj;
    const T* stack;  // [B, T+1, E]: the (projected) dense vector, then the input tokens
    const T* z;      // [B, z_width]: x, then the pairs
    const T* y;      // the output after ReLU, which a network keeps intact until backward
    index ldy;
  };

  template <class T>
  static void forward(const op_io<T>& io, tape<T>& t, T* y, index ldy) {
    auto& kept = t.template save<saved<T>>();
    const index B = io.batch, nt = io.shape.in_tokens, zw = z_width(io.shape);
    const index sbs = (nt + 1) * embed_dim;
    T* stack = io.scratch->alloc(B * sbs);
    kit::dense_projection_forward(io, 0, io.dense, embed_dim, skip_dense(io.shape), stack, sbs,
                                  kept.dense_proj);
    kit::concat_tokens(B, io.tokens, stack + embed_dim, sbs);
    T* z = io.scratch->alloc(B * zw);
    kit::copy_block(stack, sbs, z, zw, B, embed_dim);
    kit::dot_interaction(token_view<const T>(stack, B, nt + 1, embed_dim), z + embed_dim, zw);
    const std::array<dense_seg<T>, 1> zs{dense_seg<T>{z, nullptr, zw, zw, 0}};
    kit::dense_projection_forward<T>(io, 4, zs, io.shape.d, false, y, ldy, kept.top_proj);
    kit::relu_forward(y, B, io.shape.d, ldy);
    kept.stack = stack;
    kept.z = z;
    kept.y = y;
    kept.ldy = ldy;
  }

  template <class T>
  static void backward(const op_io<T>& io, const tape<T>& t, const T* dy, index lddy) {
    const auto& kept = t.template saved<saved<T>>();
    const index B = io.batch, nt = io.shape.in_tokens, n = io.shape.d, zw = z_width(io.shape);
    const index sbs = (nt + 1) * embed_dim;
    T* g = io.scratch->alloc(B * n);
    kit::relu_backward_copy(dy, lddy, kept.y, kept.ldy, g, n, B, n);
    T* dz = io.scratch->zeros(B * zw);
    const std::array<dense_seg<T>, 1> zs{dense_seg<T>{kept.z, dz, zw, zw, 0}};
    kit::dense_projection_backward<T>(io, 4, zs, n, false, g, n, kept.top_proj);
    const T* stack = kept.stack;
    T* dstack = io.scratch->zeros(B * sbs);
    kit::dot_interaction_backward(token_view<const T>(stack, B, nt + 1, embed_dim),
                                  static_cast<const T*>(dz + embed_dim), zw,
                                  token_view<T>(dstack, B, nt + 1, embed_dim), false);
    kit::add_block(dz, zw, dstack, sbs, B, embed_dim);  // x itself is part of z
    kit::concat_tokens_backward(B, io.tokens, dstack + embed_dim, sbs);
    kit::dense_projection_backward(io, 0, io.dense, embed_dim, skip_dense(io.shape), dstack, sbs,
                                   kept.dense_proj);
  }
};

}  // namespace recnas::ops
