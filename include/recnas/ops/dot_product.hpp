#pragma once
// Dot-Product (reference `dot-product`). The dense input is projected to E = 16 (+LN; skipped
// when its width is already 16); the sparse tokens are projected T -> k over the token axis
// (+LN over k; skipped when T == k), k = round(sqrt(2 d)); the stack [dense; k tokens] of k+1
// vectors gives the strict lower triangle of its Gram matrix, k(k+1)/2 pairs in row-major
// order (so the pairs of a smaller k are a prefix), projected to d (+LN; skipped when the pair
// count equals d). No activation, and the raw dense vector is not concatenated (unlike DLRM).

#include <algorithm>
#include <array>
#include <string_view>

#include "recnas/kernels/interaction.hpp"
#include "recnas/ops/concepts.hpp"
#include "recnas/ops/kit.hpp"

namespace recnas::ops {

struct dot_product {
  static constexpr std::string_view name = "dot_product";
  static constexpr policy_kind kind = policy_kind::dense_operator;
  static constexpr reads inputs = reads::dense | reads::sparse;

  static index k(const op_shape& s) { return dp_tokens(s.d); }
  static index pairs(const op_shape& s) { return dp_pairs(k(s)); }
  static bool skip_dense(const op_shape& s) { return !s.all_subshapes && s.in_width == embed_dim; }
  static bool skip_tokens(const op_shape& s) { return !s.all_subshapes && s.in_tokens == k(s); }
  static bool skip_pairs(const op_shape& s) { return !s.all_subshapes && pairs(s) == s.d; }

  static void declare(const op_shape& s, param_declarer& d) {
    const bool pd = !skip_dense(s), pt = !skip_tokens(s), pp = !skip_pairs(s);
    d.matrix("dense.W", pd ? embed_dim : 0, s.in_width, cols_kind::dense_in);
    d.bias_or_layernorm("dense", pd ? embed_dim : 0, s.in_width, s.layernorm);
    d.matrix("tokens.W", pt ? k(s) : 0, s.in_tokens, cols_kind::token_in);
    d.bias_or_layernorm("tokens", pt ? k(s) : 0, s.in_tokens, s.layernorm);
    d.matrix("pairs.W", pp ? s.d : 0, pairs(s));
    d.bias_or_layernorm("pairs", pp ? s.d : 0, pairs(s), s.layernorm);
  }
  /// As the reference model, the whole (k+1)^2 Gram matrix is computed; one triangle is kept.
  static void work(const op_shape& s, work_graph& w) {
    constexpr index E = embed_dim;
    const index kk = k(s);
    work_value stack = work_graph::dense;
    work_value toks = work_graph::tokens;
    if (!skip_dense(s)) {
      stack = w.add(work_step::product(work_kind::projection, "dp_dproj", E, s.in_width),
                    {work_graph::dense});
      if (s.layernorm) stack = w.add(work_step::layernorm("dp_dproj.ln", 1, E));
    }
    if (!skip_tokens(s)) {
      toks = w.add(work_step::product(work_kind::projection, "dp_tproj", kk, s.in_tokens, E),
                   {work_graph::tokens});
      if (s.layernorm) toks = w.add(work_step::layernorm("dp_tproj.ln", 1, kk * E));
    }
    const work_value gram =
        w.add(work_step::activation_product(work_kind::dot_product, "dot", kk + 1, E, kk + 1)
                  .elems((kk + 1) * E, pairs(s)),
              {stack, toks});
    if (!skip_pairs(s)) {
      w.add(work_step::product(work_kind::projection, "dp_out", s.d, pairs(s)), {gram});
      if (s.layernorm) w.add(work_step::layernorm("dp_out.ln", 1, s.d));
    }
  }

  template <class T>
  struct saved {
    kit::projection_saved<T> dense_proj, token_proj, pairs_proj;
    const T* stack;  // [B, k+1, E]: the projected dense vector, then the k projected tokens
    const T* pairs;  // [B, k(k+1)/2]: the strict lower triangle of the stack's Gram matrix
  };

  template <class T>
  static void forward(const op_io<T>& io, tape<T>& t, T* y, index ldy) {
    auto& kept = t.template save<saved<T>>();
    const index B = io.batch, kk = k(io.shape), P = pairs(io.shape), n = io.shape.d;
    const index sbs = (kk + 1) * embed_dim;
    T* stack = io.scratch->alloc(B * sbs);
    kit::dense_projection_forward(io, 0, io.dense, embed_dim, skip_dense(io.shape), stack, sbs,
                                  kept.dense_proj);
    kit::token_projection_forward(io, 4, kk, skip_tokens(io.shape), stack + embed_dim, sbs,
                                  kept.token_proj);
    T* pr = io.scratch->alloc(B * P);
    kit::dot_interaction(token_view<const T>(stack, B, kk + 1, embed_dim), pr, P);
    const std::array<dense_seg<T>, 1> xs{dense_seg<T>{pr, nullptr, P, P, 0}};
    kit::dense_projection_forward<T>(io, 8, xs, n, skip_pairs(io.shape), y, ldy, kept.pairs_proj);
    kept.stack = stack;
    kept.pairs = pr;
  }

  template <class T>
  static void backward(const op_io<T>& io, const tape<T>& t, const T* dy, index lddy) {
    const auto& kept = t.template saved<saved<T>>();
    const index B = io.batch, kk = k(io.shape), P = pairs(io.shape), n = io.shape.d;
    const index sbs = (kk + 1) * embed_dim;
    T* g = io.scratch->alloc(B * n);
    kit::copy_block(dy, lddy, g, n, B, n);
    T* dpr = io.scratch->zeros(B * P);
    const std::array<dense_seg<T>, 1> xs{dense_seg<T>{kept.pairs, dpr, P, P, 0}};
    kit::dense_projection_backward<T>(io, 8, xs, n, skip_pairs(io.shape), g, n, kept.pairs_proj);
    const T* stack = kept.stack;
    T* dstack = io.scratch->zeros(B * sbs);
    kit::dot_interaction_backward(token_view<const T>(stack, B, kk + 1, embed_dim),
                                  static_cast<const T*>(dpr), P,
                                  token_view<T>(dstack, B, kk + 1, embed_dim), false);
    kit::token_projection_backward(io, 4, kk, skip_tokens(io.shape), dstack + embed_dim, sbs,
                                   kept.token_proj);
    kit::dense_projection_backward(io, 0, io.dense, embed_dim, skip_dense(io.shape), dstack, sbs,
                                   kept.dense_proj);
  }
};

}  // namespace recnas::ops
