#pragma once
// Shapes and liveness of one architecture on one dataset: what every block reads and
// produces at its true widths, and which tensors can reach the head. The head reads only the
// last block; a block's dense output needs its sparse operator only through an active
// sparse_to_dense merger, and its sparse output needs its dense operator only through an
// active dense_to_sparse merger. Liveness is per tensor, as the reference's traced FLOPs.

#include <cstdint>
#include <string>
#include <vector>

#include "recnas/core/datasets.hpp"
#include "recnas/supernet/architecture.hpp"

namespace recnas::supernet {

/// The inputs of a model: Nd raw dense features (stem dense output) and one embedding table
/// of E = 16 per categorical feature (stem sparse output: F tokens).
struct data_shape {
  index dense_features = 13;
  std::vector<index> table_rows = std::vector<index>(26, 1000);
  [[nodiscard]] index sparse_features() const noexcept {
    return static_cast<index>(table_rows.size());
  }
  /// The three datasets of the reference, with tables of `rows` rows each.
  static data_shape criteo(index rows = 1000) {
    return {datasets::criteo_dense_features,
            std::vector<index>(datasets::criteo_table_sizes.size(), rows)};
  }
  static data_shape avazu(index rows = 1000) {
    return {datasets::avazu_dense_features,
            std::vector<index>(datasets::avazu_table_sizes.size(), rows)};
  }
  static data_shape kdd(index rows = 1000) {
    return {datasets::kdd_dense_features,
            std::vector<index>(datasets::kdd_table_sizes.size(), rows)};
  }
};

struct block_plan {
  // true widths
  index d = 0;
  index s = 0;
  index tokens_out = 0;  // s + tokens of the active dense_to_sparse mergers
  ops::op_shape shape;   // the operators' shape (inputs concatenated in ascending order)
  // liveness
  bool dense_live = false;
  bool sparse_live = false;
  bool run_dense = false;
  bool run_sparse = false;
  std::uint32_t run_mergers = 0;  // active mergers whose output is needed
  [[nodiscard]] bool live() const noexcept { return dense_live || sparse_live; }
};

struct model_plan {
  std::vector<block_plan> blocks;
  index head_width = 0;  // d_last + E * tokens_last
  [[nodiscard]] std::vector<int> live_blocks() const {
    std::vector<int> v;
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      if (blocks[i].live()) v.push_back(static_cast<int>(i));
    }
    return v;
  }
};

/// Width / tokens of source j given the plans of blocks before it.
inline index source_width(const data_shape& ds, const std::vector<block_plan>& p, int j) {
  return j == 0 ? ds.dense_features : p[static_cast<std::size_t>(j - 1)].d;
}
inline index source_tokens(const data_shape& ds, const std::vector<block_plan>& p, int j) {
  return j == 0 ? ds.sparse_features() : p[static_cast<std::size_t>(j - 1)].tokens_out;
}

template <class S>
[[nodiscard]] model_plan make_plan(const architecture& a, const data_shape& ds,
                                   bool layernorm = false) {
  validate<S>(a);
  model_plan mp;
  auto& P = mp.blocks;
  P.resize(a.blocks.size());
  for (std::size_t i = 0; i < a.blocks.size(); ++i) {
    const auto& b = a.blocks[i];
    auto& p = P[i];
    p.d = b.d;
    p.s = b.s;
    p.tokens_out = b.s;
    S::for_each_merger([&]<class M>(auto m) {
      if (M::direction == ops::merge_direction::dense_to_sparse && b.merger(m))
        p.tokens_out += M::tokens;
    });
    auto& sh = p.shape;
    for (int j = 0; j <= static_cast<int>(i); ++j) {
      if (connect::contains(b.dense_in, j)) sh.in_width += source_width(ds, P, j);
      if (connect::contains(b.sparse_in, j)) sh.in_tokens += source_tokens(ds, P, j);
    }
    sh.left_width = source_width(ds, P, b.left);
    sh.right_width = source_width(ds, P, b.right);
    sh.d = b.d;
    sh.s = b.s;
    sh.layernorm = layernorm;
  }
  const auto last = P.size() - 1;
  mp.head_width = P[last].d + ops::embed_dim * P[last].tokens_out;
  P[last].dense_live = P[last].sparse_live = true;
  for (std::size_t ii = P.size(); ii-- > 0;) {
    const auto& b = a.blocks[ii];
    auto& p = P[ii];
    bool need_dense_op = p.dense_live;
    bool merged_read = false;
    S::for_each_merger([&]<class M>(auto m) {
      if constexpr (M::direction == ops::merge_direction::dense_to_sparse) {
        if (b.merger(m) && p.sparse_live) {
          p.run_mergers |= 1U << m;
          need_dense_op = true;
          if (M::reads_merged(p.shape)) merged_read = true;
        }
      }
    });
    bool need_sparse_op = p.sparse_live;
    S::for_each_merger([&]<class M>(auto m) {
      if constexpr (M::direction == ops::merge_direction::sparse_to_dense) {
        if (b.merger(m) && (p.dense_live || merged_read)) {
          p.run_mergers |= 1U << m;
          need_sparse_op = true;
        }
      }
    });
    p.run_dense = need_dense_op;
    p.run_sparse = need_sparse_op;
    auto mark = [&](ops::reads r) {
      for (int j = 1; j <= static_cast<int>(ii); ++j) {
        auto& src = P[static_cast<std::size_t>(j - 1)];
        if (ops::has(r, ops::reads::dense) && connect::contains(b.dense_in, j))
          src.dense_live = true;
        if (ops::has(r, ops::reads::sparse) && connect::contains(b.sparse_in, j))
          src.sparse_live = true;
        if (ops::has(r, ops::reads::left_right) && (b.left == j || b.right == j))
          src.dense_live = true;
      }
    };
    if (p.run_dense) {
      for_each_bit(b.dense_op_set(),
                   [&](int o) { S::visit_dense(o, [&]<class Op>() { mark(Op::inputs); }); });
    }
    if (p.run_sparse) {
      for_each_bit(b.sparse_op_set(),
                   [&](int o) { S::visit_sparse(o, [&]<class Op>() { mark(Op::inputs); }); });
    }
  }
  return mp;
}

/// A 64-bit hash of the network architecture `a` prunes to: dead blocks, operators that do
/// not run, inputs no running operator reads and mergers whose output nobody needs do not
/// count, so two encodings that train and score as the same network hash alike (a search
/// scores such a network once and keeps it once in its top-k). FNV-1a, stable across
/// platforms; not equal to architecture::hash().
template <class S>
[[nodiscard]] std::uint64_t pruned_hash(const architecture& a, const data_shape& ds) {
  const model_plan mp = make_plan<S>(a, ds);
  std::uint64_t h = 0x84222325cbf29ce4ULL;
  auto mix = [&](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xFFU;
      h *= 0x100000001b3ULL;
    }
  };
  mix(a.blocks.size());
  for (std::size_t i = 0; i < a.blocks.size(); ++i) {
    const auto& b = a.blocks[i];
    const auto& p = mp.blocks[i];
    if (!p.live()) {
      mix(0x64656164ULL);  // "dead"
      continue;
    }
    ops::reads used{};
    const auto add = [&](ops::reads r) { used = used | r; };
    if (p.run_dense)
      for_each_bit(b.dense_op_set(),
                   [&](int o) { S::visit_dense(o, [&]<class Op>() { add(Op::inputs); }); });
    if (p.run_sparse)
      for_each_bit(b.sparse_op_set(),
                   [&](int o) { S::visit_sparse(o, [&]<class Op>() { add(Op::inputs); }); });
    mix(0x6c697665ULL);  // "live"
    mix(p.run_dense ? 1 : 0);
    if (p.run_dense) {
      mix(static_cast<std::uint64_t>(b.dense_op));
      mix(b.extra_dense());
      mix(static_cast<std::uint64_t>(b.d));
    }
    mix(p.run_sparse ? 1 : 0);
    if (p.run_sparse) {
      mix(static_cast<std::uint64_t>(b.sparse_op));
      mix(b.extra_sparse());
      mix(static_cast<std::uint64_t>(b.s));
    }
    mix(ops::has(used, ops::reads::dense) ? b.dense_in : 0);
    mix(ops::has(used, ops::reads::sparse) ? b.sparse_in : 0);
    const bool lr = ops::has(used, ops::reads::left_right);
    mix(lr ? static_cast<std::uint64_t>(b.left) : 0);
    mix(lr ? static_cast<std::uint64_t>(b.right) : 0);
    mix(p.run_mergers);
  }
  return h;
}

}  // namespace recnas::supernet
