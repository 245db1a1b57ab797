#pragma once
// The sliced executor: forward and backward of one architecture on a layout, each operator on
// its active widths and selected sources only. Forward is stem(), then per block the sparse
// operators, the dense operators and the mergers, then head(); backward runs the same stages
// in reverse. The stem's lookups and their gradient are kernels/embedding.hpp's (float; the
// double path, for gradient checks, is plain loops). The masked reference executor
// (supernet/masked.hpp) shares the stem and the head.

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "recnas/kernels/embedding.hpp"
#include "recnas/ops/concepts.hpp"
#include "recnas/ops/kit.hpp"
#include "recnas/supernet/activation_quant.hpp"
#include "recnas/supernet/layout.hpp"
#include "recnas/supernet/parameters.hpp"
#include "recnas/supernet/segments.hpp"
#include "recnas/supernet/slices.hpp"
#include "recnas/supernet/workspace.hpp"

namespace recnas::supernet {

/// What both executors share: the stem (dense features and embedding lookups), the head
/// (one linear unit over the last block's output) and the embedding tables' gradient.
template <class S, class T>
class executor_base {
 public:
  executor_base(const network_layout<S>& layout, const parameters<T>& params,
                const activation_quantization& aq)
      : layout_(layout), params_(params), aq_(aq) {}

 protected:
  static constexpr index E = ops::embed_dim;

  void stem(workspace<T>& ws) const {
    const ctr_batch& batch = *ws.input;
    const index B = batch.size;
    const data_shape& ds = layout_.shape();
    auto& stem = ws.sources[0];
    stem.ld = stem.width = ds.dense_features;
    stem.dense = ws.arena.alloc(B * stem.ld);
    for (index b = 0; b < B; ++b) {
      for (index c = 0; c < stem.ld; ++c)
        stem.dense[b * stem.ld + c] = static_cast<T>(batch.dense(b, c));
    }
    aq_.stem_dense(stem.dense, B * stem.ld);
    const index F = ds.sparse_features();
    stem.example_stride = F * E;
    stem.tokens = ws.arena.alloc(B * stem.example_stride);
    stem.parts = {{0, F, 0}};
    stem.tokens_total = F;
    lookup(ws, stem.tokens, stem.example_stride);
    aq_.stem_tokens(stem.tokens, stem.example_stride, B, F);
  }

  /// The logits from the last source (and its quantized copies).
  void head(workspace<T>& ws, std::span<T> logits) const {
    aq_.head_input(layout_, ws);
    const auto hs = head_inputs(layout_, ws, false);
    const auto hr = slot_refs(params_, layout_.head(), nullptr);
    const index B = ws.batch;
    ws.logits.assign(static_cast<std::size_t>(B), T(0));
    ops::kit::linear_forward<T>(B, hs, hr[0].w, hr[0].cols, hr[1].w, 1, ws.logits.data(), 1);
    std::copy(ws.logits.begin(), ws.logits.end(), logits.begin());
    ws.have_forward = true;
  }
  void head_backward(workspace<T>& ws, std::span<const T> dlogits, T* grads) const {
    const auto hs = head_inputs(layout_, ws, true);
    const auto hr = slot_refs(params_, layout_.head(), grads);
    ops::kit::linear_backward<T>(ws.batch, hs, hr[0].w, hr[0].g, hr[0].cols, hr[1].g, 1,
                                 dlogits.data(), 1);
  }

  /// Backward in the stage order both executors share: the head, the blocks in reverse
  /// (`block(i)`, the executor's own), the embedding rows, then the touched entries.
  template <class BlockBackward>
  void backward_stages(const architecture& a, workspace<T>& ws, std::span<const T> dlogits,
                       T* grads, exec_mode mode, BlockBackward&& block) const {
    expects(static_cast<index>(dlogits.size()) == ws.batch, "backward: one gradient per logit");
    gradient_buffers(ws);
    head_backward(ws, dlogits, grads);
    for (int i = S::num_blocks - 1; i >= 0; --i) block(i);
    stem_backward(ws, grads);
    ws.set_touched(entries_written(layout_, a, ws.plan, mode));
  }

  /// Gradient buffers of the stem's tokens and of every block output that was produced.
  void gradient_buffers(workspace<T>& ws) const {
    const index B = ws.batch;
    auto& stem = ws.sources[0];
    stem.gtokens = ws.arena.zeros(B * stem.example_stride);
    stem.gdense = nullptr;
    for (int i = 0; i < S::num_blocks; ++i) {
      auto& st = ws.blocks[static_cast<std::size_t>(i)];
      if (!st.ran) continue;
      auto& out = ws.sources[static_cast<std::size_t>(i + 1)];
      out.gdense = ws.arena.zeros(B * out.ld);
      out.gtokens = ws.arena.zeros(B * out.example_stride);
      st.gdense_pre = st.merged ? ws.arena.zeros(B * out.ld) : out.gdense;
    }
  }

  /// The embedding rows' gradient: row-sparse, added into the tables' gradient entries.
  void stem_backward(workspace<T>& ws, T* grads) const {
    const ctr_batch& batch = *ws.input;
    const auto& stem = ws.sources[0];
    const index B = ws.batch, F = layout_.shape().sparse_features();
    const auto& emb = layout_.embeddings();
    if constexpr (std::is_same_v<T, float>) {
      ws.table_grads.resize(static_cast<std::size_t>(F));
      for (index f = 0; f < F; ++f)
        ws.table_grads[static_cast<std::size_t>(f)] =
            grads + params_.entries()[emb[static_cast<std::size_t>(f)]].offset;
      kernels::embedding_gather_backward_dense(
          tables(ws), ws.ids.data(), F, B,
          token_view<const float>(stem.gtokens, B, F, E, stem.example_stride, E), ws.table_grads);
    } else {
      for (index b = 0; b < B; ++b) {
        for (index f = 0; f < F; ++f) {
          const auto& e = params_.entries()[emb[static_cast<std::size_t>(f)]];
          T* row = grads + e.offset + batch.id(b, f) * E;
          const T* g = stem.gtokens + b * stem.example_stride + f * E;
          for (index c = 0; c < E; ++c) row[c] += g[c];
        }
      }
    }
  }

  const network_layout<S>& layout_;
  const parameters<T>& params_;
  const activation_quantization& aq_;

 private:
  /// The tables as the embedding kernels see them (float only).
  [[nodiscard]] kernels::embedding_tables tables(const workspace<T>& ws) const {
    return {ws.tables.data(), ws.table_rows.data(), layout_.shape().sparse_features(), E, E};
  }
  void lookup(workspace<T>& ws, T* out, index stride) const {
    const ctr_batch& batch = *ws.input;
    const index B = batch.size, F = layout_.shape().sparse_features();
    const auto& emb = layout_.embeddings();
    if constexpr (std::is_same_v<T, float>) {
      // The ids the kernels read, as dense [B, F] int64 (the stem backward reads them too).
      ws.ids.resize(static_cast<std::size_t>(B * F));
      for (index b = 0; b < B; ++b)
        for (index f = 0; f < F; ++f) ws.ids[static_cast<std::size_t>(b * F + f)] = batch.id(b, f);
      ws.tables.resize(static_cast<std::size_t>(F));
      ws.table_rows.resize(static_cast<std::size_t>(F));
      for (index f = 0; f < F; ++f) {
        const auto& e = params_.entries()[emb[static_cast<std::size_t>(f)]];
        ws.tables[static_cast<std::size_t>(f)] = params_.values().data() + e.offset;
        ws.table_rows[static_cast<std::size_t>(f)] = e.rows;
      }
      kernels::embedding_gather(tables(ws), ws.ids.data(), F, B,
                                token_view<float>(out, B, F, E, stride, E));
    } else {
      for (index b = 0; b < B; ++b) {
        for (index f = 0; f < F; ++f) {
          const auto id = batch.id(b, f);
          const auto& e = params_.entries()[emb[static_cast<std::size_t>(f)]];
          expects(id >= 0 && id < e.rows, "forward: categorical id outside its table");
          const T* row = params_.values().data() + e.offset + id * E;
          std::copy(row, row + E, out + b * stride + f * E);
        }
      }
    }
  }
};

template <class S, class T>
class sliced_executor : executor_base<S, T> {
  using base = executor_base<S, T>;
  static constexpr index E = base::E;

 public:
  using base::base;

  void forward(const architecture& a, const ctr_batch& batch, workspace<T>& ws,
               std::span<T> logits) const {
    ws.begin(batch, exec_mode::sliced, this->layout_.plan(a), S::num_blocks);
    this->stem(ws);
    for (int i = 0; i < S::num_blocks; ++i) block_forward(a, i, ws);
    this->head(ws, logits);
  }

  void backward(const architecture& a, workspace<T>& ws, std::span<const T> dlogits,
                T* grads) const {
    this->backward_stages(a, ws, dlogits, grads, exec_mode::sliced,
                          [&](int i) { block_backward(a, i, ws, grads); });
  }

 private:
  struct block_call {
    const block_choice& b;
    const block_plan& plan;
    const block_slots& slots;
    typename workspace<T>::block_state& state;
    typename workspace<T>::source& out;
  };
  block_call call(const architecture& a, int i, workspace<T>& ws) const {
    return {a.blocks[static_cast<std::size_t>(i)], ws.plan.blocks[static_cast<std::size_t>(i)],
            this->layout_.slots(i), ws.blocks[static_cast<std::size_t>(i)],
            ws.sources[static_cast<std::size_t>(i + 1)]};
  }

  // ---- forward ------------------------------------------------------------------------------
  void block_forward(const architecture& a, int i, workspace<T>& ws) const {
    auto c = call(a, i, ws);
    if (!c.plan.run_dense && !c.plan.run_sparse) return;
    const index B = ws.batch;
    c.state.ran = true;
    c.state.dense_tapes.assign(S::num_dense_ops, {});
    c.state.sparse_tapes.assign(S::num_sparse_ops, {});
    c.state.merger_tapes.assign(S::num_mergers, {});
    set_output_parts<S, T>(this->layout_, c.out, a, i, ws.plan, exec_mode::sliced);
    c.out.width = c.out.ld = c.plan.d;
    c.out.example_stride = c.out.tokens_total * E;
    // Every element a later reader sees is written (the operators of a live output run, and
    // so do the active dense_to_sparse mergers of a live token output): no zeroing.
    c.out.tokens = ws.arena.alloc(B * c.out.example_stride);
    c.state.dense_pre = ws.arena.alloc(B * c.out.ld);
    c.out.dense = c.state.dense_pre;
    if (c.plan.run_sparse) sparse_operators(i, c, ws);
    if (c.plan.run_dense) dense_operators(i, c, ws);
    sparse_to_dense(c, ws);
    dense_to_sparse(c, ws);
  }

  // Several operators of one kind (any-path): each writes its own buffer (its backward may
  // read its output), then the outputs are summed; a single one writes in place.
  void sparse_operators(int i, block_call& c, workspace<T>& ws) const {
    const index B = ws.batch;
    const auto& sh = c.plan.shape;
    const auto toks = block_token_inputs(this->layout_, ws, i, c.b.sparse_in, false);
    const std::uint32_t set = c.b.sparse_op_set();
    const bool several = std::popcount(set) > 1;
    const index w = sh.s * E;  // the tokens the operators write
    const index ld = c.out.example_stride;
    if (several) zero_rows(c.out.tokens, ld, B, w);
    for_each_bit(set, [&](int o) {
      const auto prm =
          slot_refs(this->params_, c.slots.sparse[static_cast<std::size_t>(o)], nullptr);
      ops::op_io<T> io{B, sh, {}, toks, {}, {}, prm, &ws.arena};
      T* y = several ? ws.arena.alloc(B * w) : c.out.tokens;
      const index ys = several ? w : ld;
      auto& tape = c.state.sparse_tapes[static_cast<std::size_t>(o)];
      S::visit_sparse(o, [&]<class Op>() { Op::forward(io, tape, y, ys); });
      if (several) ops::kit::add_block(y, w, c.out.tokens, ld, B, w);
    });
  }
  void dense_operators(int i, block_call& c, workspace<T>& ws) const {
    const index B = ws.batch;
    const auto& sh = c.plan.shape;
    const auto dn = block_dense_inputs(this->layout_, ws, i, c.b.dense_in, false);
    const auto toks = block_token_inputs(this->layout_, ws, i, c.b.sparse_in, false);
    const std::uint32_t set = c.b.dense_op_set();
    const bool several = std::popcount(set) > 1;
    const index ld = c.out.ld;
    if (several) zero_rows(c.state.dense_pre, ld, B, sh.d);
    for_each_bit(set, [&](int o) {
      const auto prm =
          slot_refs(this->params_, c.slots.dense[static_cast<std::size_t>(o)], nullptr);
      ops::op_io<T> io{B,
                       sh,
                       dn,
                       toks,
                       source_input(ws, c.b.left, false),
                       source_input(ws, c.b.right, false),
                       prm,
                       &ws.arena};
      T* y = several ? ws.arena.alloc(B * ld) : c.state.dense_pre;
      auto& tape = c.state.dense_tapes[static_cast<std::size_t>(o)];
      S::visit_dense(o, [&]<class Op>() { Op::forward(io, tape, y, ld); });
      if (several) ops::kit::add_block(y, ld, c.state.dense_pre, ld, B, sh.d);
    });
  }
  // sparse_to_dense mergers add into a copy of the dense operator's output.
  void sparse_to_dense(block_call& c, workspace<T>& ws) const {
    const index B = ws.batch, ld = c.out.ld;
    bool any = false;
    S::for_each_merger([&]<class M>(auto m) {
      if constexpr (M::direction == ops::merge_direction::sparse_to_dense) {
        if (((c.plan.run_mergers >> m) & 1U) == 0) return;
        if (!any) {
          c.out.dense = ws.arena.alloc(B * ld);
          std::copy(c.state.dense_pre, c.state.dense_pre + B * ld, c.out.dense);
          any = true;
        }
        const std::array<ops::token_seg<T>, 1> t{
            ops::token_seg<T>{c.out.tokens, nullptr, c.out.example_stride, c.plan.s, 0}};
        const auto prm =
            slot_refs(this->params_, c.slots.merger[static_cast<std::size_t>(m)], nullptr);
        ops::op_io<T> io{B, c.plan.shape, {}, t, {}, {}, prm, &ws.arena};
        M::forward(io, c.state.merger_tapes[static_cast<std::size_t>(m)], c.out.dense, ld);
      }
    });
    c.state.merged = any;
  }
  // dense_to_sparse mergers write their tokens after the operator's.
  void dense_to_sparse(block_call& c, workspace<T>& ws) const {
    const index B = ws.batch, ld = c.out.ld;
    std::size_t part = 1;
    S::for_each_merger([&]<class M>(auto m) {
      if constexpr (M::direction == ops::merge_direction::dense_to_sparse) {
        if (((c.plan.run_mergers >> m) & 1U) != 0) {
          const auto& pt = c.out.parts[part];
          const bool merged = M::reads_merged(c.plan.shape);
          const std::array<ops::dense_seg<T>, 1> x{
              ops::dense_seg<T>{merged ? c.out.dense : c.state.dense_pre, nullptr, ld, ld, 0}};
          const auto prm =
              slot_refs(this->params_, c.slots.merger[static_cast<std::size_t>(m)], nullptr);
          ops::op_io<T> io{B, c.plan.shape, x, {}, {}, {}, prm, &ws.arena};
          M::forward(io, c.state.merger_tapes[static_cast<std::size_t>(m)],
                     c.out.tokens + pt.mem * E, c.out.example_stride);
        }
        if (c.b.merger(m)) ++part;
      }
    });
  }

  // ---- backward -----------------------------------------------------------------------------
  void block_backward(const architecture& a, int i, workspace<T>& ws, T* grads) const {
    auto c = call(a, i, ws);
    if (!c.state.ran) return;
    dense_to_sparse_backward(c, ws, grads);
    // sparse_to_dense mergers: their gradient is d(dense_out); then dense_pre gets it too.
    sparse_to_dense_backward(c, ws, grads);
    if (c.state.merged)
      ops::kit::add_block(c.out.gdense, c.out.ld, c.state.gdense_pre, c.out.ld, ws.batch, c.out.ld);
    // A sum of operators: each gets the same output gradient.
    if (c.plan.run_sparse) sparse_operators_backward(i, c, ws, grads);
    if (c.plan.run_dense) dense_operators_backward(i, c, ws, grads);
  }
  // In reverse order of the forward.
  void dense_to_sparse_backward(block_call& c, workspace<T>& ws, T* grads) const {
    std::vector<int> mergers;
    S::for_each_merger([&]<class M>(auto m) {
      if constexpr (M::direction == ops::merge_direction::dense_to_sparse) mergers.push_back(m);
    });
    std::vector<std::size_t> part_of(static_cast<std::size_t>(S::num_mergers), 0);
    std::size_t part = 0;
    for (int m : mergers)
      if (c.b.merger(m)) part_of[static_cast<std::size_t>(m)] = ++part;
    for (auto it = mergers.rbegin(); it != mergers.rend(); ++it) {
      const int m = *it;
      if (((c.plan.run_mergers >> m) & 1U) == 0) continue;
      S::visit_merger(m, [&]<class M>() {
        if constexpr (M::direction == ops::merge_direction::dense_to_sparse) {
          const auto& pt = c.out.parts[part_of[static_cast<std::size_t>(m)]];
          const bool merged = M::reads_merged(c.plan.shape);
          const std::array<ops::dense_seg<T>, 1> x{
              ops::dense_seg<T>{merged ? c.out.dense : c.state.dense_pre,
                                merged ? c.out.gdense : c.state.gdense_pre, c.out.ld, c.out.ld, 0}};
          const auto prm =
              slot_refs(this->params_, c.slots.merger[static_cast<std::size_t>(m)], grads);
          ops::op_io<T> io{ws.batch, c.plan.shape, x, {}, {}, {}, prm, &ws.arena};
          M::backward(io, c.state.merger_tapes[static_cast<std::size_t>(m)],
                      c.out.gtokens + pt.mem * E, c.out.example_stride);
        }
      });
    }
  }
  void sparse_to_dense_backward(block_call& c, workspace<T>& ws, T* grads) const {
    S::for_each_merger([&]<class M>(auto m) {
      if constexpr (M::direction == ops::merge_direction::sparse_to_dense) {
        if (((c.plan.run_mergers >> m) & 1U) == 0) return;
        const std::array<ops::token_seg<T>, 1> t{
            ops::token_seg<T>{c.out.tokens, c.out.gtokens, c.out.example_stride, c.plan.s, 0}};
        const auto prm =
            slot_refs(this->params_, c.slots.merger[static_cast<std::size_t>(m)], grads);
        ops::op_io<T> io{ws.batch, c.plan.shape, {}, t, {}, {}, prm, &ws.arena};
        M::backward(io, c.state.merger_tapes[static_cast<std::size_t>(m)], c.out.gdense, c.out.ld);
      }
    });
  }
  void sparse_operators_backward(int i, block_call& c, workspace<T>& ws, T* grads) const {
    const auto toks = block_token_inputs(this->layout_, ws, i, c.b.sparse_in, true);
    for_each_bit(c.b.sparse_op_set(), [&](int o) {
      const auto prm = slot_refs(this->params_, c.slots.sparse[static_cast<std::size_t>(o)], grads);
      ops::op_io<T> io{ws.batch, c.plan.shape, {}, toks, {}, {}, prm, &ws.arena};
      const auto& tape = c.state.sparse_tapes[static_cast<std::size_t>(o)];
      S::visit_sparse(
          o, [&]<class Op>() { Op::backward(io, tape, c.out.gtokens, c.out.example_stride); });
    });
  }
  void dense_operators_backward(int i, block_call& c, workspace<T>& ws, T* grads) const {
    const auto dn = block_dense_inputs(this->layout_, ws, i, c.b.dense_in, true);
    const auto toks = block_token_inputs(this->layout_, ws, i, c.b.sparse_in, true);
    for_each_bit(c.b.dense_op_set(), [&](int o) {
      const auto prm = slot_refs(this->params_, c.slots.dense[static_cast<std::size_t>(o)], grads);
      ops::op_io<T> io{ws.batch,
                       c.plan.shape,
                       dn,
                       toks,
                       source_input(ws, c.b.left, true),
                       source_input(ws, c.b.right, true),
                       prm,
                       &ws.arena};
      const auto& tape = c.state.dense_tapes[static_cast<std::size_t>(o)];
      S::visit_dense(o, [&]<class Op>() { Op::backward(io, tape, c.state.gdense_pre, c.out.ld); });
    });
  }

  /// Zeroes the first n elements of each of the B rows of x (row stride ld).
  static void zero_rows(T* x, index ld, index B, index n) {
    for (index b = 0; b < B; ++b) std::fill(x + b * ld, x + b * ld + n, T(0));
  }
};

}  // namespace recnas::supernet
