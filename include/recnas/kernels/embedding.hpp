#pragma once
// Embedding lookups of the sparse features and their row-sparse gradients.
//
// Feature f has a table T_f[rows_f, E] (row stride ld). For a batch:
//   embedding_gather:      out[b, f, :] = T_f[ids[b * ids_ld + f], :]               (one-hot)
//   embedding_bag:         out[b, f, :] = sum (or mean) of T_f[ids[j], :] for j in
//                          [offsets[b * F + f], offsets[b * F + f + 1])          (multi-hot)
//   *_backward:            per feature, the sorted unique rows touched and the gradient summed
//                          per row (in example order, so results are deterministic):
//                          out[f].ids[0:count] ascending, out[f].grads[r, :] = sum of dOut rows
//                          (times 1/bag size for mean) whose id is out[f].ids[r].
//   embedding_gather_backward_dense: dT_f[ids[b * ids_ld + f], :] += dOut[b, f, :] into dense
//                          gradient tables, in example order (a trainer's gradient buffers).
// An empty bag gives zeros (and no gradient). Ids are validated before any work.

#include <algorithm>
#include <cstdint>
#include <span>

#include <xsimd/xsimd.hpp>

#include "recnas/core/error.hpp"
#include "recnas/core/tensor.hpp"
#include "recnas/kernels/detail/vec.hpp"
#include "recnas/parallel/threads.hpp"
#include "recnas/simd/dispatch.hpp"

// GCC 12 reports false "(may be) used uninitialized" inside its own AVX-512 intrinsics
// (_mm512_undefined_ps pass-through operands) once they are inlined into kernels.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace recnas::kernels {

/// The tables of F sparse features, all of width e (row stride ld >= e).
struct embedding_tables {
  const float* const* data = nullptr;  // data[f] -> T_f
  const index* rows = nullptr;         // rows[f] = rows of T_f (ids must be < rows[f])
  index features = 0;
  index e = 0;
  index ld = 0;
};

/// Row-sparse gradient of one feature's table, in caller-owned storage.
struct sparse_rows {
  std::int64_t* ids = nullptr;  // capacity entries
  float* grads = nullptr;       // capacity rows of ld floats
  index ld = 0;
  index capacity = 0;
  index count = 0;  // set by the backward kernels
};

enum class bag_mode : int { sum = 0, mean = 1 };

/// The pooled (multi-hot) id lists: bag (b, f) is ids[offsets[b*F+f] : offsets[b*F+f+1]].
struct bag_ids {
  const std::int64_t* ids = nullptr;
  const index* offsets = nullptr;  // batch * features + 1 entries, non-decreasing
};

namespace detail {

/// A sort entry local to each Arch (no code shared between ISA translation units).
template <class Arch>
struct id_entry {
  std::int64_t id;
  std::int64_t b;    // example (order of summation)
  std::int64_t src;  // offset of the source gradient row
};

/// Rows are prefetched `gather_prefetch_rows` lookups ahead (in (example, feature) order):
/// random rows of tables larger than the caches are DRAM misses, and software prefetch keeps
/// many of them in flight. Measured on the 2-core Xeon (huge-page tables): 32..64 rows ahead
/// beats 16 and 256 (too far ahead, prefetched rows are evicted or crowd the fill buffers).
inline constexpr index gather_prefetch_rows = 48;

template <class Arch>
void prefetch_row(const float* row, index e) noexcept {
  __builtin_prefetch(row);
  for (index c = 16; c < e; c += 16) __builtin_prefetch(row + c);
}

template <class Arch>
void gather_range(const embedding_tables& t, const std::int64_t* ids, index ids_ld, index b0,
                  index b1, float* out, index obs, index ots) noexcept {
  const index nf = t.features;
  if (nf == 0 || b1 <= b0) return;
  // The prefetch cursor (pb, pf) runs gather_prefetch_rows lookups ahead of (b, f).
  index pb = b0, pf = 0;
  auto advance = [&] {
    if (++pf == nf) {
      pf = 0;
      ++pb;
    }
  };
  for (index i = 0; i < gather_prefetch_rows && pb < b1; ++i) {
    prefetch_row<Arch>(t.data[pf] + ids[pb * ids_ld + pf] * t.ld, t.e);
    advance();
  }
  for (index b = b0; b < b1; ++b) {
    const std::int64_t* idb = ids + b * ids_ld;
    float* ob = out + b * obs;
    for (index f = 0; f < nf; ++f) {
      if (pb < b1) {
        prefetch_row<Arch>(t.data[pf] + ids[pb * ids_ld + pf] * t.ld, t.e);
        advance();
      }
      vcopy<Arch>(ob + f * ots, t.data[f] + idb[f] * t.ld, t.e);
    }
  }
}

template <class Arch>
void bag_range(const embedding_tables& t, bag_ids bags, bag_mode mode, index b0, index b1,
               float* out, index obs, index ots) noexcept {
  const index nf = t.features;
  if (nf == 0 || b1 <= b0) return;
  // Bag (b, f) ids are ids[offsets[b*F+f] ..]: in (b, f) order they are one contiguous run, so
  // the prefetch cursor is a position in ids (with the feature it belongs to).
  const index j_end = bags.offsets[b1 * nf];
  index pj = bags.offsets[b0 * nf];
  index pbag = b0 * nf;  // bag of position pj
  auto prefetch_to = [&](index target) {
    for (; pj < std::min(target, j_end); ++pj) {
      while (bags.offsets[pbag + 1] <= pj) ++pbag;
      prefetch_row<Arch>(t.data[pbag % nf] + bags.ids[pj] * t.ld, t.e);
    }
  };
  for (index b = b0; b < b1; ++b) {
    for (index f = 0; f < nf; ++f) {
      float* o = out + b * obs + f * ots;
      vzero<Arch>(o, t.e);
      const index j0 = bags.offsets[b * nf + f], j1 = bags.offsets[b * nf + f + 1];
      prefetch_to(j1 + gather_prefetch_rows);
      for (index j = j0; j < j1; ++j) vaxpy<Arch>(o, 1.0f, t.data[f] + bags.ids[j] * t.ld, t.e);
      if (mode == bag_mode::mean && j1 > j0)
        vscale<Arch>(o, 1.0f / static_cast<float>(j1 - j0), t.e);
    }
  }
}

/// Stable LSD radix sort of entries by id (8-bit digits, as many passes as the largest id
/// needs); entries arrive in example order, so equal ids stay in example order. tmp: n entries.
template <class Arch>
id_entry<Arch>* radix_sort_by_id(id_entry<Arch>* a, id_entry<Arch>* tmp, index n) noexcept {
  if (n < 32) {  // insertion sort (stable) for tiny inputs
    for (index i = 1; i < n; ++i) {
      const id_entry<Arch> x = a[i];
      index j = i;
      for (; j > 0 && a[j - 1].id > x.id; --j) a[j] = a[j - 1];
      a[j] = x;
    }
    return a;
  }
  std::uint64_t max_id = 0;
  for (index i = 0; i < n; ++i) max_id |= static_cast<std::uint64_t>(a[i].id);
  for (int shift = 0; shift == 0 || (max_id >> shift) != 0; shift += 8) {
    index pos[256] = {};
    for (index i = 0; i < n; ++i) ++pos[(static_cast<std::uint64_t>(a[i].id) >> shift) & 255];
    index sum = 0;
    for (index& p : pos) {
      const index c = p;
      p = sum;
      sum += c;
    }
    for (index i = 0; i < n; ++i)
      tmp[pos[(static_cast<std::uint64_t>(a[i].id) >> shift) & 255]++] = a[i];
    id_entry<Arch>* swap = a;
    a = tmp;
    tmp = swap;
    if (shift >= 56) break;
  }
  return a;
}

/// Sorts one feature's (id, example, source row) entries and sums runs of equal ids.
/// raw holds 2n entries (the second half is radix scratch). scale[b] (may be null) multiplies
/// example b's gradient (1/bag size for mean bags).
template <class Arch>
void sparse_reduce(std::int64_t* raw, index n, const float* dout, index e, const float* scale,
                   sparse_rows& out) noexcept {
  auto* base = reinterpret_cast<id_entry<Arch>*>(raw);
  id_entry<Arch>* ent = radix_sort_by_id<Arch>(base, base + n, n);
  index r = -1;
  // In id order the dOut rows are read at random (and out of the caches at large batches).
  constexpr index ahead = 16;
  for (index i = 0; i < std::min(n, ahead); ++i) prefetch_row<Arch>(dout + ent[i].src, e);
  for (index i = 0; i < n; ++i) {
    if (i + ahead < n) prefetch_row<Arch>(dout + ent[i + ahead].src, e);
    if (i == 0 || ent[i].id != ent[i - 1].id) {
      ++r;
      out.ids[r] = ent[i].id;
      vzero<Arch>(out.grads + r * out.ld, e);
    }
    const float s = scale != nullptr ? scale[ent[i].b] : 1.0f;
    vaxpy<Arch>(out.grads + r * out.ld, s, dout + ent[i].src, e);
  }
  out.count = r + 1;
}

template <class Arch>
void gather_backward_feature(index f, index batch, index features, const std::int64_t* ids,
                             index ids_ld, const float* dout, index obs, index ots, index e,
                             std::int64_t* raw, sparse_rows& out) noexcept {
  auto* ent = reinterpret_cast<id_entry<Arch>*>(raw);
  for (index b = 0; b < batch; ++b) ent[b] = {ids[b * ids_ld + f], b, b * obs + f * ots};
  (void)features;
  sparse_reduce<Arch>(raw, batch, dout, e, nullptr, out);
}

template <class Arch>
void bag_backward_feature(index f, index batch, index features, bag_ids bags, const float* dout,
                          index obs, index ots, index e, std::int64_t* raw, float* scale,
                          bag_mode mode, sparse_rows& out) noexcept {
  auto* ent = reinterpret_cast<id_entry<Arch>*>(raw);
  index n = 0;
  for (index b = 0; b < batch; ++b) {
    const index j0 = bags.offsets[b * features + f], j1 = bags.offsets[b * features + f + 1];
    scale[b] = mode == bag_mode::mean && j1 > j0 ? 1.0f / static_cast<float>(j1 - j0) : 1.0f;
    for (index j = j0; j < j1; ++j) ent[n++] = {bags.ids[j], b, b * obs + f * ots};
  }
  sparse_reduce<Arch>(raw, n, dout, e, scale, out);
}

/// Features [f0, f1): each table's rows get their examples' gradients in example order, so
/// a row's sum does not depend on how features are split over threads.
template <class Arch>
void gather_backward_dense_range(float* const* dtables, index ld, const std::int64_t* ids,
                                 index ids_ld, index batch, index f0, index f1, const float* dout,
                                 index obs, index ots, index e) noexcept {
  for (index b = 0; b < batch; ++b) {
    const std::int64_t* idb = ids + b * ids_ld;
    const float* gb = dout + b * obs;
    for (index f = f0; f < f1; ++f) vaxpy<Arch>(dtables[f] + idb[f] * ld, 1.0f, gb + f * ots, e);
  }
}

}  // namespace detail

struct embedding_table_k {
  void (*gather_range)(const embedding_tables&, const std::int64_t*, index, index, index, float*,
                       index, index) noexcept = nullptr;
  void (*bag_range)(const embedding_tables&, bag_ids, bag_mode, index, index, float*, index,
                    index) noexcept = nullptr;
  void (*gather_backward_feature)(index, index, index, const std::int64_t*, index, const float*,
                                  index, index, index, std::int64_t*,
                                  sparse_rows&) noexcept = nullptr;
  void (*bag_backward_feature)(index, index, index, bag_ids, const float*, index, index, index,
                               std::int64_t*, float*, bag_mode, sparse_rows&) noexcept = nullptr;
  void (*gather_backward_dense_range)(float* const*, index, const std::int64_t*, index, index,
                                      index, index, const float*, index, index,
                                      index) noexcept = nullptr;

  template <class Arch>
  static embedding_table_k make() {
    return {&detail::gather_range<Arch>, &detail::bag_range<Arch>,
            &detail::gather_backward_feature<Arch>, &detail::bag_backward_feature<Arch>,
            &detail::gather_backward_dense_range<Arch>};
  }
};

// Entry points (they dispatch) and references: never compiled in the ISA translation units,
// where an inline copy built with wider-ISA flags could be the one the linker keeps.
#ifndef RECNAS_ISA_TRANSLATION_UNIT

namespace detail {
inline void check_tables(const embedding_tables& t) {
  expects(t.features >= 0 && t.e >= 0 && t.ld >= t.e, "embedding: tables shape (ld >= e)");
  expects(t.features == 0 || (t.data != nullptr && t.rows != nullptr), "embedding: table pointers");
}
inline void check_id(const embedding_tables& t, index f, std::int64_t id) {
  expects(id >= 0 && id < t.rows[f], "embedding: id inside feature f's table");
}
}  // namespace detail

/// out[b, f, :] = T_f[ids[b * ids_ld + f], :] for b < batch, f < features.
inline void embedding_gather(const embedding_tables& t, const std::int64_t* ids, index ids_ld,
                             index batch, token_view<float> out) {
  detail::check_tables(t);
  expects(out.batch() >= batch && out.tokens() >= t.features && out.width() >= t.e,
          "embedding_gather: output [batch, features, e]");
  for (index b = 0; b < batch; ++b)
    for (index f = 0; f < t.features; ++f) detail::check_id(t, f, ids[b * ids_ld + f]);
  const auto& k = simd::dispatcher<embedding_table_k>::get();
  parallel::parallel_rows(
      batch, static_cast<double>(batch * t.features * t.e),
      [&](index b0, index b1) {
        k.gather_range(t, ids, ids_ld, b0, b1, out.data(), out.batch_stride(), out.token_stride());
      },
      1e5);
}

/// Pooled lookups (sum or mean over each bag).
inline void embedding_bag(const embedding_tables& t, bag_ids bags, bag_mode mode, index batch,
                          token_view<float> out) {
  detail::check_tables(t);
  expects(out.batch() >= batch && out.tokens() >= t.features && out.width() >= t.e,
          "embedding_bag: output [batch, features, e]");
  for (index b = 0; b < batch; ++b) {
    for (index f = 0; f < t.features; ++f) {
      const index j0 = bags.offsets[b * t.features + f], j1 = bags.offsets[b * t.features + f + 1];
      expects(j1 >= j0, "embedding_bag: offsets non-decreasing");
      for (index j = j0; j < j1; ++j) detail::check_id(t, f, bags.ids[j]);
    }
  }
  const auto& k = simd::dispatcher<embedding_table_k>::get();
  const double cost = static_cast<double>(bags.offsets[batch * t.features] - bags.offsets[0]) *
                      static_cast<double>(t.e);
  parallel::parallel_rows(
      batch, cost,
      [&](index b0, index b1) {
        k.bag_range(t, bags, mode, b0, b1, out.data(), out.batch_stride(), out.token_stride());
      },
      1e5);
}

/// Int64 workspace entries the backward calls need.
[[nodiscard]] inline index embedding_backward_workspace(index batch, index features) {
  return 6 * batch * features + 8;
}
[[nodiscard]] inline index embedding_bag_backward_workspace(index total_ids, index batch,
                                                            index features) {
  return 6 * total_ids + (batch / 2 + 1) * features + 8;
}

/// Row-sparse gradient of embedding_gather: out[f] gets feature f's unique rows (capacity >=
/// batch).
inline void embedding_gather_backward(const embedding_tables& t, const std::int64_t* ids,
                                      index ids_ld, index batch, token_view<const float> dout,
                                      std::span<sparse_rows> out,
                                      std::span<std::int64_t> workspace) {
  detail::check_tables(t);
  expects(static_cast<index>(out.size()) == t.features,
          "embedding_gather_backward: one sparse_rows per feature");
  expects(static_cast<index>(workspace.size()) >= 6 * batch * t.features,
          "embedding_gather_backward: workspace (embedding_backward_workspace)");
  for (auto& o : out)
    expects(o.capacity >= batch && o.ld >= t.e, "embedding_gather_backward: capacity >= batch");
  const auto& k = simd::dispatcher<embedding_table_k>::get();
  parallel::parallel_rows(
      t.features, static_cast<double>(batch * t.features * (t.e + 20)),
      [&](index f0, index f1) {
        for (index f = f0; f < f1; ++f) {
          k.gather_backward_feature(f, batch, t.features, ids, ids_ld, dout.data(),
                                    dout.batch_stride(), dout.token_stride(), t.e,
                                    workspace.data() + 6 * batch * f,
                                    out[static_cast<std::size_t>(f)]);
        }
      },
      1e5);
}

/// Dense gradient of embedding_gather: dtables[f][ids[b * ids_ld + f] * t.ld + c] +=
/// dout(b, f, c) (the gradient tables have t's rows and row stride), each row's terms added in
/// example order.
inline void embedding_gather_backward_dense(const embedding_tables& t, const std::int64_t* ids,
                                            index ids_ld, index batch, token_view<const float> dout,
                                            std::span<float* const> dtables) {
  detail::check_tables(t);
  expects(static_cast<index>(dtables.size()) == t.features,
          "embedding_gather_backward_dense: one gradient table per feature");
  expects(dout.batch() >= batch && dout.tokens() >= t.features && dout.width() >= t.e,
          "embedding_gather_backward_dense: dout [batch, features, e]");
  for (index b = 0; b < batch; ++b)
    for (index f = 0; f < t.features; ++f) detail::check_id(t, f, ids[b * ids_ld + f]);
  const auto& k = simd::dispatcher<embedding_table_k>::get();
  parallel::parallel_rows(
      t.features, static_cast<double>(batch * t.features * t.e),
      [&](index f0, index f1) {
        k.gather_backward_dense_range(dtables.data(), t.ld, ids, ids_ld, batch, f0, f1, dout.data(),
                                      dout.batch_stride(), dout.token_stride(), t.e);
      },
      1e5);
}

/// Row-sparse gradient of embedding_bag (capacity of out[f] >= ids of feature f).
inline void embedding_bag_backward(const embedding_tables& t, bag_ids bags, bag_mode mode,
                                   index batch, token_view<const float> dout,
                                   std::span<sparse_rows> out, std::span<std::int64_t> workspace) {
  detail::check_tables(t);
  expects(static_cast<index>(out.size()) == t.features,
          "embedding_bag_backward: one sparse_rows per feature");
  const index total = bags.offsets[batch * t.features] - bags.offsets[0];
  expects(static_cast<index>(workspace.size()) >=
              embedding_bag_backward_workspace(total, batch, t.features),
          "embedding_bag_backward: workspace (embedding_bag_backward_workspace)");
  // Feature f's entries start after those of features < f: prefix counts, then one pass each.
  // Scales (floats) live after the entries, batch per feature.
  std::int64_t* ent = workspace.data();
  auto* scales = reinterpret_cast<float*>(workspace.data() + 6 * total);
  for (index f = 0; f < t.features; ++f) {
    index n = 0;
    for (index b = 0; b < batch; ++b)
      n += bags.offsets[b * t.features + f + 1] - bags.offsets[b * t.features + f];
    expects(out[static_cast<std::size_t>(f)].capacity >= n &&
                out[static_cast<std::size_t>(f)].ld >= t.e,
            "embedding_bag_backward: capacity >= ids of the feature");
  }
  const auto& k = simd::dispatcher<embedding_table_k>::get();
  index start = 0;
  for (index f = 0; f < t.features; ++f) {
    k.bag_backward_feature(f, batch, t.features, bags, dout.data(), dout.batch_stride(),
                           dout.token_stride(), t.e, ent + 6 * start, scales + batch * f, mode,
                           out[static_cast<std::size_t>(f)]);
    for (index b = 0; b < batch; ++b)
      start += bags.offsets[b * t.features + f + 1] - bags.offsets[b * t.features + f];
  }
}

// ---------------------------------------------------------------- references

inline void embedding_bag_ref(const embedding_tables& t, bag_ids bags, bag_mode mode, index batch,
                              token_view<float> out) {
  for (index b = 0; b < batch; ++b) {
    for (index f = 0; f < t.features; ++f) {
      const index j0 = bags.offsets[b * t.features + f], j1 = bags.offsets[b * t.features + f + 1];
      for (index c = 0; c < t.e; ++c) {
        double s = 0;
        for (index j = j0; j < j1; ++j) s += t.data[f][bags.ids[j] * t.ld + c];
        if (mode == bag_mode::mean && j1 > j0) s /= static_cast<double>(j1 - j0);
        out(b, f, c) = static_cast<float>(s);
      }
    }
  }
}

/// Dense reference of the bag backward: dT_f[id, :] += (scaled) dOut[b, f, :] (dT_f row stride e).
inline void embedding_bag_backward_dense_ref(const embedding_tables& t, bag_ids bags, bag_mode mode,
                                             index batch, token_view<const float> dout,
                                             std::span<float* const> dtables) {
  for (index b = 0; b < batch; ++b) {
    for (index f = 0; f < t.features; ++f) {
      const index j0 = bags.offsets[b * t.features + f], j1 = bags.offsets[b * t.features + f + 1];
      const double s = mode == bag_mode::mean && j1 > j0 ? 1.0 / static_cast<double>(j1 - j0) : 1.0;
      for (index j = j0; j < j1; ++j)
        for (index c = 0; c < t.e; ++c)
          dtables[static_cast<std::size_t>(f)][bags.ids[j] * t.e + c] +=
              static_cast<float>(s * dout(b, f, c));
    }
  }
}

#endif  // RECNAS_ISA_TRANSLATION_UNIT
}  // namespace recnas::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
