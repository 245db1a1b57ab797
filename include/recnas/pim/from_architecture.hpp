#pragma once
// The supernet -> PIM adapter: the workload of one subnet of a search space, at its true widths
// and with only the work that reaches the logit (supernet::make_plan's per-tensor liveness;
// dead blocks and unused operators emit nothing). Opt-in: it pulls in the supernet headers.
//
// Every matrix product of the operators' work() description becomes one layer: products with
// a stored weight go on crossbars (FC, EFC, projections, attention projections), products of
// two activations on the digital units (the dot-product Gram matrix, QK^T, AV). Element-wise
// work that the FLOPs convention does not count (gating, sums, FM, softmax, LayerNorm) becomes
// digital layers with multiplications, adds and specials but no MACs, so the workload's MACs
// equal the supernet's FLOPs without their LayerNorm terms (tests/unit/pim/test_adapter.cpp).
// As the reference model, the dot product computes the whole (k+1)^2 Gram matrix.
//
// Concatenations are free: a layer reads every producer of its sources (a block's sparse
// output is its sparse operator's tokens plus the dense_to_sparse tokens). Operators unknown to
// this adapter (a custom space) become a chain of their work() products.

#include <algorithm>
#include <array>
#include <initializer_list>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "recnas/ops/concepts.hpp"
#include "recnas/pim/workload.hpp"
#include "recnas/supernet/plan.hpp"
#include "recnas/supernet/space.hpp"

namespace recnas::pim {

struct adapter_options {
  int weight_bits = 0;  // every layer (0: the config's default)
  int act_bits = 0;
  double zipf_s = 1.05;  // embedding access skew
};

namespace detail {

/// The layers a tensor is read from (empty: the raw dense features, which need no layer).
/// Inline storage: the adapter runs once per search candidate and should not allocate per
/// layer. 32 covers any NASRec operand (at most 4 sources of 2-3 producers each, twice).
class producers {
 public:
  static constexpr int capacity = 32;
  producers() = default;
  producers(std::initializer_list<index> ids) {
    for (index i : ids) push_back(i);
  }
  void push_back(index i) {
    expects(n_ < capacity, "pim::workload_of: an operand with more than 32 producers");
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
  workload_writer(workload& w, const adapter_options& o) : w_(w), o_(o) {}

  /// Appends `l` reading `from` (a root if empty). More than max_layer_inputs producers go
  /// through free concatenation layers first.
  index add(layer l, const producers& from) {
    if (l.cls() != op_class::memory) {
      l.weight_bits = o_.weight_bits;
      l.act_bits = o_.act_bits;
    }
    if (from.size() <= max_layer_inputs) return push(std::move(l), from.span());
    producers rest = from;
    while (rest.size() > max_layer_inputs) {
      const auto head = rest.span().first(max_layer_inputs);
      index elems = 0;
      for (index p : head) elems += w_.layers[static_cast<std::size_t>(p)].out_elems;
      const index cat =
          push(layer::digital(op_kind::digital_other, l.name + ".cat", 0.0, 0.0, 0.0, elems, elems),
               head);
      producers next{cat};
      for (index p : rest.span().subspan(max_layer_inputs)) next.push_back(p);
      rest = next;
    }
    return push(std::move(l), rest.span());
  }

 private:
  index push(layer l, std::span<const index> from) {
    if (from.empty()) return w_.add(std::move(l), workload::roots);
    return w_.add(std::move(l), from);
  }
  workload& w_;
  const adapter_options& o_;
};

inline layer analog(op_kind k, const std::string& name, index in, index out, index vectors) {
  return layer::analog(k, name, in, out, vectors);
}

}  // namespace detail

/// The workload of architecture `a` of space S on data of shape `ds`: an embedding layer
/// (when some live operator reads the raw tokens), the live operators of every block, and
/// the head Linear(d_last + 16 t_last -> 1). Throws input_error if `a` is not a subnet of S.
template <class S>
[[nodiscard]] workload workload_of(const supernet::architecture& a, const supernet::data_shape& ds,
                                   const adapter_options& opt = {}) {
  using detail::producers;
  constexpr index E = ops::embed_dim;
  const supernet::model_plan plan = supernet::make_plan<S>(a, ds, false);
  workload w;
  w.name = std::string(S::name) + "-subnet";
  w.layers.reserve(2 + 16 * a.blocks.size());  // at most ~16 layers per block
  detail::workload_writer out(w, opt);

  index emb = -1;
  auto embedding = [&]() {
    if (emb < 0) {
      index rows = 0;
      for (auto r : ds.table_rows) rows += r;
      emb = out.add(
          layer::embedding("emb", ds.sparse_features(), rows, E, ds.sparse_features(), opt.zipf_s),
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
    for (int j = 0; j <= static_cast<int>(i); ++j) {
      if (connect::contains(b.dense_in, j)) detail::append(din, dense_src(j));
    }
    // read sparse sources only when an operator needs them (the embedding layer is lazy)
    auto sparse_in = [&]() {
      if (sin.empty())
        for (int j = 0; j <= static_cast<int>(i); ++j)
          if (connect::contains(b.sparse_in, j)) detail::append(sin, sparse_src(j));
      return sin;
    };
    const producers left = dense_src(b.left);
    const producers right = dense_src(b.right);
    producers lr = left;
    detail::append(lr, right);

    // generic translation: a chain of the operator's products
    auto generic = [&]<class Op>(const std::string& name, const producers& in) {
      producers from = in;
      ops::work_sink ws;
      Op::work(sh, ws);
      for (const auto& m : ws.matmuls) {
        const std::string n = name + "." + std::string(m.what);
        const index l =
            m.weights
                ? out.add(detail::analog(op_kind::projection, n, m.inner, m.rows, m.vectors), from)
                : out.add(layer::digital(op_kind::digital_other, n, m.macs(), 0.0, 0.0,
                                         m.inner * m.vectors, m.rows * m.vectors),
                          from);
        from = {l};
      }
      return from;
    };

    // Several operators of one kind (micro any-path): their outputs are summed.
    auto summed = [&](const std::vector<producers>& outs, const std::string& name, index width) {
      if (outs.size() == 1) return outs.front();
      producers all;
      for (const auto& o : outs) detail::append(all, o);
      return producers{out.add(layer::sum(name, width), all)};
    };
    producers dense_op_out;
    if (p.run_dense) {
      std::vector<producers> outs;
      supernet::for_each_bit(b.dense_op_set(), [&](int o) {
        S::visit_dense(o, [&]<class Op>() {
          if constexpr (std::is_same_v<Op, ops::fc>) {
            dense_op_out = {
                out.add(detail::analog(op_kind::fc, tag + ".fc", sh.in_width, sh.d, 1), din)};
          } else if constexpr (std::is_same_v<Op, ops::dot_product>) {
            const index k = Op::k(sh);
            producers stack = din;
            if (!Op::skip_dense(sh))
              stack = {out.add(
                  detail::analog(op_kind::projection, tag + ".dp_dproj", sh.in_width, E, 1), din)};
            producers toks = sparse_in();
            if (!Op::skip_tokens(sh))
              toks = {out.add(
                  detail::analog(op_kind::projection, tag + ".dp_tproj", sh.in_tokens, k, E),
                  toks)};
            detail::append(stack, toks);
            const index gram = out.add(layer::digital(op_kind::dot_product, tag + ".dot",
                                                      static_cast<double>((k + 1) * (k + 1) * E),
                                                      0.0, 0.0, (k + 1) * E, Op::pairs(sh)),
                                       stack);
            dense_op_out = {gram};
            if (!Op::skip_pairs(sh))
              dense_op_out = {out.add(
                  detail::analog(op_kind::projection, tag + ".dp_out", Op::pairs(sh), sh.d, 1),
                  {gram})};
          } else if constexpr (std::is_same_v<Op, ops::sigmoid_gating>) {
            const index wd = Op::width(sh);
            const index gate =
                out.add(detail::analog(op_kind::projection, tag + ".gate", wd, wd, 1), left);
            producers g{gate};
            detail::append(g, right);
            const index prod = out.add(layer::gating(tag + ".sg", wd), g);
            dense_op_out = {prod};
            if (!Op::skip(sh))
              dense_op_out = {out.add(
                  detail::analog(op_kind::projection, tag + ".sg_proj", wd, sh.d, 1), {prod})};
          } else if constexpr (std::is_same_v<Op, ops::cross>) {
            // DCN-v2: S x on the crossbars, then x0 * (.) and the residual + x digitally.
            const index wd = Op::width(sh);
            producers g{
                out.add(detail::analog(op_kind::projection, tag + ".cross_self", wd, wd, 1), left)};
            detail::append(g, right);
            producers r{out.add(
                layer::digital(op_kind::gating, tag + ".cross_mul", 0.0, 0.0, 0.0, 2 * wd, wd)
                    .with_muls(static_cast<double>(wd)),
                g)};
            detail::append(r, left);
            dense_op_out = {out.add(layer::sum(tag + ".cross_add", wd), r)};
            if (!Op::skip(sh))
              dense_op_out = {
                  out.add(detail::analog(op_kind::projection, tag + ".cross_proj", wd, sh.d, 1),
                          dense_op_out)};
          } else if constexpr (std::is_same_v<Op, ops::sum>) {
            const index wd = Op::width(sh);
            const index add = out.add(layer::sum(tag + ".sum", wd), lr);
            dense_op_out = {add};
            if (!Op::skip(sh))
              dense_op_out = {out.add(
                  detail::analog(op_kind::projection, tag + ".sum_proj", wd, sh.d, 1), {add})};
          } else if constexpr (std::is_same_v<Op, ops::zero_dense>) {
            dense_op_out = {};  // zeros: nothing to compute or read
          } else if constexpr (std::is_same_v<Op, ops::identity_dense>) {
            dense_op_out = din;  // a slice of the input: an address
          } else {
            producers from = din;
            if constexpr (ops::has(Op::inputs, ops::reads::sparse))
              detail::append(from, sparse_in());
            if constexpr (ops::has(Op::inputs, ops::reads::left_right)) detail::append(from, lr);
            dense_op_out = generic.template operator()<Op>(tag + "." + std::string(Op::name), from);
          }
        });
        outs.push_back(dense_op_out);
      });
      dense_op_out = summed(outs, tag + ".dense_ops_add", sh.d);
    }
    producers sparse_op_out;
    if (p.run_sparse) {
      std::vector<producers> outs;
      supernet::for_each_bit(b.sparse_op_set(), [&](int o) {
        S::visit_sparse(o, [&]<class Op>() {
          if constexpr (std::is_same_v<Op, ops::efc>) {
            sparse_op_out = {out.add(
                detail::analog(op_kind::efc, tag + ".efc", sh.in_tokens, sh.s, E), sparse_in())};
          } else if constexpr (std::is_same_v<Op, ops::attention>) {
            const index s = sh.s;
            const index tp = out.add(
                detail::analog(op_kind::efc, tag + ".att_tproj", sh.in_tokens, s, E), sparse_in());
            const index qkv = out.add(
                detail::analog(op_kind::attention_projection, tag + ".qkv", E, 3 * E, s), {tp});
            const auto ss = static_cast<double>(s * s);
            const auto hs = static_cast<double>(Op::heads) * ss;  // score elements
            const index qk = out.add(layer::digital(op_kind::attention_scores, tag + ".qk", ss * E,
                                                    0.0, 0.0, 2 * s * E, Op::heads * s * s),
                                     {qkv});
            const index sm =
                out.add(layer::digital(op_kind::softmax, tag + ".softmax", 0.0, 2.0 * hs, hs,
                                       Op::heads * s * s, Op::heads * s * s),
                        {qk});
            const index av = out.add(layer::digital(op_kind::attention_values, tag + ".av", ss * E,
                                                    0.0, 0.0, Op::heads * s * s + s * E, s * E),
                                     {sm, qkv});
            const index oproj =
                out.add(detail::analog(op_kind::attention_projection, tag + ".o", E, E, s), {av});
            const index ln1 = out.add(layer::layernorm(tag + ".ln1", s, E), {oproj, tp});
            const index f1 = out.add(
                detail::analog(op_kind::attention_projection, tag + ".ffn1", E, E, s), {ln1});
            const index f2 = out.add(
                detail::analog(op_kind::attention_projection, tag + ".ffn2", E, E, s), {f1});
            sparse_op_out = {out.add(layer::layernorm(tag + ".ln2", s, E), {f2, ln1})};
          } else if constexpr (std::is_same_v<Op, ops::zero_sparse>) {
            sparse_op_out = {};
          } else {
            producers from = sparse_in();
            if constexpr (ops::has(Op::inputs, ops::reads::dense)) detail::append(from, din);
            sparse_op_out =
                generic.template operator()<Op>(tag + "." + std::string(Op::name), from);
          }
        });
        outs.push_back(sparse_op_out);
      });
      sparse_op_out = summed(outs, tag + ".sparse_ops_add", sh.s * E);
    }
    // mergers: sparse -> dense first (it changes the dense output the aliasing dsi tokens see)
    producers dense_final = dense_op_out;
    S::for_each_merger([&]<class M>(auto m) {
      if constexpr (M::direction == ops::merge_direction::sparse_to_dense) {
        if (((p.run_mergers >> m) & 1U) == 0) return;
        producers term;
        if constexpr (std::is_same_v<M, ops::sparse_to_dense>) {  // names as add_nasrec_block
          const index f = out.add(layer::fm(tag + ".fm", sh.s, E), sparse_op_out);
          term = {f};
          if (!M::skip(sh))
            term = {
                out.add(detail::analog(op_kind::projection, tag + ".fm_proj", E, sh.d, 1), {f})};
        } else {
          term = generic.template operator()<M>(tag + "." + std::string(M::name), sparse_op_out);
        }
        producers both = dense_final;
        detail::append(both, term);
        dense_final = {out.add(layer::sum(tag + ".fm_add", sh.d), both)};
      }
    });
    producers sparse_final = sparse_op_out;
    S::for_each_merger([&]<class M>(auto m) {
      if constexpr (M::direction == ops::merge_direction::dense_to_sparse) {
        if (((p.run_mergers >> m) & 1U) == 0) return;
        if constexpr (std::is_same_v<M, ops::dense_to_sparse>) {
          if (M::skip(sh))
            detail::append(sparse_final, dense_final);  // the tokens alias the dense output
          else
            detail::append(
                sparse_final,
                {out.add(detail::analog(op_kind::projection, tag + ".dsi", sh.d, M::width, 1),
                         dense_op_out)});
        } else {
          detail::append(sparse_final, generic.template operator()<M>(
                                           tag + "." + std::string(M::name), dense_op_out));
        }
      }
    });
    dense_out[i] = std::move(dense_final);
    sparse_out[i] = std::move(sparse_final);
  }
  producers head = dense_out.back();
  detail::append(head, sparse_out.back());
  out.add(layer::fc("head", plan.head_width, 1), head);
  return w;
}

}  // namespace recnas::pim
