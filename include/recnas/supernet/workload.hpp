#pragma once
// The PIM workload of one subnet: a generic walk over the architecture that strings together
// the work graphs its live operators describe (Op::work, core/work.hpp). Every step becomes
// one pim::layer: products with a stored weight go on crossbars, products of two activations
// and element-wise work (gating, sums, FM, softmax, LayerNorm) on the digital units. Nothing
// here knows an operator by type, so a user's operator is priced exactly as it describes
// itself. The walk adds only what belongs to the block and the model, not to an operator: the
// embedding lookup of the stem (when some live operator reads the raw tokens), the sums of
// several operators of one kind (micro any-path), the merger terms added into the dense output
// and the head Linear(d_last + 16 t_last -> 1). Work that cannot reach the logit
// (supernet::make_plan's per-tensor liveness) emits nothing.
//
// Concatenations are free: a layer reads every producer of its sources (a block's sparse
// output is its sparse operator's tokens plus the dense_to_sparse tokens). The workload's MACs
// equal the subnet's FLOPs without their LayerNorm terms (tests/unit/pim/test_adapter.cpp).
// It lives in supernet/ so that pim/ depends on core/ only.

#include <algorithm>
#include <array>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

#include "recnas/core/work.hpp"
#include "recnas/ops/concepts.hpp"
#include "recnas/pim/workload.hpp"
#include "recnas/supernet/plan.hpp"
#include "recnas/supernet/space.hpp"

namespace recnas::supernet {

struct workload_options {
  int weight_bits = 0;  // every layer (0: the config's default)
  int act_bits = 0;
  double zipf_s = 1.05;  // embedding access skew
};

namespace detail {

/// The layers a tensor is read from (empty: the raw dense features, which need no layer).
/// Inline storage: the walk runs once per search candidate and should not allocate per layer.
/// 32 covers any NASRec operand (at most 4 sources of 2-3 producers each, twice).
class producers {
 public:
  static constexpr int capacity = 32;
  producers() = default;
  producers(std::initializer_list<index> ids) {
    for (index i : ids) push_back(i);
  }
  void push_back(index i) {
    expects(n_ < capacity, "supernet::workload_of: an operand with more than 32 producers");
    v_[static_cast<std::size_t>(n_++)] = i;
  }
  [[nodiscard]] const index* begin() const noexcept { return v_.data(); }
  [[nodiscard]] const index* end() const noexcept { return v_.data() + n_; }
  [[nodiscard]] int size() const noexcept { return n_; }
  [[nodiscard]] bool empty() const noexcept { return n_ == 0; }
  [[nodiscard]] std::span<const index> span() const noexcept {
    return {v_.data(), static_cast<std::size_t>(n_)};
  }

 private:
  std::array<index, capacity> v_{};
  int n_ = 0;
};

inline void append(producers& to, const producers& from) {
  for (index p : from)
    if (std::find(to.begin(), to.end(), p) == to.end()) to.push_back(p);
}

class workload_writer {
 public:
  workload_writer(pim::workload& w, const workload_options& o) : w_(w), o_(o) {}

  /// Appends `l` reading `from` (a root if empty). More than max_layer_inputs producers go
  /// through free concatenation layers first.
  index add(pim::layer l, const producers& from) {
    if (l.cls() != pim::op_class::memory) {
      l.weight_bits = o_.weight_bits;
      l.act_bits = o_.act_bits;
    }
    if (from.size() <= pim::max_layer_inputs) return push(std::move(l), from.span());
    producers rest = from;
    while (rest.size() > pim::max_layer_inputs) {
      const auto head = rest.span().first(pim::max_layer_inputs);
      index elems = 0;
      for (index p : head) elems += w_.layers[static_cast<std::size_t>(p)].out_elems;
      const index cat = push(pim::layer::digital(pim::op_kind::digital_other, l.name + ".cat", 0.0,
                                                 0.0, 0.0, elems, elems),
                             head);
      producers next{cat};
      for (index p : rest.span().subspan(pim::max_layer_inputs)) next.push_back(p);
      rest = next;
    }
    return push(std::move(l), rest.span());
  }

 private:
  index push(pim::layer l, std::span<const index> from) {
    if (from.empty()) return w_.add(std::move(l), pim::workload::roots);
    return w_.add(std::move(l), from);
  }
  pim::workload& w_;
  const workload_options& o_;
};

/// Where an operator's inputs come from. `tokens` is lazy: the stem's embedding layer is
/// emitted only when some live operator reads the raw tokens.
template <class Tokens>
struct operator_inputs {
  const producers* dense = nullptr;
  const producers* left = nullptr;
  const producers* right = nullptr;
  Tokens tokens;  // () -> producers
  ops::reads reads = ops::reads::none;
};

/// Memory reused from one operator to the next (the walk runs once per search candidate).
struct emit_scratch {
  work_graph graph;
  std::vector<producers> values;
  std::string name;
};

/// Emits the work graph of one operator (or merger) and returns its output's producers.
template <class Op, class Tokens>
producers emit(workload_writer& out, emit_scratch& scratch, const std::string& tag,
               const ops::op_shape& sh, operator_inputs<Tokens>& in) {
  work_graph& g = scratch.graph;
  g.clear();
  Op::work(sh, g);
  std::vector<producers>& values = scratch.values;
  values.clear();
  auto resolve = [&](work_value v, producers& to) {
    if (v == work_graph::dense) {
      append(to, *in.dense);
    } else if (v == work_graph::tokens) {
      append(to, in.tokens());
    } else if (v == work_graph::left) {
      append(to, *in.left);
    } else if (v == work_graph::right) {
      append(to, *in.right);
    } else if (v == work_graph::inputs) {  // every input the operator reads, in this order
      if (ops::has(in.reads, ops::reads::dense)) append(to, *in.dense);
      if (ops::has(in.reads, ops::reads::sparse)) append(to, in.tokens());
      if (ops::has(in.reads, ops::reads::left_right)) {
        append(to, *in.left);
        append(to, *in.right);
      }
    } else {
      append(to, values[static_cast<std::size_t>(v.id)]);
    }
  };
  for (const auto& n : g.nodes()) {
    producers from;
    for (work_value v : n.reads()) resolve(v, from);
    std::string& name = scratch.name;
    ((name = tag) += '.') += n.step.name;
    values.push_back({out.add(pim::layer::of(n.step, name), from)});
  }
  producers result;
  for (work_value v : g.outputs()) resolve(v, result);
  return result;
}

}  // namespace detail

/// The workload of architecture `a` of space S on data of shape `ds`: an embedding layer
/// (when some live operator reads the raw tokens), the live operators of every block, and
/// the head Linear(d_last + 16 t_last -> 1). Throws input_error if `a` is not a subnet of S.
template <class S>
[[nodiscard]] pim::workload workload_of(const architecture& a, const data_shape& ds,
                                        const workload_options& opt = {}) {
  using detail::producers;
  constexpr index E = ops::embed_dim;
  const model_plan plan = make_plan<S>(a, ds, false);
  pim::workload w;
  w.name = std::string(S::name) + "-subnet";
  w.layers.reserve(2 + 16 * a.blocks.size());  // at most ~16 layers per block
  detail::workload_writer out(w, opt);
  detail::emit_scratch scratch;

  index emb = -1;
  auto embedding = [&]() {
    if (emb < 0) {
      index rows = 0;
      for (auto r : ds.table_rows) rows += r;
      emb = out.add(pim::layer::embedding("emb", ds.sparse_features(), rows, E,
                                          ds.sparse_features(), opt.zipf_s),
                    {});
    }
    return emb;
  };
  const auto nb = a.blocks.size();
  std::vector<producers> dense_out(nb), sparse_out(nb);
  auto dense_src = [&](int j) {
    return j == 0 ? producers{} : dense_out[static_cast<std::size_t>(j - 1)];
  };
  auto sparse_src = [&](int j) {
    return j == 0 ? producers{embedding()} : sparse_out[static_cast<std::size_t>(j - 1)];
  };

  for (std::size_t i = 0; i < nb; ++i) {
    const auto& b = a.blocks[i];
    const auto& p = plan.blocks[i];
    if (!p.live()) continue;
    const auto& sh = p.shape;
    std::string tag = "b";
    tag += std::to_string(i);
    producers din, sin;
    bool sin_read = false;
    for (int j = 0; j <= static_cast<int>(i); ++j) {
      if (connect::contains(b.dense_in, j)) detail::append(din, dense_src(j));
    }
    auto sparse_in = [&]() {
      if (!sin_read) {
        sin_read = true;
        for (int j = 0; j <= static_cast<int>(i); ++j)
          if (connect::contains(b.sparse_in, j)) detail::append(sin, sparse_src(j));
      }
      return sin;
    };
    const producers left = dense_src(b.left), right = dense_src(b.right);
    auto block_inputs = [&](ops::reads r) {
      return detail::operator_inputs<decltype(sparse_in)>{&din, &left, &right, sparse_in, r};
    };
    // Several operators of one kind (micro any-path): their outputs are summed.
    auto summed = [&](const std::vector<producers>& outs, const std::string& name, index width) {
      if (outs.size() == 1) return outs.front();
      producers all;
      for (const auto& o : outs) detail::append(all, o);
      return producers{out.add(pim::layer::sum(name, width), all)};
    };

    producers dense_op_out;
    if (p.run_dense) {
      std::vector<producers> outs;
      for_each_bit(b.dense_op_set(), [&](int o) {
        S::visit_dense(o, [&]<class Op>() {
          auto in = block_inputs(Op::inputs);
          outs.push_back(detail::emit<Op>(out, scratch, tag, sh, in));
        });
      });
      dense_op_out = summed(outs, tag + ".dense_ops_add", sh.d);
    }
    producers sparse_op_out;
    if (p.run_sparse) {
      std::vector<producers> outs;
      for_each_bit(b.sparse_op_set(), [&](int o) {
        S::visit_sparse(o, [&]<class Op>() {
          auto in = block_inputs(Op::inputs);
          outs.push_back(detail::emit<Op>(out, scratch, tag, sh, in));
        });
      });
      sparse_op_out = summed(outs, tag + ".sparse_ops_add", sh.s * E);
    }
    // Mergers, sparse -> dense first: their terms are added into the dense output, which the
    // dense_to_sparse mergers that read the merged output (reads_merged) then see.
    producers dense_final = dense_op_out;
    S::for_each_merger([&]<class M>(auto m) {
      if constexpr (M::direction == ops::merge_direction::sparse_to_dense) {
        if (((p.run_mergers >> m) & 1U) == 0) return;
        auto op_tokens = [&] { return sparse_op_out; };
        const producers none;
        detail::operator_inputs<decltype(op_tokens)> in{&none, &none, &none, op_tokens,
                                                        ops::reads::sparse};
        const producers term = detail::emit<M>(out, scratch, tag, sh, in);
        producers both = dense_final;
        detail::append(both, term);
        dense_final = {out.add(pim::layer::sum(tag + ".fm_add", sh.d), both)};
      }
    });
    producers sparse_final = sparse_op_out;
    S::for_each_merger([&]<class M>(auto m) {
      if constexpr (M::direction == ops::merge_direction::dense_to_sparse) {
        if (((p.run_mergers >> m) & 1U) == 0) return;
        auto in = block_inputs(ops::reads::dense);
        in.dense = M::reads_merged(sh) ? &dense_final : &dense_op_out;
        detail::append(sparse_final, detail::emit<M>(out, scratch, tag, sh, in));
      }
    });
    dense_out[i] = std::move(dense_final);
    sparse_out[i] = std::move(sparse_final);
  }
  producers head = dense_out.back();
  detail::append(head, sparse_out.back());
  out.add(pim::layer::fc("head", plan.head_width, 1), head);
  return w;
}

}  // namespace recnas::supernet
