#pragma once
// Where a network's parameters live. Two layouts of one space:
//   * shared  (the supernet): every operator of every block at the space's largest widths,
//     inputs laid out for *all* earlier sources at their largest widths;
//   * compact (a standalone subnet): only the operators a fixed architecture runs, at their
//     true widths, inputs laid out for the selected sources only; dead blocks have nothing.
// A layout is the list of parameter entries plus, per block, which entries each operator and
// merger owns; it holds no values, so slices can be mapped without allocating tables.

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "recnas/ops/concepts.hpp"
#include "recnas/supernet/architecture.hpp"
#include "recnas/supernet/parameters.hpp"
#include "recnas/supernet/plan.hpp"

namespace recnas::supernet {

struct model_options {
  /// Supernet-style LayerNorm after projections (instead of biases). The reference trains
  /// its supernet with LN and its final models without.
  bool layernorm = false;
  /// How parameters start; see init_scheme.
  init_scheme init = init_scheme::fan_in_uniform;
};

enum class layout_kind : std::uint8_t { shared, compact };

/// The parameter entries [first, first + count) one operator or merger declared.
struct slot_range {
  std::size_t first = 0;
  std::size_t count = 0;
  bool present = false;
};
/// Per block, one slot range per dense operator, sparse operator and merger (by index).
struct block_slots {
  std::vector<slot_range> dense, sparse, merger;
};

namespace detail {
// String concatenation by appending (GCC 12 warns falsely on operator+ chains at -O2).
inline std::string cat(std::initializer_list<std::string_view> parts) {
  std::string r;
  for (auto q : parts) r.append(q.data(), q.size());
  return r;
}
}  // namespace detail

template <class S>
class network_layout {
 public:
  /// The supernet layout.
  network_layout(const data_shape& ds, model_options opts)
      : ds_(ds), opts_(opts), kind_(layout_kind::shared) {
    build_shared();
  }
  /// The compact layout of `a` (dead blocks and unused operators pruned).
  network_layout(const architecture& a, const data_shape& ds, model_options opts)
      : ds_(ds), opts_(opts), kind_(layout_kind::compact), fixed_(a) {
    build_compact(a);
  }

  [[nodiscard]] const data_shape& shape() const noexcept { return ds_; }
  [[nodiscard]] const model_options& options() const noexcept { return opts_; }
  [[nodiscard]] layout_kind kind() const noexcept { return kind_; }
  [[nodiscard]] bool shared() const noexcept { return kind_ == layout_kind::shared; }
  [[nodiscard]] const std::optional<architecture>& fixed_architecture() const noexcept {
    return fixed_;
  }
  [[nodiscard]] const std::vector<param_entry>& entries() const noexcept { return entries_; }
  [[nodiscard]] const block_slots& slots(int block) const {
    return slots_[static_cast<std::size_t>(block)];
  }
  /// The entry index of each embedding table, by sparse feature.
  [[nodiscard]] const std::vector<std::size_t>& embeddings() const noexcept { return emb_; }
  /// The head's weight row and bias (two entries).
  [[nodiscard]] const slot_range& head() const noexcept { return head_; }

  /// The plan of `a` on this layout's dataset and options.
  [[nodiscard]] model_plan plan(const architecture& a) const {
    return make_plan<S>(a, ds_, opts_.layernorm);
  }

  // ---- the shared layout's geometry (source j = 0 is the stem, j = k + 1 block k) ---------
  static constexpr index all_merger_tokens() { return S::max_merger_tokens(); }
  [[nodiscard]] index max_width(int j) const {
    return j == 0 ? ds_.dense_features : S::max_dense_dim;
  }
  [[nodiscard]] index max_tokens(int j) const {
    return j == 0 ? ds_.sparse_features() : S::max_sparse_dim + all_merger_tokens();
  }
  /// First weight column of source j's dense slice in a shared-layout block.
  [[nodiscard]] index shared_dense_base(int j) const {
    index c = 0;
    for (int k = 0; k < j; ++k) c += max_width(k);
    return c;
  }
  /// First weight column (in tokens) of source j's token slice in a shared-layout block.
  [[nodiscard]] index shared_token_base(int j) const {
    index c = 0;
    for (int k = 0; k < j; ++k) c += max_tokens(k);
    return c;
  }
  /// The shape block i's operators are declared with in the shared layout.
  [[nodiscard]] ops::op_shape max_shape(int i) const {
    ops::op_shape s;
    index wmax = 0;
    for (int j = 0; j <= i; ++j) {
      s.in_width += max_width(j);
      s.in_tokens += max_tokens(j);
      wmax = std::max(wmax, max_width(j));
    }
    s.left_width = s.right_width = wmax;
    s.d = S::max_dense_dim;
    s.s = S::max_sparse_dim;
    s.layernorm = opts_.layernorm;
    s.all_subshapes = true;
    return s;
  }
  [[nodiscard]] index head_cols_shared() const {
    return S::max_dense_dim + ops::embed_dim * (S::max_sparse_dim + all_merger_tokens());
  }

 private:
  std::size_t add(param_entry e) {
    entries_.push_back(std::move(e));
    return entries_.size() - 1;
  }
  slot_range add_op(const std::string& prefix, const ops::param_declarer& d) {
    slot_range r{entries_.size(), d.decls().size(), true};
    for (const auto& decl : d.decls()) {
      param_entry e;
      e.name = detail::cat({prefix, ".", decl.name});
      e.rows = decl.rows;
      e.cols = decl.rows == 0 ? 0 : decl.cols;
      e.decl = decl;
      add(std::move(e));
    }
    return r;
  }
  template <class Op>
  slot_range declare(const std::string& block_prefix, const ops::op_shape& sh) {
    ops::param_declarer d;
    Op::declare(sh, d);
    return add_op(detail::cat({block_prefix, Op::name}), d);
  }
  void add_stem_and_head(index head_cols) {
    for (index f = 0; f < ds_.sparse_features(); ++f) {
      param_entry e;
      e.name = detail::cat({"stem.emb", std::to_string(f)});
      e.rows = ds_.table_rows[static_cast<std::size_t>(f)];
      e.cols = ops::embed_dim;
      e.embedding = true;
      e.decl.rows = e.rows;
      e.decl.cols = e.cols;
      emb_.push_back(add(std::move(e)));
    }
    ops::param_declarer d;
    d.matrix("W", 1, head_cols);
    d.bias("b", 1, head_cols);
    head_ = add_op("head", d);
  }
  block_slots& new_block(int i) {
    auto& bs = slots_[static_cast<std::size_t>(i)];
    bs.dense.resize(S::num_dense_ops);
    bs.sparse.resize(S::num_sparse_ops);
    bs.merger.resize(S::num_mergers);
    return bs;
  }
  void build_shared() {
    slots_.resize(S::num_blocks);
    for (int i = 0; i < S::num_blocks; ++i) {
      const auto sh = max_shape(i);
      auto& bs = new_block(i);
      const std::string p = detail::cat({"block", std::to_string(i), "."});
      for (int o = 0; o < S::num_dense_ops; ++o) {
        S::visit_dense(
            o, [&]<class Op>() { bs.dense[static_cast<std::size_t>(o)] = declare<Op>(p, sh); });
      }
      for (int o = 0; o < S::num_sparse_ops; ++o) {
        S::visit_sparse(
            o, [&]<class Op>() { bs.sparse[static_cast<std::size_t>(o)] = declare<Op>(p, sh); });
      }
      S::for_each_merger(
          [&]<class M>(auto m) { bs.merger[static_cast<std::size_t>(m)] = declare<M>(p, sh); });
    }
    add_stem_and_head(head_cols_shared());
  }
  void build_compact(const architecture& a) {
    const model_plan mp = plan(a);
    slots_.resize(S::num_blocks);
    for (int i = 0; i < S::num_blocks; ++i) {
      const auto& b = a.blocks[static_cast<std::size_t>(i)];
      const auto& pl = mp.blocks[static_cast<std::size_t>(i)];
      auto& bs = new_block(i);
      const std::string p = detail::cat({"block", std::to_string(i), "."});
      if (pl.run_dense) {
        for_each_bit(b.dense_op_set(), [&](int o) {
          S::visit_dense(o, [&]<class Op>() {
            bs.dense[static_cast<std::size_t>(o)] = declare<Op>(p, pl.shape);
          });
        });
      }
      if (pl.run_sparse) {
        for_each_bit(b.sparse_op_set(), [&](int o) {
          S::visit_sparse(o, [&]<class Op>() {
            bs.sparse[static_cast<std::size_t>(o)] = declare<Op>(p, pl.shape);
          });
        });
      }
      S::for_each_merger([&]<class M>(auto m) {
        if (((pl.run_mergers >> m) & 1U) == 0) return;
        bs.merger[static_cast<std::size_t>(m)] = declare<M>(p, pl.shape);
      });
    }
    add_stem_and_head(mp.head_width);
  }

  data_shape ds_;
  model_options opts_;
  layout_kind kind_;
  std::optional<architecture> fixed_;
  std::vector<param_entry> entries_;
  std::vector<block_slots> slots_;
  std::vector<std::size_t> emb_;
  slot_range head_;
};

}  // namespace recnas::supernet
