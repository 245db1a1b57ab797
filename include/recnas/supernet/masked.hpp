#pragma once
// The masked executor: the shared layout run the way the reference does. Every block runs
// every chosen operator and merger at the space's largest widths, reachable or not (eager
// forward; backward then goes through the live ones only, as autograd does), reads every
// earlier source at full width with zeros where a source is not selected, and zero-masks
// outputs and their gradients beyond the active widths. It computes the same function as the
// sliced executor at a much higher cost; it exists as the benchmark baseline and for
// comparisons.

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <span>
#include <vector>

#include "recnas/supernet/executor.hpp"

namespace recnas::supernet {

template <class S, class T>
class masked_executor : executor_base<S, T> {
  using base = executor_base<S, T>;
  static constexpr index E = base::E;

 public:
  using base::base;

  void forward(const architecture& a, const ctr_batch& batch, workspace<T>& ws,
               std::span<T> logits) const {
    expects(this->layout_.shared(), "masked mode needs the shared layout");
    ws.begin(batch, exec_mode::masked, this->layout_.plan(a), S::num_blocks);
    const index B = batch.size;
    const index zmax =
        B * std::max(this->layout_.shared_dense_base(1) + S::max_dense_dim,
                     E * (this->layout_.max_tokens(1) + this->layout_.max_tokens(0)));
    ws.zeros = ws.arena.zeros(zmax);
    // Every source is seen at full width, zeros where not computed.
    for (int k = 0; k < S::num_blocks; ++k) {
      auto& s = ws.sources[static_cast<std::size_t>(k + 1)];
      set_output_parts<S, T>(this->layout_, s, a, k, ws.plan, exec_mode::masked);
      s.width = s.ld = S::max_dense_dim;
      s.example_stride = s.tokens_total * E;
      s.dense = s.tokens = ws.zeros;
    }
    this->stem(ws);
    for (int i = 0; i < S::num_blocks; ++i) block_forward(a, i, ws);
    this->head(ws, logits);
  }

  void backward(const architecture& a, workspace<T>& ws, std::span<const T> dlogits,
                T* grads) const {
    this->backward_stages(a, ws, dlogits, grads, exec_mode::masked,
                          [&](int i) { block_backward(a, i, ws, grads); });
  }

 private:
  void block_forward(const architecture& a, int i, workspace<T>& ws) const {
    const index B = ws.batch;
    const auto& b = a.blocks[static_cast<std::size_t>(i)];
    const auto& pl = ws.plan.blocks[static_cast<std::size_t>(i)];
    auto& st = ws.blocks[static_cast<std::size_t>(i)];
    auto& out = ws.sources[static_cast<std::size_t>(i + 1)];
    const auto& slots = this->layout_.slots(i);
    // Every chosen merger runs, needed or not.
    const std::uint32_t run_m = b.mergers & ((std::uint32_t{1} << S::num_mergers) - 1U);
    st.ran = pl.run_dense || pl.run_sparse;
    st.dense_tapes.assign(S::num_dense_ops, {});
    st.sparse_tapes.assign(S::num_sparse_ops, {});
    st.merger_tapes.assign(S::num_mergers, {});
    const auto sh = exec_shape(this->layout_, exec_mode::masked, i, a, ws.plan);
    set_output_parts<S, T>(this->layout_, out, a, i, ws.plan, exec_mode::masked);
    out.width = out.ld = S::max_dense_dim;
    out.example_stride = out.tokens_total * E;
    const index ld = out.ld, stride = out.example_stride;
    // Unwritten tokens and merger parts must read as zeros.
    out.tokens = ws.arena.zeros(B * stride);
    st.dense_pre = ws.arena.zeros(B * ld);
    out.dense = st.dense_pre;
    {  // the sparse operators, summed into the zeroed output
      const auto toks = block_token_inputs(this->layout_, ws, i, b.sparse_in, false);
      const std::uint32_t set = b.sparse_op_set();
      const bool several = std::popcount(set) > 1;
      const index w = sh.s * E;
      for_each_bit(set, [&](int o) {
        const auto prm =
            slot_refs(this->params_, slots.sparse[static_cast<std::size_t>(o)], nullptr);
        ops::op_io<T> io{B, sh, {}, toks, {}, {}, prm, &ws.arena};
        T* y = several ? ws.arena.alloc(B * w) : out.tokens;
        auto& tape = st.sparse_tapes[static_cast<std::size_t>(o)];
        S::visit_sparse(o, [&]<class Op>() { Op::forward(io, tape, y, several ? w : stride); });
        if (several) ops::kit::add_block(y, w, out.tokens, stride, B, w);
      });
      mask_tokens(out.tokens, stride, B, pl.s, S::max_sparse_dim);
    }
    {  // the dense operators
      const auto dn = block_dense_inputs(this->layout_, ws, i, b.dense_in, false);
      const auto toks = block_token_inputs(this->layout_, ws, i, b.sparse_in, false);
      const std::uint32_t set = b.dense_op_set();
      const bool several = std::popcount(set) > 1;
      for_each_bit(set, [&](int o) {
        const auto prm =
            slot_refs(this->params_, slots.dense[static_cast<std::size_t>(o)], nullptr);
        ops::op_io<T> io{B,
                         sh,
                         dn,
                         toks,
                         source_input(ws, b.left, false),
                         source_input(ws, b.right, false),
                         prm,
                         &ws.arena};
        T* y = several ? ws.arena.alloc(B * ld) : st.dense_pre;
        auto& tape = st.dense_tapes[static_cast<std::size_t>(o)];
        S::visit_dense(o, [&]<class Op>() { Op::forward(io, tape, y, ld); });
        if (several) ops::kit::add_block(y, ld, st.dense_pre, ld, B, sh.d);
      });
      mask_dense(st.dense_pre, B, ld, pl.d);
    }
    // sparse_to_dense mergers: each masked term is added into a copy of the dense output.
    bool any_s2d = false;
    S::for_each_merger([&]<class M>(auto m) {
      if constexpr (M::direction == ops::merge_direction::sparse_to_dense) {
        if (((run_m >> m) & 1U) == 0) return;
        if (!any_s2d) {
          out.dense = ws.arena.alloc(B * ld);
          std::copy(st.dense_pre, st.dense_pre + B * ld, out.dense);
          any_s2d = true;
        }
        const std::array<ops::token_seg<T>, 1> t{
            ops::token_seg<T>{out.tokens, nullptr, stride, S::max_sparse_dim, 0}};
        const auto prm =
            slot_refs(this->params_, slots.merger[static_cast<std::size_t>(m)], nullptr);
        ops::op_io<T> io{B, sh, {}, t, {}, {}, prm, &ws.arena};
        T* term = ws.arena.zeros(B * ld);
        M::forward(io, st.merger_tapes[static_cast<std::size_t>(m)], term, ld);
        mask_dense(term, B, ld, pl.d);
        ops::kit::add_block(term, ld, out.dense, ld, B, ld);
      }
    });
    st.merged = any_s2d;
    // dense_to_sparse mergers read the dense operator's output and fill their parts.
    std::size_t part = 1;
    S::for_each_merger([&]<class M>(auto m) {
      if constexpr (M::direction == ops::merge_direction::dense_to_sparse) {
        if (((run_m >> m) & 1U) != 0) {
          const auto& pt = out.parts[part];
          const std::array<ops::dense_seg<T>, 1> x{
              ops::dense_seg<T>{st.dense_pre, nullptr, ld, ld, 0}};
          const auto prm =
              slot_refs(this->params_, slots.merger[static_cast<std::size_t>(m)], nullptr);
          ops::op_io<T> io{B, sh, x, {}, {}, {}, prm, &ws.arena};
          M::forward(io, st.merger_tapes[static_cast<std::size_t>(m)], out.tokens + pt.mem * E,
                     stride);
        }
        ++part;
      }
    });
  }

  void block_backward(const architecture& a, int i, workspace<T>& ws, T* grads) const {
    const index B = ws.batch;
    const auto& b = a.blocks[static_cast<std::size_t>(i)];
    const auto& pl = ws.plan.blocks[static_cast<std::size_t>(i)];
    auto& st = ws.blocks[static_cast<std::size_t>(i)];
    if (!st.ran) return;
    auto& out = ws.sources[static_cast<std::size_t>(i + 1)];
    const auto sh = exec_shape(this->layout_, exec_mode::masked, i, a, ws.plan);
    const auto& slots = this->layout_.slots(i);
    const index ld = out.ld, stride = out.example_stride;
    // The masks zero these gradients in the reference.
    mask_dense(out.gdense, B, ld, pl.d);
    mask_tokens(out.gtokens, stride, B, pl.s, S::max_sparse_dim);
    {  // dense_to_sparse mergers, in reverse order
      std::vector<int> d2s;
      S::for_each_merger([&]<class M>(auto m) {
        if constexpr (M::direction == ops::merge_direction::dense_to_sparse) d2s.push_back(m);
      });
      std::vector<std::size_t> part_of(static_cast<std::size_t>(S::num_mergers), 0);
      std::size_t part = 0;
      for (int m : d2s) part_of[static_cast<std::size_t>(m)] = ++part;
      for (auto it = d2s.rbegin(); it != d2s.rend(); ++it) {
        const int m = *it;
        if (((pl.run_mergers >> m) & 1U) == 0) continue;
        S::visit_merger(m, [&]<class M>() {
          if constexpr (M::direction == ops::merge_direction::dense_to_sparse) {
            const auto& pt = out.parts[part_of[static_cast<std::size_t>(m)]];
            const std::array<ops::dense_seg<T>, 1> x{
                ops::dense_seg<T>{st.dense_pre, st.gdense_pre, ld, ld, 0}};
            const auto prm =
                slot_refs(this->params_, slots.merger[static_cast<std::size_t>(m)], grads);
            ops::op_io<T> io{B, sh, x, {}, {}, {}, prm, &ws.arena};
            M::backward(io, st.merger_tapes[static_cast<std::size_t>(m)], out.gtokens + pt.mem * E,
                        stride);
          }
        });
      }
    }
    // sparse_to_dense mergers see the masked gradient of the dense output.
    S::for_each_merger([&]<class M>(auto m) {
      if constexpr (M::direction == ops::merge_direction::sparse_to_dense) {
        if (((pl.run_mergers >> m) & 1U) == 0) return;
        const std::array<ops::token_seg<T>, 1> t{
            ops::token_seg<T>{out.tokens, out.gtokens, stride, S::max_sparse_dim, 0}};
        const auto prm = slot_refs(this->params_, slots.merger[static_cast<std::size_t>(m)], grads);
        ops::op_io<T> io{B, sh, {}, t, {}, {}, prm, &ws.arena};
        T* g = ws.arena.alloc(B * ld);
        std::copy(out.gdense, out.gdense + B * ld, g);
        mask_dense(g, B, ld, pl.d);
        M::backward(io, st.merger_tapes[static_cast<std::size_t>(m)], g, ld);
      }
    });
    if (st.merged) ops::kit::add_block(out.gdense, ld, st.gdense_pre, ld, B, ld);
    mask_dense(st.gdense_pre, B, ld, pl.d);
    mask_tokens(out.gtokens, stride, B, pl.s, S::max_sparse_dim);  // after the FM's term
    if (pl.run_sparse) {
      const auto toks = block_token_inputs(this->layout_, ws, i, b.sparse_in, true);
      for_each_bit(b.sparse_op_set(), [&](int o) {
        const auto prm = slot_refs(this->params_, slots.sparse[static_cast<std::size_t>(o)], grads);
        ops::op_io<T> io{B, sh, {}, toks, {}, {}, prm, &ws.arena};
        const auto& tape = st.sparse_tapes[static_cast<std::size_t>(o)];
        S::visit_sparse(o, [&]<class Op>() { Op::backward(io, tape, out.gtokens, stride); });
      });
    }
    if (pl.run_dense) {
      const auto dn = block_dense_inputs(this->layout_, ws, i, b.dense_in, true);
      const auto toks = block_token_inputs(this->layout_, ws, i, b.sparse_in, true);
      for_each_bit(b.dense_op_set(), [&](int o) {
        const auto prm = slot_refs(this->params_, slots.dense[static_cast<std::size_t>(o)], grads);
        ops::op_io<T> io{B,
                         sh,
                         dn,
                         toks,
                         source_input(ws, b.left, true),
                         source_input(ws, b.right, true),
                         prm,
                         &ws.arena};
        const auto& tape = st.dense_tapes[static_cast<std::size_t>(o)];
        S::visit_dense(o, [&]<class Op>() { Op::backward(io, tape, st.gdense_pre, ld); });
      });
    }
  }

  /// Zeroes columns [d, ld) of the B rows of y.
  static void mask_dense(T* y, index B, index ld, index d) {
    for (index b = 0; b < B; ++b) std::fill(y + b * ld + d, y + (b + 1) * ld, T(0));
  }
  /// Zeroes tokens [s, t1) of every example of x (example stride `stride`).
  static void mask_tokens(T* x, index stride, index B, index s, index t1) {
    for (index b = 0; b < B; ++b) std::fill(x + b * stride + s * E, x + b * stride + t1 * E, T(0));
  }
};

}  // namespace recnas::supernet
