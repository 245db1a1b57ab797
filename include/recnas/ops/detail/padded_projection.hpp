#pragma once
// The part Sum and Sigmoid-Gating share: both combine their two operands, zero-padded on the
// right to w = max(w_l, w_r), into h [B, w], then y = LN?(P h + b) with P: w -> d, skipped
// when w == d (the reference's rule; the LayerNorm still applies then). Slots, consecutive
// from `first`: P, P.b, ln_g, ln_b (a slot may be empty: zero rows).

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>

#include "recnas/ops/concepts.hpp"
#include "recnas/ops/kit.hpp"

namespace recnas::ops::detail {

/// w = max(w_l, w_r), the width both operands are padded to.
[[nodiscard]] inline index padded_width(const op_shape& s) noexcept {
  return std::max(s.left_width, s.right_width);
}
/// The projection is skipped when the padded width already is d (never in a supernet slot,
/// which must hold the projection for every smaller shape).
[[nodiscard]] inline bool padded_projection_skipped(const op_shape& s) noexcept {
  return !s.all_subshapes && padded_width(s) == s.d;
}

/// Declares P, P.b, ln_g, ln_b. `bias_with_layernorm`: whether P keeps its bias when a
/// LayerNorm follows (Sigmoid-Gating: always a bias; Sum: bias or LN).
inline void declare_padded_projection(const op_shape& s, param_declarer& d,
                                      bool bias_with_layernorm) {
  const bool proj = !padded_projection_skipped(s);
  const index w = padded_width(s);
  d.matrix("P", proj ? s.d : 0, w);
  d.bias("P.b", proj && (bias_with_layernorm || !s.layernorm) ? s.d : 0, w);
  d.constant("ln_g", s.layernorm ? s.d : 0, 1.0);
  d.constant("ln_b", s.layernorm ? s.d : 0, 0.0);
}

/// The projection and LayerNorm after the previous step.
inline void padded_projection_work(const op_shape& s, work_graph& w, std::string_view what) {
  if (!padded_projection_skipped(s))
    w.add(work_step::product(work_kind::projection, std::string(what), s.d, padded_width(s)));
  if (s.layernorm) w.add(work_step::layernorm(std::string(what) + ".ln", 1, s.d));
}

/// y[B, d] = LN?(P h + b) from h [B, w] (compact); keeps the LayerNorm's state in `kept`.
template <class T>
void padded_projection_forward(const op_io<T>& io, std::size_t first, const T* h, T* y, index ldy,
                               kit::projection_saved<T>& kept) {
  const index B = io.batch, w = padded_width(io.shape), n = io.shape.d;
  if (padded_projection_skipped(io.shape)) {
    kit::copy_block(h, w, y, ldy, B, n);
  } else {
    const std::array<dense_seg<T>, 1> xs{dense_seg<T>{h, nullptr, w, w, 0}};
    const auto& P = io.params[first];
    const auto& b = io.params[first + 1];
    kit::linear_forward<T>(B, xs, P.w, P.cols, b.present() ? b.w : nullptr, n, y, ldy);
  }
  if (io.shape.layernorm) {
    T* values = io.scratch->alloc(B * n);
    T* stats = io.scratch->alloc(2 * B);
    kit::layernorm_rows_forward(y, B, n, ldy, io.params[first + 2].w, io.params[first + 3].w,
                                values, stats);
    kept.ln_values = values;
    kept.ln_stats = stats;
  }
}

/// Backward of padded_projection_forward given h (as in forward): accumulates the slots'
/// gradients and returns dh [B, w] (compact, scratch memory).
template <class T>
T* padded_projection_backward(const op_io<T>& io, std::size_t first, const T* h, const T* dy,
                              index lddy, const kit::projection_saved<T>& kept) {
  const index B = io.batch, w = padded_width(io.shape), n = io.shape.d;
  T* g = io.scratch->alloc(B * n);
  kit::copy_block(dy, lddy, g, n, B, n);
  if (io.shape.layernorm) {
    kit::layernorm_rows_backward(g, B, n, n, io.params[first + 2].w, kept.ln_values, kept.ln_stats,
                                 io.params[first + 2].g, io.params[first + 3].g);
  }
  if (padded_projection_skipped(io.shape)) return g;  // w == n
  T* dh = io.scratch->zeros(B * w);
  const std::array<dense_seg<T>, 1> xs{dense_seg<T>{h, dh, w, w, 0}};
  const auto& P = io.params[first];
  const auto& b = io.params[first + 1];
  kit::linear_backward<T>(B, xs, P.w, P.g, P.cols, b.present() ? b.g : nullptr, n, g, n);
  return dh;
}

}  // namespace recnas::ops::detail
