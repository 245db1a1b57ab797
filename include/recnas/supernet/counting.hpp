#pragma once
// FLOPs and parameter counts of a subnet at its true widths ("fixed mode"), with the
// reference's conventions: one FLOP per multiply-accumulate of a linear layer or matrix
// product plus 5 per element of an affine LayerNorm; element-wise work, softmax and embedding
// lookups are free; computation that cannot reach the logit is excluded. Parameters exclude
// the embedding tables.

#include <string>
#include <vector>

#include "recnas/supernet/plan.hpp"

namespace recnas::supernet {

struct block_report {
  int block = 0;
  std::string dense_op, sparse_op;  // "fc", or "fc+sum" with extra operators
  index d = 0, s = 0, tokens_out = 0, in_width = 0, in_tokens = 0;
  bool live = false, dense_live = false, sparse_live = false;
  std::vector<std::string> mergers;  // active merger names
  double flops = 0;                  // live work only
  double flops_unpruned = 0;         // all of the block's chosen work
  index params = 0;                  // the block's chosen operators and active mergers
  index live_params = 0;             // of those, the ones a pruned model keeps
};

struct model_report {
  double flops = 0;           // per example
  double flops_unpruned = 0;  // the same without liveness pruning (eager execution)
  index params = 0;           // every block's chosen operators + head (the reference's count)
  index live_params = 0;      // after pruning dead blocks and unused operators
  index embedding_params = 0;
  std::vector<int> live_blocks;
  std::vector<block_report> blocks;
  index head_width = 0;
  std::vector<ops::matmul_work> matmuls;  // the live matrix work, for hardware mapping
  [[nodiscard]] double mflops() const noexcept { return flops / 1e6; }
};

namespace detail {
inline index count_params(const ops::param_declarer& d) {
  index n = 0;
  for (const auto& p : d.decls()) n += p.size();
  return n;
}
}  // namespace detail

template <class S>
[[nodiscard]] model_report analyze(const architecture& a, const data_shape& ds,
                                   bool layernorm = false) {
  const model_plan mp = make_plan<S>(a, ds, layernorm);
  model_report r;
  r.head_width = mp.head_width;
  for (auto t : ds.table_rows) r.embedding_params += t * ops::embed_dim;
  for (std::size_t i = 0; i < a.blocks.size(); ++i) {
    const auto& b = a.blocks[i];
    const auto& p = mp.blocks[i];
    block_report br;
    br.block = static_cast<int>(i);
    br.dense_op = S::dense_op_name(b.dense_op);
    br.sparse_op = S::sparse_op_name(b.sparse_op);
    br.d = p.d;
    br.s = p.s;
    br.tokens_out = p.tokens_out;
    br.in_width = p.shape.in_width;
    br.in_tokens = p.shape.in_tokens;
    br.live = p.live();
    br.dense_live = p.dense_live;
    br.sparse_live = p.sparse_live;
    auto account = [&]<class Op>(bool runs) {
      ops::param_declarer d;
      Op::declare(p.shape, d);
      const index n = detail::count_params(d);
      br.params += n;
      work_graph w;
      Op::work(p.shape, w);
      br.flops_unpruned += w.flops();
      if (runs) {
        br.live_params += n;
        br.flops += w.flops();
        for (auto& m : w.matmuls()) r.matmuls.push_back(std::move(m));
      }
    };
    // Every operator of the block's sets runs (extras: outputs summed; the sum is free).
    for_each_bit(b.extra_dense(), [&](int o) { (br.dense_op += '+') += S::dense_op_name(o); });
    for_each_bit(b.extra_sparse(), [&](int o) { (br.sparse_op += '+') += S::sparse_op_name(o); });
    for_each_bit(b.dense_op_set(), [&](int o) {
      S::visit_dense(o, [&]<class Op>() { account.template operator()<Op>(p.run_dense); });
    });
    for_each_bit(b.sparse_op_set(), [&](int o) {
      S::visit_sparse(o, [&]<class Op>() { account.template operator()<Op>(p.run_sparse); });
    });
    S::for_each_merger([&]<class M>(auto m) {
      if (!b.merger(m)) return;
      br.mergers.emplace_back(M::name);
      account.template operator()<M>(((p.run_mergers >> m) & 1U) != 0);
    });
    r.flops += br.flops;
    r.flops_unpruned += br.flops_unpruned;
    r.params += br.params;
    r.live_params += br.live_params;
    if (br.live) r.live_blocks.push_back(br.block);
    r.blocks.push_back(std::move(br));
  }
  // Head: Linear(head_width -> 1) with bias.
  r.flops += static_cast<double>(mp.head_width);
  r.flops_unpruned += static_cast<double>(mp.head_width);
  r.matmuls.push_back({"head", 1, mp.head_width, 1, true});
  r.params += mp.head_width + 1;
  r.live_params += mp.head_width + 1;
  return r;
}

}  // namespace recnas::supernet
