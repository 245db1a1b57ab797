#pragma once
// The input segments a block's operators read: for every source the block selects, a view of
// that source's output and the column where its slice starts in the operator's weights. Both
// executors and the slice map build them here, so that the columns a forward reads and the
// columns a slice copies come from one place.
//
// Sliced, a block sees its selected sources at their active widths. Masked (the reference's
// computation), it sees every earlier source at full width, the unselected ones as zeros.
// In the shared layout a source's slice starts at its fixed base (all earlier sources at their
// largest widths); in the compact layout the selected sources are packed.

#include <type_traits>
#include <vector>

#include "recnas/ops/concepts.hpp"
#include "recnas/supernet/layout.hpp"
#include "recnas/supernet/parameters.hpp"
#include "recnas/supernet/workspace.hpp"

namespace recnas::supernet {

/// The token parts of block k's output (source k + 1): the operator's s tokens, then one part
/// per dense_to_sparse merger (sliced: the active ones, at their shared-layout column in the
/// shared layout; masked: all of them, at full width).
template <class S, class T>
void set_output_parts(const network_layout<S>& layout, typename workspace<T>::source& src,
                      const architecture& a, int k, const model_plan& mp, exec_mode mode) {
  const auto& b = a.blocks[static_cast<std::size_t>(k)];
  const auto& pl = mp.blocks[static_cast<std::size_t>(k)];
  src.parts.clear();
  if (mode == exec_mode::masked) {
    src.parts.push_back({0, S::max_sparse_dim, 0});
    index off = S::max_sparse_dim;
    S::for_each_merger([&]<class M>(auto) {
      if constexpr (M::direction == ops::merge_direction::dense_to_sparse) {
        src.parts.push_back({off, M::tokens, off});
        off += M::tokens;
      }
    });
    src.tokens_total = off;
    return;
  }
  src.parts.push_back({0, pl.s, 0});
  index mem = pl.s, all = S::max_sparse_dim;
  S::for_each_merger([&]<class M>(auto m) {
    if constexpr (M::direction == ops::merge_direction::dense_to_sparse) {
      if (b.merger(m)) {
        src.parts.push_back({mem, M::tokens, layout.shared() ? all : mem});
        mem += M::tokens;
      }
      all += M::tokens;
    }
  });
  src.tokens_total = mem;
}

/// Block i's dense inputs (sources in `set`), with gradient pointers when `grads`.
template <class S, class T>
std::vector<ops::dense_seg<T>> block_dense_inputs(const network_layout<S>& layout,
                                                  const workspace<T>& ws, int i,
                                                  connect::source_set set, bool grads) {
  const bool masked = ws.mode == exec_mode::masked;
  std::vector<ops::dense_seg<T>> v;
  index run = 0;
  for (int j = 0; j <= i; ++j) {
    const bool sel = connect::contains(set, j);
    if (!sel && !masked) continue;
    const auto& src = ws.sources[static_cast<std::size_t>(j)];
    const index col = layout.shared() ? layout.shared_dense_base(j) : run;
    if (sel) {
      v.push_back({src.dense, grads && j > 0 ? src.gdense : nullptr, src.ld, src.width, col});
    } else {
      v.push_back({ws.zeros, nullptr, src.ld, src.ld, col});
    }
    run += src.width;
  }
  return v;
}

/// Block i's token inputs (every part of every source in `set`).
template <class S, class T>
std::vector<ops::token_seg<T>> block_token_inputs(const network_layout<S>& layout,
                                                  const workspace<T>& ws, int i,
                                                  connect::source_set set, bool grads) {
  constexpr index E = ops::embed_dim;
  const bool masked = ws.mode == exec_mode::masked;
  std::vector<ops::token_seg<T>> v;
  index run = 0;
  for (int j = 0; j <= i; ++j) {
    const bool sel = connect::contains(set, j);
    if (!sel && !masked) continue;
    const auto& src = ws.sources[static_cast<std::size_t>(j)];
    const index base = layout.shared() ? layout.shared_token_base(j) : run;
    for (const auto& pt : src.parts) {
      if (sel) {
        v.push_back({src.tokens + pt.mem * E, grads ? src.gtokens + pt.mem * E : nullptr,
                     src.example_stride, pt.count, base + pt.col});
      } else {
        v.push_back({ws.zeros, nullptr, src.example_stride, pt.count, base + pt.col});
      }
    }
    run += src.tokens_total;
  }
  return v;
}

/// Source j's dense output as a binary operator's left or right input.
template <class T>
ops::dense_seg<T> source_input(const workspace<T>& ws, int j, bool grads) {
  const auto& src = ws.sources[static_cast<std::size_t>(j)];
  const index w = ws.mode == exec_mode::masked ? src.ld : src.width;
  return {src.dense, grads && j > 0 ? src.gdense : nullptr, src.ld, w, 0};
}

/// The head's input: the last block's dense output, then its token parts (read from the
/// quantized copies when activations are quantized).
template <class S, class T>
std::vector<ops::dense_seg<T>> head_inputs(const network_layout<S>& layout, const workspace<T>& ws,
                                           bool grads) {
  constexpr index E = ops::embed_dim;
  const auto& src = ws.sources.back();
  std::vector<ops::dense_seg<T>> v;
  const index D = layout.shared() ? S::max_dense_dim : src.width;
  const T* dense = ws.head_dense_q != nullptr ? ws.head_dense_q : src.dense;
  const T* tokens = ws.head_tokens_q != nullptr ? ws.head_tokens_q : src.tokens;
  v.push_back({dense, grads ? src.gdense : nullptr, src.ld,
               ws.mode == exec_mode::masked ? src.ld : src.width, 0});
  for (const auto& pt : src.parts) {
    v.push_back({tokens + pt.mem * E, grads ? src.gtokens + pt.mem * E : nullptr,
                 src.example_stride, pt.count * E, D + E * pt.col});
  }
  return v;
}

/// The shape block i's operators run with: the plan's (sliced), or the shared layout's
/// largest widths with the architecture's binary sources (masked).
template <class S>
ops::op_shape exec_shape(const network_layout<S>& layout, exec_mode mode, int i,
                         const architecture& a, const model_plan& mp) {
  if (mode != exec_mode::masked) return mp.blocks[static_cast<std::size_t>(i)].shape;
  auto sh = layout.max_shape(i);
  const auto& b = a.blocks[static_cast<std::size_t>(i)];
  sh.left_width = layout.max_width(b.left);
  sh.right_width = layout.max_width(b.right);
  return sh;
}

/// Parameter views of one operator's slots (gradients into `grads`, or the parameters' own).
template <class T>
std::vector<ops::param_ref<T>> slot_refs(const parameters<T>& params, const slot_range& r,
                                         std::type_identity_t<T>* grads) {
  std::vector<ops::param_ref<T>> v;
  v.reserve(r.count);
  for (std::size_t k = 0; k < r.count; ++k) v.push_back(params.ref(r.first + k, grads));
  return v;
}

}  // namespace recnas::supernet
