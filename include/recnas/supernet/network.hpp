#pragma once
// The executor shared by the supernet and the standalone subnet. A network owns a parameter
// set in one of two layouts:
//   * shared  (the supernet): every operator of every block at the space's largest widths,
//     inputs laid out for *all* earlier sources at their largest widths;
//   * compact (a standalone subnet): only the operators a fixed architecture runs, at their
//     true widths, inputs laid out for the selected sources only; dead blocks have nothing.
// Forward and backward visit each block once, build the input segments (source views plus
// the column where that source's slice starts in the layout) and call the chosen operator,
// which computes on the active widths only. A third mode, `masked`, runs the shared layout
// the way the reference does (full widths, every source, zero-masking); it exists as the
// benchmark baseline and for comparisons.

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "recnas/core/quantize.hpp"
#include "recnas/core/tensor.hpp"
#include "recnas/ops/concepts.hpp"
#include "recnas/ops/kit.hpp"
#include "recnas/supernet/architecture.hpp"
#include "recnas/supernet/parameters.hpp"
#include "recnas/supernet/plan.hpp"
#include "recnas/train/loss.hpp"

namespace recnas::supernet {

/// One batch in the data engineer's layout: dense [B, Nd] floats and categorical ids [B, F]
/// (int32 or int64, already hashed into each table's range).
struct ctr_batch {
  index size = 0;
  matrix_view<const float> dense;
  const std::int32_t* ids32 = nullptr;
  const std::int64_t* ids64 = nullptr;
  index ids_ld = 0;  // row stride of the ids
  [[nodiscard]] std::int64_t id(index b, index f) const noexcept {
    return ids64 != nullptr ? ids64[b * ids_ld + f] : ids32[b * ids_ld + f];
  }
};

struct model_options {
  /// Supernet-style LayerNorm after projections (instead of biases). The reference trains
  /// its supernet with LN and its final models without.
  bool layernorm = false;
  /// How parameters start; see init_scheme.
  init_scheme init = init_scheme::fan_in_uniform;
};

enum class layout_kind : std::uint8_t { shared, compact };
enum class exec_mode : std::uint8_t { sliced, masked };

/// Per-call state: activations, operator tapes and gradients. One per thread; a network is
/// read-only during forward, so several threads may evaluate different architectures at once.
template <class T>
class workspace {
 public:
  struct part {
    index mem = 0;    // first token in the block's token buffer
    index count = 0;  // tokens
    index col = 0;    // weight column (in tokens) within the source's slice of the layout
  };
  struct source {
    T* dense = nullptr;
    T* gdense = nullptr;
    index ld = 0;     // row stride of dense (= width in memory)
    index width = 0;  // active width
    T* tokens = nullptr;
    T* gtokens = nullptr;
    index bs = 0;  // tokens in memory per example * E
    std::vector<part> parts;
    index tokens_total = 0;  // active tokens (compact layout width)
  };
  struct block_state {
    bool ran = false;
    T* dense_pre = nullptr;  // the dense operator's output (kept intact for its backward)
    T* gdense_pre = nullptr;
    std::vector<ops::tape<T>> tapes;  // dense ops, then sparse ops, then mergers (by index)
    bool merged = false;              // dense_out != dense_pre
  };

  ops::arena<T> arena;
  std::vector<source> sources;
  std::vector<block_state> blocks;
  std::vector<T> logits;
  model_plan plan;
  index batch = 0;
  const ctr_batch* input = nullptr;
  exec_mode mode = exec_mode::sliced;
  bool have_forward = false;
  T* zeros = nullptr;  // masked mode: the stand-in for unselected sources
  // Activation quantization: the head input's quantized copies (same layout as the last
  // source's dense and token buffers), which the head's forward and backward read.
  T* head_dense_q = nullptr;
  T* head_tokens_q = nullptr;

  /// After backward: the sorted parameter-entry indices whose gradients it may have written
  /// (the running operators' non-empty slots at the executed widths, every embedding table,
  /// the head). Entries not listed kept their gradients. For embedding tables, the rows are
  /// the batch's ids.
  [[nodiscard]] const std::vector<std::size_t>& touched() const noexcept { return touched_; }

 private:
  template <class S, class U>
  friend class network;
  std::vector<std::size_t> touched_;
};

/// Mean binary cross-entropy with logits for float or double networks (the per-example terms
/// are train/loss.hpp's); writes d(loss)/d(logit) into dlogits.
template <class T>
double bce_with_logits(std::span<const T> logits, std::span<const float> labels,
                       std::span<T> dlogits) {
  const auto n = static_cast<double>(logits.size());
  double loss = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    const double z = static_cast<double>(logits[i]);
    const double y = labels[i];
    loss += train::bce_with_logit(z, y);
    dlogits[i] = static_cast<T>((train::sigmoid(z) - y) / n);
  }
  return loss / n;
}

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
/// Activation fake quantization in the forward, for quantization-aware training: the values
/// that reach the first crossbars from outside the network body (the raw dense features and
/// each table's embedding rows) and the head's input, each on a signed min/max grid of `bits`
/// bits (core/quantize.hpp), as co-design's evaluation quantizes them. Backward is the
/// straight-through estimator: min/max grids never clip, so gradients pass unchanged, and the
/// head's weight gradient sees the quantized input it multiplied.
struct activation_quantization {
  int bits = 0;  // 0: off
  /// Per sparse feature, the range (max |value|) of its whole embedding table, as evaluation
  /// quantizes whole tables; the grid always covers the batch's rows of the table too. Empty:
  /// the batch's rows alone set each table's grid (what training uses, since scanning every
  /// table at every step would cost more than the step).
  std::vector<double> table_range;
};

/// The layer weights (and head) of one architecture inside a supernet, embedding tables aside:
/// `compact` is the subnet's parameter layout, `runs` where each of its entries comes from.
struct slice_map {
  std::vector<param_entry> compact;
  std::vector<weight_run> runs;
};

template <class S, class T = float>
class network {
 public:
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "recnas networks compute in float (training) or double (gradient checks).");
  using space_type = S;
  using value_type = T;

  /// The supernet layout.
  network(const data_shape& ds, model_options opts, std::uint64_t seed = 0)
      : ds_(ds), opts_(opts), kind_(layout_kind::shared) {
    build_shared();
    params_.allocate();
    params_.initialize(seed, opts_.init);
  }
  /// The compact layout of `a` (dead blocks and unused operators pruned), freshly initialised.
  network(const architecture& a, const data_shape& ds, model_options opts, std::uint64_t seed = 0)
      : ds_(ds), opts_(opts), kind_(layout_kind::compact), fixed_(a) {
    build_compact(a);
    params_.allocate();
    params_.initialize(seed, opts_.init);
  }
  /// The compact layout of `a` with the slices of a supernet's weights copied in.
  network(const architecture& a, const network& super)
      : ds_(super.ds_), opts_(super.opts_), kind_(layout_kind::compact), fixed_(a) {
    expects(super.kind_ == layout_kind::shared, "copying slices needs a supernet (shared layout)");
    build_compact(a);
    params_.allocate();
    copy_slices_from(super);
  }

  [[nodiscard]] parameters<T>& params() noexcept { return params_; }
  [[nodiscard]] const parameters<T>& params() const noexcept { return params_; }
  [[nodiscard]] const data_shape& shape() const noexcept { return ds_; }
  [[nodiscard]] const model_options& options() const noexcept { return opts_; }
  [[nodiscard]] layout_kind layout() const noexcept { return kind_; }
  [[nodiscard]] const std::optional<architecture>& fixed_architecture() const noexcept {
    return fixed_;
  }

  /// Logits [B] of architecture `a` on `batch`. `grads` (same layout as params) is only
  /// touched by backward. The workspace keeps what backward needs.
  void forward(const architecture& a, const ctr_batch& batch, workspace<T>& ws, std::span<T> logits,
               exec_mode mode = exec_mode::sliced) const {
    expects(static_cast<index>(logits.size()) == batch.size, "forward: one logit per example");
    expects(batch.dense.cols() == ds_.dense_features, "forward: dense feature count");
    if (kind_ == layout_kind::compact) {
      expects(fixed_.has_value() && a == *fixed_,
              "a standalone subnet runs only its own architecture");
      expects(mode == exec_mode::sliced, "masked mode needs the shared layout");
    }
    run_forward(a, batch, ws, logits, mode);
  }
  /// Accumulates d(loss)/d(params) into `grads` (default: params().grads()), given
  /// dlogits = d(loss)/d(logits) for the last forward on `ws`.
  void backward(const architecture& a, workspace<T>& ws, std::span<const T> dlogits,
                std::span<T> grads = {}) {
    expects(ws.have_forward, "backward needs a forward on the same workspace");
    T* g = grads.empty() ? params_.grads().data() : grads.data();
    expects(grads.empty() || grads.size() == params_.size(), "backward: gradient buffer layout");
    run_backward(a, ws, dlogits, g);
  }

  /// Quantize activations in every later forward (bits 0: stop). Not thread-safe against a
  /// concurrent forward; set it between steps.
  void quantize_activations(activation_quantization q) {
    expects(q.bits == 0 || (q.bits >= 2 && q.bits <= 24),
            "quantize_activations: 2..24 bits, or 0 for float");
    expects(q.table_range.empty() || q.table_range.size() == emb_.size(),
            "quantize_activations: one table range per sparse feature, or none");
    aq_ = std::move(q);
  }
  [[nodiscard]] const activation_quantization& activation_quantizer() const noexcept { return aq_; }
  /// Per sparse feature, max |value| of its embedding table.
  [[nodiscard]] std::vector<double> embedding_ranges() const {
    std::vector<double> r;
    for (const auto k : emb_) {
      const auto& e = params_.entries()[k];
      r.push_back(value_range(params_.values().data() + e.offset, e.size(), true));
    }
    return r;
  }

  /// The entry index of embedding table f.
  [[nodiscard]] std::size_t embedding_entry(index f) const {
    return emb_[static_cast<std::size_t>(f)];
  }
  /// The head's weight row and bias entries (candidate evaluation fine-tunes only these).
  [[nodiscard]] std::array<std::size_t, 2> head_entries() const noexcept {
    return {head_.first, head_.first + 1};
  }
  /// Where architecture `a`'s layer weights live in this supernet (shared layout only): the
  /// entries of subnet<S>(a, *this) and the runs of supernet columns each one copies. This is
  /// how weights are read or rewritten slice by slice without building the subnet (e.g.
  /// fake-quantizing a sampled path's weights for one training step).
  [[nodiscard]] slice_map active_slices(const architecture& a) const {
    expects(kind_ == layout_kind::shared, "active_slices: a supernet (shared layout) maps slices");
    const network layout(a, ds_, opts_, layout_only_t{});
    slice_map m;
    m.compact = layout.params_.entries();
    layout.for_each_slice(*this, [&](std::size_t k, std::size_t kf, index cd, index cs, index w) {
      m.runs.push_back({k, kf, m.compact[k].rows, cs, cd, w});
    });
    return m;
  }
  /// The sorted entry indices a backward of `a` in `mode` may write: exactly what
  /// workspace::touched() holds after it, computed without running (per operator slot: the
  /// slots a running operator uses at the executed widths; every embedding table; the head).
  [[nodiscard]] std::vector<std::size_t> active_entries(const architecture& a,
                                                        exec_mode mode = exec_mode::sliced) const {
    if (kind_ == layout_kind::compact) {
      expects(fixed_.has_value() && a == *fixed_,
              "a standalone subnet runs only its own architecture");
      expects(mode == exec_mode::sliced, "masked mode needs the shared layout");
    }
    return entries_written(a, make_plan<S>(a, ds_, opts_.layernorm), mode);
  }

 private:
  struct slot_range {
    std::size_t first = 0;
    std::size_t count = 0;
    bool present = false;
  };
  struct block_slots {
    std::vector<slot_range> dense, sparse, merger;
  };

  // String concatenation by appending (GCC 12 warns falsely on operator+ chains at -O2).
  static std::string cat(std::initializer_list<std::string_view> parts) {
    std::string r;
    for (auto q : parts) r.append(q.data(), q.size());
    return r;
  }

  // ---- layouts ------------------------------------------------------------------------------
  static constexpr index all_merger_tokens() { return S::max_merger_tokens(); }
  [[nodiscard]] index max_width(int j) const {
    return j == 0 ? ds_.dense_features : S::max_dense_dim;
  }
  [[nodiscard]] index max_tokens(int j) const {
    return j == 0 ? ds_.sparse_features() : S::max_sparse_dim + all_merger_tokens();
  }
  [[nodiscard]] index shared_dense_base(int j) const {
    index c = 0;
    for (int k = 0; k < j; ++k) c += max_width(k);
    return c;
  }
  [[nodiscard]] index shared_token_base(int j) const {
    index c = 0;
    for (int k = 0; k < j; ++k) c += max_tokens(k);
    return c;
  }
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

  slot_range add_op(const std::string& prefix, const ops::param_declarer& d) {
    slot_range r{0, d.decls().size(), true};
    r.first = params_.entries().size();
    for (const auto& decl : d.decls()) {
      param_entry e;
      e.name = cat({prefix, ".", decl.name});
      e.rows = decl.rows;
      e.cols = decl.rows == 0 ? 0 : decl.cols;
      e.decl = decl;
      params_.add(std::move(e));
    }
    return r;
  }
  void add_stem_and_head(index head_cols) {
    for (index f = 0; f < ds_.sparse_features(); ++f) {
      param_entry e;
      e.name = cat({"stem.emb", std::to_string(f)});
      e.rows = ds_.table_rows[static_cast<std::size_t>(f)];
      e.cols = ops::embed_dim;
      e.embedding = true;
      e.decl.rows = e.rows;
      e.decl.cols = e.cols;
      emb_.push_back(params_.add(std::move(e)));
    }
    ops::param_declarer d;
    d.matrix("W", 1, head_cols);
    d.bias("b", 1, head_cols);
    head_ = add_op("head", d);
  }
  void build_shared() {
    slots_.resize(S::num_blocks);
    for (int i = 0; i < S::num_blocks; ++i) {
      const auto sh = max_shape(i);
      auto& bs = slots_[static_cast<std::size_t>(i)];
      bs.dense.resize(S::num_dense_ops);
      bs.sparse.resize(S::num_sparse_ops);
      bs.merger.resize(S::num_mergers);
      const std::string p = cat({"block", std::to_string(i), "."});
      for (int o = 0; o < S::num_dense_ops; ++o) {
        S::visit_dense(o, [&]<class Op>() {
          ops::param_declarer d;
          Op::declare(sh, d);
          bs.dense[static_cast<std::size_t>(o)] = add_op(cat({p, Op::name}), d);
        });
      }
      for (int o = 0; o < S::num_sparse_ops; ++o) {
        S::visit_sparse(o, [&]<class Op>() {
          ops::param_declarer d;
          Op::declare(sh, d);
          bs.sparse[static_cast<std::size_t>(o)] = add_op(cat({p, Op::name}), d);
        });
      }
      S::for_each_merger([&]<class M>(auto m) {
        ops::param_declarer d;
        M::declare(sh, d);
        bs.merger[static_cast<std::size_t>(m)] = add_op(cat({p, M::name}), d);
      });
    }
    add_stem_and_head(head_cols_shared());
  }
  void build_compact(const architecture& a) {
    const model_plan mp = make_plan<S>(a, ds_, opts_.layernorm);
    slots_.resize(S::num_blocks);
    for (int i = 0; i < S::num_blocks; ++i) {
      const auto& b = a.blocks[static_cast<std::size_t>(i)];
      const auto& pl = mp.blocks[static_cast<std::size_t>(i)];
      auto& bs = slots_[static_cast<std::size_t>(i)];
      bs.dense.resize(S::num_dense_ops);
      bs.sparse.resize(S::num_sparse_ops);
      bs.merger.resize(S::num_mergers);
      const std::string p = cat({"block", std::to_string(i), "."});
      if (pl.run_dense) {
        for_each_bit(b.dense_op_set(), [&](int o) {
          S::visit_dense(o, [&]<class Op>() {
            ops::param_declarer d;
            Op::declare(pl.shape, d);
            bs.dense[static_cast<std::size_t>(o)] = add_op(cat({p, Op::name}), d);
          });
        });
      }
      if (pl.run_sparse) {
        for_each_bit(b.sparse_op_set(), [&](int o) {
          S::visit_sparse(o, [&]<class Op>() {
            ops::param_declarer d;
            Op::declare(pl.shape, d);
            bs.sparse[static_cast<std::size_t>(o)] = add_op(cat({p, Op::name}), d);
          });
        });
      }
      S::for_each_merger([&]<class M>(auto m) {
        if (((pl.run_mergers >> m) & 1U) == 0) return;
        ops::param_declarer d;
        M::declare(pl.shape, d);
        bs.merger[static_cast<std::size_t>(m)] = add_op(cat({p, M::name}), d);
      });
    }
    add_stem_and_head(mp.head_width);
  }

  // ---- tapes: one per operator and merger of a block ----------------------------------------
  static constexpr std::size_t num_tapes =
      static_cast<std::size_t>(S::num_dense_ops + S::num_sparse_ops + S::num_mergers);
  static constexpr std::size_t dense_tape(int o) { return static_cast<std::size_t>(o); }
  static constexpr std::size_t sparse_tape(int o) {
    return static_cast<std::size_t>(S::num_dense_ops + o);
  }
  static constexpr std::size_t merger_tape(int m) {
    return static_cast<std::size_t>(S::num_dense_ops + S::num_sparse_ops + m);
  }

  // ---- segments -----------------------------------------------------------------------------
  using source = typename workspace<T>::source;

  /// Token parts of block k's output (source k+1) for this layout/mode.
  void set_parts(source& src, const architecture& a, int k, const model_plan& mp,
                 exec_mode mode) const {
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
          src.parts.push_back({mem, M::tokens, kind_ == layout_kind::shared ? all : mem});
          mem += M::tokens;
        }
        all += M::tokens;
      }
    });
    src.tokens_total = mem;
  }

  [[nodiscard]] bool masked(const workspace<T>& ws) const { return ws.mode == exec_mode::masked; }

  std::vector<ops::dense_seg<T>> dense_segs(const workspace<T>& ws, int i, connect::source_set set,
                                            bool grads) const {
    std::vector<ops::dense_seg<T>> v;
    index run = 0;
    for (int j = 0; j <= i; ++j) {
      const bool sel = connect::contains(set, j);
      if (!sel && !masked(ws)) continue;
      const auto& src = ws.sources[static_cast<std::size_t>(j)];
      const index col = kind_ == layout_kind::shared ? shared_dense_base(j) : run;
      if (sel) {
        v.push_back({src.dense, grads && j > 0 ? src.gdense : nullptr, src.ld, src.width, col});
      } else {
        v.push_back({ws.zeros, nullptr, src.ld, src.ld, col});
      }
      run += src.width;
    }
    return v;
  }
  std::vector<ops::token_seg<T>> token_segs(const workspace<T>& ws, int i, connect::source_set set,
                                            bool grads) const {
    std::vector<ops::token_seg<T>> v;
    index run = 0;
    for (int j = 0; j <= i; ++j) {
      const bool sel = connect::contains(set, j);
      if (!sel && !masked(ws)) continue;
      const auto& src = ws.sources[static_cast<std::size_t>(j)];
      const index base = kind_ == layout_kind::shared ? shared_token_base(j) : run;
      for (const auto& pt : src.parts) {
        if (sel) {
          v.push_back({src.tokens + pt.mem * ops::embed_dim,
                       grads ? src.gtokens + pt.mem * ops::embed_dim : nullptr, src.bs, pt.count,
                       base + pt.col});
        } else {
          v.push_back({ws.zeros, nullptr, src.bs, pt.count, base + pt.col});
        }
      }
      run += src.tokens_total;
    }
    return v;
  }
  ops::dense_seg<T> single_seg(const workspace<T>& ws, int j, bool grads) const {
    const auto& src = ws.sources[static_cast<std::size_t>(j)];
    const index w = masked(ws) ? src.ld : src.width;
    return {src.dense, grads && j > 0 ? src.gdense : nullptr, src.ld, w, 0};
  }
  std::vector<ops::param_ref<T>> refs(const slot_range& r, T* grads) const {
    std::vector<ops::param_ref<T>> v;
    v.reserve(r.count);
    for (std::size_t k = 0; k < r.count; ++k) v.push_back(params_.ref(r.first + k, grads));
    return v;
  }
  [[nodiscard]] ops::op_shape exec_shape(const workspace<T>& ws, int i,
                                         const architecture& a) const {
    return exec_shape(ws.mode, i, a, ws.plan);
  }
  [[nodiscard]] ops::op_shape exec_shape(exec_mode mode, int i, const architecture& a,
                                         const model_plan& mp) const {
    if (mode != exec_mode::masked) return mp.blocks[static_cast<std::size_t>(i)].shape;
    auto sh = max_shape(i);
    const auto& b = a.blocks[static_cast<std::size_t>(i)];
    sh.left_width = max_width(b.left);
    sh.right_width = max_width(b.right);
    return sh;
  }
  std::vector<ops::dense_seg<T>> head_segs(const workspace<T>& ws, bool grads) const {
    const auto& src = ws.sources.back();
    std::vector<ops::dense_seg<T>> v;
    const index D = kind_ == layout_kind::shared ? S::max_dense_dim : src.width;
    const T* dense = ws.head_dense_q != nullptr ? ws.head_dense_q : src.dense;
    const T* tokens = ws.head_tokens_q != nullptr ? ws.head_tokens_q : src.tokens;
    v.push_back({dense, grads ? src.gdense : nullptr, src.ld, masked(ws) ? src.ld : src.width, 0});
    for (const auto& pt : src.parts) {
      v.push_back({tokens + pt.mem * ops::embed_dim,
                   grads ? src.gtokens + pt.mem * ops::embed_dim : nullptr, src.bs,
                   pt.count * ops::embed_dim, D + ops::embed_dim * pt.col});
    }
    return v;
  }

  // ---- touched entries ----------------------------------------------------------------------
  /// The entries backward writes: for each operator and merger that runs, the slots it
  /// declares non-empty at the executed shape (declare() always lists the same slots, an unused
  /// one with zero rows, e.g. a skipped projection or the bias under LayerNorm).
  [[nodiscard]] std::vector<std::size_t> entries_written(const architecture& a,
                                                         const model_plan& mp,
                                                         exec_mode mode) const {
    std::vector<std::size_t> v;
    auto add = [&]<class Op>(const slot_range& r, const ops::op_shape& sh) {
      ops::param_declarer d;
      Op::declare(sh, d);
      expects(r.present && d.decls().size() == r.count, "operator slots match the layout");
      for (std::size_t k = 0; k < r.count; ++k) {
        if (d.decls()[k].size() > 0 && params_.entries()[r.first + k].size() > 0)
          v.push_back(r.first + k);
      }
    };
    for (int i = 0; i < S::num_blocks; ++i) {
      const auto& b = a.blocks[static_cast<std::size_t>(i)];
      const auto& pl = mp.blocks[static_cast<std::size_t>(i)];
      if (!pl.run_dense && !pl.run_sparse) continue;
      const auto sh = exec_shape(mode, i, a, mp);
      const auto& slots = slots_[static_cast<std::size_t>(i)];
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
    v.insert(v.end(), emb_.begin(), emb_.end());
    v.push_back(head_.first);
    v.push_back(head_.first + 1);
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
  }

  // ---- forward ------------------------------------------------------------------------------
  void run_forward(const architecture& a, const ctr_batch& batch, workspace<T>& ws,
                   std::span<T> logits, exec_mode mode) const {
    constexpr index E = ops::embed_dim;
    ws.arena.reset();
    ws.plan = make_plan<S>(a, ds_, opts_.layernorm);
    ws.mode = mode;
    ws.batch = batch.size;
    ws.input = &batch;
    ws.have_forward = false;
    ws.head_dense_q = ws.head_tokens_q = nullptr;
    const index B = batch.size;
    const bool msk = mode == exec_mode::masked;
    ws.sources.assign(static_cast<std::size_t>(S::num_blocks + 1), {});
    ws.blocks.assign(static_cast<std::size_t>(S::num_blocks), {});
    if (msk) {
      index zmax = B * std::max(shared_dense_base(1) + S::max_dense_dim,
                                E * (max_tokens(1) + max_tokens(0)));
      ws.zeros = ws.arena.zeros(zmax);
    }
    if (msk) {  // the reference sees every source at full width, zeros where not computed
      for (int k = 0; k < S::num_blocks; ++k) {
        auto& s = ws.sources[static_cast<std::size_t>(k + 1)];
        set_parts(s, a, k, ws.plan, mode);
        s.width = s.ld = S::max_dense_dim;
        s.bs = s.tokens_total * E;
        s.dense = s.tokens = ws.zeros;
      }
    }
    // Stem.
    auto& stem = ws.sources[0];
    stem.ld = stem.width = ds_.dense_features;
    stem.dense = ws.arena.alloc(B * stem.ld);
    for (index b = 0; b < B; ++b) {
      for (index c = 0; c < stem.ld; ++c)
        stem.dense[b * stem.ld + c] = static_cast<T>(batch.dense(b, c));
    }
    if (aq_.bits > 0) quantize_in_place(stem.dense, B * stem.ld, aq_.bits);
    const index F = ds_.sparse_features();
    stem.bs = F * E;
    stem.tokens = ws.arena.alloc(B * stem.bs);
    stem.parts = {{0, F, 0}};
    stem.tokens_total = F;
    for (index b = 0; b < B; ++b) {
      for (index f = 0; f < F; ++f) {
        const auto id = batch.id(b, f);
        const auto& e = params_.entries()[emb_[static_cast<std::size_t>(f)]];
        expects(id >= 0 && id < e.rows, "forward: categorical id outside its table");
        const T* row = params_.values().data() + e.offset + id * E;
        std::copy(row, row + E, stem.tokens + b * stem.bs + f * E);
      }
    }
    if (aq_.bits > 0) quantize_tokens(stem.tokens, stem.bs, B, F);
    // Blocks.
    for (int i = 0; i < S::num_blocks; ++i) {
      const auto& b = a.blocks[static_cast<std::size_t>(i)];
      const auto& pl = ws.plan.blocks[static_cast<std::size_t>(i)];
      auto& st = ws.blocks[static_cast<std::size_t>(i)];
      auto& out = ws.sources[static_cast<std::size_t>(i + 1)];
      // Masked mode is the reference's eager forward: every block runs its operators and
      // active mergers, reachable or not (autograd then goes back only through the live ones).
      const bool run_d = msk || pl.run_dense, run_s = msk || pl.run_sparse;
      const std::uint32_t run_m =
          msk ? b.mergers & ((std::uint32_t{1} << S::num_mergers) - 1U) : pl.run_mergers;
      if (!run_d && !run_s) continue;
      st.ran = pl.run_dense || pl.run_sparse;
      st.tapes.assign(num_tapes, {});
      const auto sh = exec_shape(ws, i, a);
      const auto& slots = slots_[static_cast<std::size_t>(i)];
      set_parts(out, a, i, ws.plan, mode);
      out.width = msk ? S::max_dense_dim : pl.d;
      out.ld = out.width;
      out.bs = out.tokens_total * E;
      // Sliced, every element a later reader sees is written (the operators of a live output
      // run, and so do the active dense_to_sparse mergers of a live token output): no zeroing.
      // Masked, unwritten tokens and merger parts must read as zeros.
      out.tokens = msk ? ws.arena.zeros(B * out.bs) : ws.arena.alloc(B * out.bs);
      st.dense_pre = msk ? ws.arena.zeros(B * out.ld) : ws.arena.alloc(B * out.ld);
      out.dense = st.dense_pre;

      // Several operators of one kind (any-path): each writes its own buffer (its backward
      // may read its output), then the outputs are summed; a single one writes in place.
      if (run_s) {
        const auto toks = token_segs(ws, i, b.sparse_in, false);
        const std::uint32_t set = b.sparse_op_set();
        const bool several = std::popcount(set) > 1;
        const index w = sh.s * E;  // the tokens the operators write
        if (several && !msk) zero_rows(out.tokens, out.bs, B, w);
        for_each_bit(set, [&](int o) {
          const auto prm = refs(slots.sparse[static_cast<std::size_t>(o)], nullptr);
          ops::op_io<T> io{B, sh, {}, toks, {}, {}, prm, &ws.arena};
          T* y = several ? ws.arena.alloc(B * w) : out.tokens;
          const index ys = several ? w : out.bs;
          S::visit_sparse(o, [&]<class Op>() { Op::forward(io, st.tapes[sparse_tape(o)], y, ys); });
          if (several) ops::kit::add_block(y, w, out.tokens, out.bs, B, w);
        });
        if (msk) mask_tokens(out.tokens, out.bs, B, pl.s, 0, S::max_sparse_dim);
      }
      if (run_d) {
        const auto dn = dense_segs(ws, i, b.dense_in, false);
        const auto toks = token_segs(ws, i, b.sparse_in, false);
        const std::uint32_t set = b.dense_op_set();
        const bool several = std::popcount(set) > 1;
        if (several && !msk) zero_rows(st.dense_pre, out.ld, B, sh.d);
        for_each_bit(set, [&](int o) {
          const auto prm = refs(slots.dense[static_cast<std::size_t>(o)], nullptr);
          ops::op_io<T> io{B,
                           sh,
                           dn,
                           toks,
                           single_seg(ws, b.left, false),
                           single_seg(ws, b.right, false),
                           prm,
                           &ws.arena};
          T* y = several ? ws.arena.alloc(B * out.ld) : st.dense_pre;
          S::visit_dense(o,
                         [&]<class Op>() { Op::forward(io, st.tapes[dense_tape(o)], y, out.ld); });
          if (several) ops::kit::add_block(y, out.ld, st.dense_pre, out.ld, B, sh.d);
        });
        if (msk) mask_dense(st.dense_pre, B, out.ld, pl.d);
      }
      // sparse_to_dense mergers add into a copy of the dense operator's output.
      bool any_s2d = false;
      S::for_each_merger([&]<class M>(auto m) {
        if constexpr (M::direction == ops::merge_direction::sparse_to_dense) {
          if (((run_m >> m) & 1U) == 0) return;
          if (!any_s2d) {
            out.dense = ws.arena.alloc(B * out.ld);
            std::copy(st.dense_pre, st.dense_pre + B * out.ld, out.dense);
            any_s2d = true;
          }
          const std::array<ops::token_seg<T>, 1> t{
              ops::token_seg<T>{out.tokens, nullptr, out.bs, msk ? S::max_sparse_dim : pl.s, 0}};
          const auto prm = refs(slots.merger[static_cast<std::size_t>(m)], nullptr);
          ops::op_io<T> io{B, sh, {}, t, {}, {}, prm, &ws.arena};
          if (msk) {
            T* tmp = ws.arena.zeros(B * out.ld);
            M::forward(io, st.tapes[merger_tape(m)], tmp, out.ld);
            mask_dense(tmp, B, out.ld, pl.d);
            ops::kit::add_block(tmp, out.ld, out.dense, out.ld, B, out.ld);
            st.tapes[merger_tape(m)].p[15] = tmp;
          } else {
            M::forward(io, st.tapes[merger_tape(m)], out.dense, out.ld);
          }
        }
      });
      st.merged = any_s2d;
      // dense_to_sparse mergers write their tokens after the operator's.
      std::size_t part = 1;
      S::for_each_merger([&]<class M>(auto m) {
        if constexpr (M::direction == ops::merge_direction::dense_to_sparse) {
          const bool on = ((run_m >> m) & 1U) != 0;
          const bool has_part = msk || b.merger(m);
          if (on) {
            const auto& pt = out.parts[part];
            const bool merged = !msk && M::reads_merged(sh);
            const std::array<ops::dense_seg<T>, 1> x{
                ops::dense_seg<T>{merged ? out.dense : st.dense_pre, nullptr, out.ld, out.ld, 0}};
            const auto prm = refs(slots.merger[static_cast<std::size_t>(m)], nullptr);
            ops::op_io<T> io{B, sh, x, {}, {}, {}, prm, &ws.arena};
            M::forward(io, st.tapes[merger_tape(m)], out.tokens + pt.mem * E, out.bs);
          }
          if (has_part) ++part;
        }
      });
    }
    // Head.
    if (aq_.bits > 0) quantize_head_input(ws);
    const auto hs = head_segs(ws, false);
    const auto hr = refs(head_, nullptr);
    ws.logits.assign(static_cast<std::size_t>(B), T(0));
    ops::kit::linear_forward<T>(B, hs, hr[0].w, hr[0].cols, hr[1].w, 1, ws.logits.data(), 1);
    std::copy(ws.logits.begin(), ws.logits.end(), logits.begin());
    ws.have_forward = true;
  }

  // Each table's rows on its own grid: the table's known range widened by the batch's rows.
  void quantize_tokens(T* x, index bs, index B, index F) const {
    constexpr index E = ops::embed_dim;
    for (index f = 0; f < F; ++f) {
      double r = aq_.table_range.empty() ? 0.0 : aq_.table_range[static_cast<std::size_t>(f)];
      for (index b = 0; b < B; ++b) r = std::max(r, value_range(x + b * bs + f * E, E, true));
      const auto g = grid_for_range(r, aq_.bits, true);
      for (index b = 0; b < B; ++b)
        fake_quant_forward(x + b * bs + f * E, E, g, x + b * bs + f * E);
    }
  }
  // One grid over the head's whole input (every segment), written to copies so that the
  // blocks' backward still reads their own float outputs.
  void quantize_head_input(workspace<T>& ws) const {
    const index B = ws.batch;
    const auto& src = ws.sources.back();
    const auto hs = head_segs(ws, false);
    double r = 0.0;
    for (const auto& sg : hs)
      for (index b = 0; b < B; ++b) r = std::max(r, value_range(sg.x + b * sg.ld, sg.width, true));
    const auto g = grid_for_range(r, aq_.bits, true);
    T* qd = ws.arena.alloc(B * src.ld);
    T* qt = src.parts.empty() ? nullptr : ws.arena.alloc(B * src.bs);
    for (std::size_t q = 0; q < hs.size(); ++q) {  // segment 0 is dense, then the token parts
      T* dst = q == 0 ? qd : qt + src.parts[q - 1].mem * ops::embed_dim;
      for (index b = 0; b < B; ++b)
        fake_quant_forward(hs[q].x + b * hs[q].ld, hs[q].width, g, dst + b * hs[q].ld);
    }
    ws.head_dense_q = qd;
    ws.head_tokens_q = qt;
  }

  static void mask_dense(T* y, index B, index ld, index d) {
    for (index b = 0; b < B; ++b) std::fill(y + b * ld + d, y + (b + 1) * ld, T(0));
  }
  /// Zeroes the first n elements of each of the B rows of x (row stride ld).
  static void zero_rows(T* x, index ld, index B, index n) {
    for (index b = 0; b < B; ++b) std::fill(x + b * ld, x + b * ld + n, T(0));
  }
  /// Zeroes tokens [t0 + s, t1) of every example of x (batch stride bs).
  static void mask_tokens(T* x, index bs, index B, index s, index t0, index t1) {
    for (index b = 0; b < B; ++b) {
      std::fill(x + b * bs + (t0 + s) * ops::embed_dim, x + b * bs + t1 * ops::embed_dim, T(0));
    }
  }

  // ---- backward -----------------------------------------------------------------------------
  void run_backward(const architecture& a, workspace<T>& ws, std::span<const T> dlogits, T* grads) {
    constexpr index E = ops::embed_dim;
    const index B = ws.batch;
    const bool msk = masked(ws);
    expects(static_cast<index>(dlogits.size()) == B, "backward: one gradient per logit");
    // Gradient buffers of every produced output.
    auto& stem = ws.sources[0];
    stem.gtokens = ws.arena.zeros(B * stem.bs);
    stem.gdense = nullptr;
    for (int i = 0; i < S::num_blocks; ++i) {
      auto& st = ws.blocks[static_cast<std::size_t>(i)];
      if (!st.ran) continue;
      auto& out = ws.sources[static_cast<std::size_t>(i + 1)];
      out.gdense = ws.arena.zeros(B * out.ld);
      out.gtokens = ws.arena.zeros(B * out.bs);
      st.gdense_pre = st.merged ? ws.arena.zeros(B * out.ld) : out.gdense;
    }
    {
      const auto hs = head_segs(ws, true);
      const auto hr = refs(head_, grads);
      ops::kit::linear_backward<T>(B, hs, hr[0].w, hr[0].g, hr[0].cols, hr[1].g, 1, dlogits.data(),
                                   1);
    }
    for (int i = S::num_blocks - 1; i >= 0; --i) {
      const auto& b = a.blocks[static_cast<std::size_t>(i)];
      const auto& pl = ws.plan.blocks[static_cast<std::size_t>(i)];
      auto& st = ws.blocks[static_cast<std::size_t>(i)];
      if (!st.ran) continue;
      auto& out = ws.sources[static_cast<std::size_t>(i + 1)];
      const auto sh = exec_shape(ws, i, a);
      const auto& slots = slots_[static_cast<std::size_t>(i)];
      if (msk) {  // the masks zero these gradients in the reference
        mask_dense(out.gdense, B, out.ld, pl.d);
        mask_tokens(out.gtokens, out.bs, B, pl.s, 0, S::max_sparse_dim);
      }
      // dense_to_sparse mergers (reverse order).
      {
        std::vector<int> d2s;
        S::for_each_merger([&]<class M>(auto m) {
          if constexpr (M::direction == ops::merge_direction::dense_to_sparse) d2s.push_back(m);
        });
        std::size_t part = 0;
        std::vector<std::size_t> part_of(static_cast<std::size_t>(S::num_mergers), 0);
        for (int m : d2s) {
          if (msk || b.merger(m)) part_of[static_cast<std::size_t>(m)] = ++part;
        }
        for (auto it = d2s.rbegin(); it != d2s.rend(); ++it) {
          const int m = *it;
          if (((pl.run_mergers >> m) & 1U) == 0) continue;
          S::visit_merger(m, [&]<class M>() {
            if constexpr (M::direction == ops::merge_direction::dense_to_sparse) {
              const auto& pt = out.parts[part_of[static_cast<std::size_t>(m)]];
              const bool merged = !msk && M::reads_merged(sh);
              const std::array<ops::dense_seg<T>, 1> x{
                  ops::dense_seg<T>{merged ? out.dense : st.dense_pre,
                                    merged ? out.gdense : st.gdense_pre, out.ld, out.ld, 0}};
              const auto prm = refs(slots.merger[static_cast<std::size_t>(m)], grads);
              ops::op_io<T> io{B, sh, x, {}, {}, {}, prm, &ws.arena};
              M::backward(io, st.tapes[merger_tape(m)], out.gtokens + pt.mem * E, out.bs);
            }
          });
        }
      }
      // sparse_to_dense mergers: their gradient is d(dense_out); then dense_pre gets it too.
      S::for_each_merger([&]<class M>(auto m) {
        if constexpr (M::direction == ops::merge_direction::sparse_to_dense) {
          if (((pl.run_mergers >> m) & 1U) == 0) return;
          const std::array<ops::token_seg<T>, 1> t{ops::token_seg<T>{
              out.tokens, out.gtokens, out.bs, msk ? S::max_sparse_dim : pl.s, 0}};
          const auto prm = refs(slots.merger[static_cast<std::size_t>(m)], grads);
          ops::op_io<T> io{B, sh, {}, t, {}, {}, prm, &ws.arena};
          if (msk) {
            T* g = ws.arena.alloc(B * out.ld);
            std::copy(out.gdense, out.gdense + B * out.ld, g);
            mask_dense(g, B, out.ld, pl.d);
            M::backward(io, st.tapes[merger_tape(m)], g, out.ld);
          } else {
            M::backward(io, st.tapes[merger_tape(m)], out.gdense, out.ld);
          }
        }
      });
      if (st.merged) ops::kit::add_block(out.gdense, out.ld, st.gdense_pre, out.ld, B, out.ld);
      if (msk) mask_dense(st.gdense_pre, B, out.ld, pl.d);
      if (msk)  // after the FM's contribution
        mask_tokens(out.gtokens, out.bs, B, pl.s, 0, S::max_sparse_dim);
      // A sum of operators: each gets the same output gradient.
      if (pl.run_sparse) {
        const auto toks = token_segs(ws, i, b.sparse_in, true);
        for_each_bit(b.sparse_op_set(), [&](int o) {
          const auto prm = refs(slots.sparse[static_cast<std::size_t>(o)], grads);
          ops::op_io<T> io{B, sh, {}, toks, {}, {}, prm, &ws.arena};
          S::visit_sparse(o, [&]<class Op>() {
            Op::backward(io, st.tapes[sparse_tape(o)], out.gtokens, out.bs);
          });
        });
      }
      if (pl.run_dense) {
        const auto dn = dense_segs(ws, i, b.dense_in, true);
        const auto toks = token_segs(ws, i, b.sparse_in, true);
        for_each_bit(b.dense_op_set(), [&](int o) {
          const auto prm = refs(slots.dense[static_cast<std::size_t>(o)], grads);
          ops::op_io<T> io{
              B,   sh,       dn, toks, single_seg(ws, b.left, true), single_seg(ws, b.right, true),
              prm, &ws.arena};
          S::visit_dense(o, [&]<class Op>() {
            Op::backward(io, st.tapes[dense_tape(o)], st.gdense_pre, out.ld);
          });
        });
      }
    }
    // Embedding rows: scatter-add (row-sparse).
    const auto& batch = *ws.input;
    for (index bi = 0; bi < B; ++bi) {
      for (index f = 0; f < ds_.sparse_features(); ++f) {
        const auto& e = params_.entries()[emb_[static_cast<std::size_t>(f)]];
        T* row = grads + e.offset + batch.id(bi, f) * E;
        const T* g = stem.gtokens + bi * stem.bs + f * E;
        for (index c = 0; c < E; ++c) row[c] += g[c];
      }
    }
    ws.touched_ = entries_written(a, ws.plan, ws.mode);
  }

  // ---- slices -------------------------------------------------------------------------------
  struct layout_only_t {};
  /// The compact layout of `a` without values (to map slices without allocating tables).
  network(const architecture& a, const data_shape& ds, model_options opts, layout_only_t)
      : ds_(ds), opts_(opts), kind_(layout_kind::compact), fixed_(a) {
    build_compact(a);
  }

  /// Calls f(k, kf, dst_col, src_col, width) for every run of columns the compact entry k of
  /// this layout takes from the supernet's entry kf (all k's rows, a prefix of kf's rows).
  /// Every layer entry and the head are visited; embedding tables (whole tables) are not.
  template <class F>
  void for_each_slice(const network& super, F&& f) const {
    const architecture& a = *fixed_;
    const model_plan mp = make_plan<S>(a, ds_, opts_.layernorm);
    // Both layouts' segment columns come from the same builders on a shape-only workspace.
    workspace<T> wc, wsh;
    for (auto* w : {&wc, &wsh}) {
      w->sources.assign(static_cast<std::size_t>(S::num_blocks + 1), {});
      w->sources[0].width = w->sources[0].ld = ds_.dense_features;
      w->sources[0].parts = {{0, ds_.sparse_features(), 0}};
      w->sources[0].tokens_total = ds_.sparse_features();
      for (int k = 0; k < S::num_blocks; ++k) {
        auto& s = w->sources[static_cast<std::size_t>(k + 1)];
        s.width = s.ld = mp.blocks[static_cast<std::size_t>(k)].d;
      }
    }
    for (int k = 0; k < S::num_blocks; ++k) {
      set_parts(wc.sources[static_cast<std::size_t>(k + 1)], a, k, mp, exec_mode::sliced);
      super.set_parts(wsh.sources[static_cast<std::size_t>(k + 1)], a, k, mp, exec_mode::sliced);
    }
    auto visit_range =
        [&](const slot_range& mine, const slot_range& theirs,
            const std::vector<ops::dense_seg<T>>& dc, const std::vector<ops::dense_seg<T>>& ds,
            const std::vector<ops::token_seg<T>>& tc, const std::vector<ops::token_seg<T>>& ts) {
          for (std::size_t k = 0; k < mine.count; ++k) {
            const auto& e = params_.entries()[mine.first + k];
            const std::size_t kf = theirs.first + k;
            if (e.size() == 0) continue;
            expects(e.rows <= super.params_.entries()[kf].rows, "slice rows inside the supernet's");
            switch (e.decl.cols_map) {
              case ops::cols_kind::prefix:
                f(mine.first + k, kf, index{0}, index{0}, e.cols);
                break;
              case ops::cols_kind::dense_in:
                for (std::size_t q = 0; q < dc.size(); ++q)
                  f(mine.first + k, kf, dc[q].col, ds[q].col, dc[q].width);
                break;
              case ops::cols_kind::token_in:
                for (std::size_t q = 0; q < tc.size(); ++q)
                  f(mine.first + k, kf, tc[q].col, ts[q].col, tc[q].tokens);
                break;
            }
          }
        };
    for (int i = 0; i < S::num_blocks; ++i) {
      const auto& b = a.blocks[static_cast<std::size_t>(i)];
      const auto& mine = slots_[static_cast<std::size_t>(i)];
      const auto& theirs = super.slots_[static_cast<std::size_t>(i)];
      const auto dc = dense_segs(wc, i, b.dense_in, false),
                 dsh = super.dense_segs(wsh, i, b.dense_in, false);
      const auto tc = token_segs(wc, i, b.sparse_in, false),
                 tsh = super.token_segs(wsh, i, b.sparse_in, false);
      auto one = [&](const slot_range& m, const slot_range& t) {
        if (m.present) visit_range(m, t, dc, dsh, tc, tsh);
      };
      for_each_bit(b.dense_op_set(), [&](int o) {
        one(mine.dense[static_cast<std::size_t>(o)], theirs.dense[static_cast<std::size_t>(o)]);
      });
      for_each_bit(b.sparse_op_set(), [&](int o) {
        one(mine.sparse[static_cast<std::size_t>(o)], theirs.sparse[static_cast<std::size_t>(o)]);
      });
      for (int m = 0; m < S::num_mergers; ++m)
        one(mine.merger[static_cast<std::size_t>(m)], theirs.merger[static_cast<std::size_t>(m)]);
    }
    // Head: dense prefix, then the token parts; its bias.
    const auto hc = head_segs(wc, false), hsh = super.head_segs(wsh, false);
    for (std::size_t q = 0; q < hc.size(); ++q)
      f(head_.first, super.head_.first, hc[q].col, hsh[q].col, hc[q].width);
    f(head_.first + 1, super.head_.first + 1, index{0}, index{0}, index{1});
  }

  void copy_slices_from(const network& super) {
    const T* sv = super.params_.values().data();
    T* dv = params_.values().data();
    for_each_slice(super, [&](std::size_t k, std::size_t kf, index cd, index cs, index w) {
      const auto& e = params_.entries()[k];
      const auto& g = super.params_.entries()[kf];
      for (index r = 0; r < e.rows; ++r)
        std::copy(sv + g.offset + r * g.cols + cs, sv + g.offset + r * g.cols + cs + w,
                  dv + e.offset + r * e.cols + cd);
    });
    // Embeddings: whole tables.
    for (std::size_t f = 0; f < emb_.size(); ++f) {
      const auto& e = params_.entries()[emb_[f]];
      const auto& g = super.params_.entries()[super.emb_[f]];
      std::copy(sv + g.offset, sv + g.offset + g.size(), dv + e.offset);
    }
  }

  data_shape ds_;
  model_options opts_;
  layout_kind kind_;
  std::optional<architecture> fixed_;
  parameters<T> params_;
  std::vector<block_slots> slots_;
  std::vector<std::size_t> emb_;
  slot_range head_;
  activation_quantization aq_;
};

}  // namespace recnas::supernet
