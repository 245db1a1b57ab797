#pragma once
// How one architecture's weights sit inside a supernet: the runs of supernet columns each
// entry of its compact layout takes (what subnet(a, super) copies and what co-design's
// fake quantization rewrites), and the entries a backward of it writes.

#include <algorithm>
#include <cstddef>
#include <vector>

#include "recnas/core/error.hpp"
#include "recnas/supernet/layout.hpp"
#include "recnas/supernet/segments.hpp"
#include "recnas/supernet/workspace.hpp"

namespace recnas::supernet {

/// A run of columns of a supernet weight that one architecture uses: rows [0, rows) of
/// parameter entry `entry`, columns [col, col + width); they are columns
/// [compact_col, compact_col + width) of entry `compact_entry` of the architecture's compact
/// layout (the standalone subnet's).
struct weight_run {
  std::size_t compact_entry = 0;
  std::size_t entry = 0;
  index rows = 0;
  index col = 0;
  index compact_col = 0;
  index width = 0;
};

/// The layer weights (and head) of one architecture inside a supernet, embedding tables aside:
/// `compact` is the subnet's parameter layout, `runs` where each of its entries comes from.
struct slice_map {
  std::vector<param_entry> compact;
  std::vector<weight_run> runs;
};

/// The sorted entries a backward of `a` in `mode` writes: for each operator and merger that
/// runs, the slots it declares non-empty at the executed shape (declare() always lists the
/// same slots, an unused one with zero rows, e.g. a skipped projection or the bias under
/// LayerNorm); every embedding table; the head.
template <class S>
std::vector<std::size_t> entries_written(const network_layout<S>& layout, const architecture& a,
                                         const model_plan& mp, exec_mode mode) {
  std::vector<std::size_t> v;
  const auto& entries = layout.entries();
  auto add = [&]<class Op>(const slot_range& r, const ops::op_shape& sh) {
    ops::param_declarer d;
    Op::declare(sh, d);
    expects(r.present && d.decls().size() == r.count, "operator slots match the layout");
    for (std::size_t k = 0; k < r.count; ++k) {
      if (d.decls()[k].size() > 0 && entries[r.first + k].size() > 0) v.push_back(r.first + k);
    }
  };
  for (int i = 0; i < S::num_blocks; ++i) {
    const auto& b = a.blocks[static_cast<std::size_t>(i)];
    const auto& pl = mp.blocks[static_cast<std::size_t>(i)];
    if (!pl.run_dense && !pl.run_sparse) continue;
    const auto sh = exec_shape(layout, mode, i, a, mp);
    const auto& slots = layout.slots(i);
    if (pl.run_dense) {
      for_each_bit(b.dense_op_set(), [&](int o) {
        S::visit_dense(o, [&]<class Op>() {
          add.template operator()<Op>(slots.dense[static_cast<std::size_t>(o)], sh);
        });
      });
    }
    if (pl.run_sparse) {
      for_each_bit(b.sparse_op_set(), [&](int o) {
        S::visit_sparse(o, [&]<class Op>() {
          add.template operator()<Op>(slots.sparse[static_cast<std::size_t>(o)], sh);
        });
      });
    }
    S::for_each_merger([&]<class M>(auto m) {
      if (((pl.run_mergers >> m) & 1U) != 0)
        add.template operator()<M>(slots.merger[static_cast<std::size_t>(m)], sh);
    });
  }
  v.insert(v.end(), layout.embeddings().begin(), layout.embeddings().end());
  v.push_back(layout.head().first);
  v.push_back(layout.head().first + 1);
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

/// Calls f(k, kf, dst_col, src_col, width) for every run of columns the compact entry k of
/// `mine` takes from the supernet entry kf of `super` (all of k's rows, a prefix of kf's).
/// Every layer entry and the head are visited; embedding tables (whole tables) are not.
template <class S, class F>
void for_each_slice(const network_layout<S>& mine, const network_layout<S>& super, F&& f) {
  expects(mine.fixed_architecture().has_value() && super.shared(),
          "slices map a compact layout onto a supernet (shared layout)");
  const architecture& a = *mine.fixed_architecture();
  const data_shape& ds = mine.shape();
  const model_plan mp = mine.plan(a);
  // Both layouts' segment columns come from the same builders on a shape-only workspace.
  workspace<float> wc, wsh;
  for (auto* w : {&wc, &wsh}) {
    w->sources.assign(static_cast<std::size_t>(S::num_blocks + 1), {});
    w->sources[0].width = w->sources[0].ld = ds.dense_features;
    w->sources[0].parts = {{0, ds.sparse_features(), 0}};
    w->sources[0].tokens_total = ds.sparse_features();
    for (int k = 0; k < S::num_blocks; ++k) {
      auto& s = w->sources[static_cast<std::size_t>(k + 1)];
      s.width = s.ld = mp.blocks[static_cast<std::size_t>(k)].d;
    }
  }
  for (int k = 0; k < S::num_blocks; ++k) {
    set_output_parts<S, float>(mine, wc.sources[static_cast<std::size_t>(k + 1)], a, k, mp,
                               exec_mode::sliced);
    set_output_parts<S, float>(super, wsh.sources[static_cast<std::size_t>(k + 1)], a, k, mp,
                               exec_mode::sliced);
  }
  const auto& mine_entries = mine.entries();
  const auto& super_entries = super.entries();
  auto visit_range = [&](const slot_range& m, const slot_range& t,
                         const std::vector<ops::dense_seg<float>>& dc,
                         const std::vector<ops::dense_seg<float>>& ds_,
                         const std::vector<ops::token_seg<float>>& tc,
                         const std::vector<ops::token_seg<float>>& ts) {
    for (std::size_t k = 0; k < m.count; ++k) {
      const auto& e = mine_entries[m.first + k];
      const std::size_t kf = t.first + k;
      if (e.size() == 0) continue;
      expects(e.rows <= super_entries[kf].rows, "slice rows inside the supernet's");
      switch (e.decl.cols_map) {
        case ops::cols_kind::prefix:
          f(m.first + k, kf, index{0}, index{0}, e.cols);
          break;
        case ops::cols_kind::dense_in:
          for (std::size_t q = 0; q < dc.size(); ++q)
            f(m.first + k, kf, dc[q].col, ds_[q].col, dc[q].width);
          break;
        case ops::cols_kind::token_in:
          for (std::size_t q = 0; q < tc.size(); ++q)
            f(m.first + k, kf, tc[q].col, ts[q].col, tc[q].tokens);
          break;
      }
    }
  };
  for (int i = 0; i < S::num_blocks; ++i) {
    const auto& b = a.blocks[static_cast<std::size_t>(i)];
    const auto& ms = mine.slots(i);
    const auto& ss = super.slots(i);
    const auto dc = block_dense_inputs(mine, wc, i, b.dense_in, false),
               dsh = block_dense_inputs(super, wsh, i, b.dense_in, false);
    const auto tc = block_token_inputs(mine, wc, i, b.sparse_in, false),
               tsh = block_token_inputs(super, wsh, i, b.sparse_in, false);
    auto one = [&](const slot_range& m, const slot_range& t) {
      if (m.present) visit_range(m, t, dc, dsh, tc, tsh);
    };
    for_each_bit(b.dense_op_set(), [&](int o) {
      one(ms.dense[static_cast<std::size_t>(o)], ss.dense[static_cast<std::size_t>(o)]);
    });
    for_each_bit(b.sparse_op_set(), [&](int o) {
      one(ms.sparse[static_cast<std::size_t>(o)], ss.sparse[static_cast<std::size_t>(o)]);
    });
    for (int m = 0; m < S::num_mergers; ++m)
      one(ms.merger[static_cast<std::size_t>(m)], ss.merger[static_cast<std::size_t>(m)]);
  }
  // Head: dense prefix, then the token parts; its bias.
  const auto hc = head_inputs(mine, wc, false), hsh = head_inputs(super, wsh, false);
  for (std::size_t q = 0; q < hc.size(); ++q)
    f(mine.head().first, super.head().first, hc[q].col, hsh[q].col, hc[q].width);
  f(mine.head().first + 1, super.head().first + 1, index{0}, index{0}, index{1});
}

/// `a`'s slice map in the supernet layout `super`.
template <class S>
slice_map active_slices(const network_layout<S>& super, const architecture& a) {
  expects(super.shared(), "active_slices: a supernet (shared layout) maps slices");
  const network_layout<S> mine(a, super.shape(), super.options());
  slice_map m;
  m.compact = mine.entries();
  for_each_slice(mine, super, [&](std::size_t k, std::size_t kf, index cd, index cs, index w) {
    m.runs.push_back({k, kf, m.compact[k].rows, cs, cd, w});
  });
  return m;
}

/// Copies the supernet's slices (and whole embedding tables) into a compact layout's values.
template <class S, class T>
void copy_slices(const network_layout<S>& mine, parameters<T>& dst, const network_layout<S>& super,
                 const parameters<T>& src) {
  const T* sv = src.values().data();
  T* dv = dst.values().data();
  for_each_slice(mine, super, [&](std::size_t k, std::size_t kf, index cd, index cs, index w) {
    const auto& e = dst.entries()[k];
    const auto& g = src.entries()[kf];
    for (index r = 0; r < e.rows; ++r)
      std::copy(sv + g.offset + r * g.cols + cs, sv + g.offset + r * g.cols + cs + w,
                dv + e.offset + r * e.cols + cd);
  });
  for (std::size_t f = 0; f < mine.embeddings().size(); ++f) {
    const auto& e = dst.entries()[mine.embeddings()[f]];
    const auto& g = src.entries()[super.embeddings()[f]];
    std::copy(sv + g.offset, sv + g.offset + g.size(), dv + e.offset);
  }
}

}  // namespace recnas::supernet
