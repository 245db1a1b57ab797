#pragma once
// Activation fake quantization in the forward, for quantization-aware training: the values
// that reach the first crossbars from outside the network body (the raw dense features and
// each table's embedding rows) and the head's input, each on a signed min/max grid of `bits`
// bits (core/quantize.hpp), as co-design's evaluation quantizes them. Backward is the
// straight-through estimator: min/max grids never clip, so gradients pass unchanged, and the
// head's weight gradient sees the quantized input it multiplied. Both executors call the three
// hooks below; with bits = 0 they do nothing.

#include <algorithm>
#include <vector>

#include "recnas/core/quantize.hpp"
#include "recnas/supernet/layout.hpp"
#include "recnas/supernet/segments.hpp"
#include "recnas/supernet/workspace.hpp"

namespace recnas::supernet {

struct activation_quantization {
  int bits = 0;  // 0: off
  /// Per sparse feature, the range (max |value|) of its whole embedding table, as evaluation
  /// quantizes whole tables; the grid always covers the batch's rows of the table too. Empty:
  /// the batch's rows alone set each table's grid (what training uses, since scanning every
  /// table at every step would cost more than the step).
  std::vector<double> table_range;

  [[nodiscard]] bool on() const noexcept { return bits > 0; }

  /// The stem's dense features, on one grid.
  template <class T>
  void stem_dense(T* x, index n) const {
    if (on()) quantize_in_place(x, n, bits);
  }
  /// The stem's tokens [B, F, E] (example stride `stride`), each table's rows on its own grid:
  /// the table's known range widened by the batch's rows.
  template <class T>
  void stem_tokens(T* x, index stride, index B, index F) const {
    if (!on()) return;
    constexpr index E = ops::embed_dim;
    for (index f = 0; f < F; ++f) {
      double r = table_range.empty() ? 0.0 : table_range[static_cast<std::size_t>(f)];
      for (index b = 0; b < B; ++b) r = std::max(r, value_range(x + b * stride + f * E, E, true));
      const auto g = grid_for_range(r, bits, true);
      for (index b = 0; b < B; ++b)
        fake_quant_forward(x + b * stride + f * E, E, g, x + b * stride + f * E);
    }
  }
  /// One grid over the head's whole input (every segment), written to copies in `ws`, so that
  /// the blocks' backward still reads their own float outputs.
  template <class S, class T>
  void head_input(const network_layout<S>& layout, workspace<T>& ws) const {
    if (!on()) return;
    const index B = ws.batch;
    const auto& src = ws.sources.back();
    const auto hs = head_inputs(layout, ws, false);
    double r = 0.0;
    for (const auto& sg : hs)
      for (index b = 0; b < B; ++b) r = std::max(r, value_range(sg.x + b * sg.ld, sg.width, true));
    const auto g = grid_for_range(r, bits, true);
    T* qd = ws.arena.alloc(B * src.ld);
    T* qt = src.parts.empty() ? nullptr : ws.arena.alloc(B * src.example_stride);
    for (std::size_t q = 0; q < hs.size(); ++q) {  // segment 0 is dense, then the token parts
      T* dst = q == 0 ? qd : qt + src.parts[q - 1].mem * ops::embed_dim;
      for (index b = 0; b < B; ++b)
        fake_quant_forward(hs[q].x + b * hs[q].ld, hs[q].width, g, dst + b * hs[q].ld);
    }
    ws.head_dense_q = qd;
    ws.head_tokens_q = qt;
  }
};

}  // namespace recnas::supernet
