// Checking a user-written operator with recnas's conformance checks (finite-difference
// gradients, float vs double, supernet slice vs standalone), composing a search space with it
// and a user-written connectivity, then training one random subnet inside its supernet for a few
// steps, extracting it standalone and pricing it on a PIM chip: the operator's own work description
// gives its FLOPs and its crossbar and digital layers, with no edit to the library.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <recnas/pim/pim.hpp>
#include <recnas/supernet/supernet.hpp>
#include <recnas/supernet/workload.hpp>
#include <recnas/testing/operator_check.hpp>
#include <recnas/train/loss.hpp>

#include "scaled_linear.hpp"

namespace sn = recnas::supernet;

/// Connectivity: every block reads the stem and/or the previous block (a "skip + chain").
struct stem_or_previous {
  static constexpr std::string_view name = "stem_or_previous";
  static constexpr recnas::policy_kind kind = recnas::policy_kind::connectivity;
  static std::string check_set(recnas::index block, recnas::connect::source_set set) {
    const recnas::connect::source_set allowed = 1U | (recnas::connect::source_set{1} << block);
    if (set == 0 || (set & ~allowed) != 0)
      return "only the stem (0) and the previous output may be read";
    return {};
  }
  static std::string check_single(recnas::index block, int src) {
    return src == 0 || src == block ? std::string{} : "only the stem or the previous output";
  }
  static recnas::connect::source_set sample_set(recnas::index block, recnas::rng& g) {
    if (block == 0) return 1;
    const auto k = g.below(3);  // stem, previous, or both
    return k == 0   ? 1U
           : k == 1 ? (recnas::connect::source_set{1} << block)
                    : (1U | (recnas::connect::source_set{1} << block));
  }
  static int sample_single(recnas::index block, recnas::rng& g) {
    return g.bernoulli(0.5) ? 0 : static_cast<int>(block);
  }
  static double count_sets(recnas::index block) { return block == 0 ? 1.0 : 3.0; }
  static double count_singles(recnas::index block) { return block == 0 ? 1.0 : 2.0; }
};

using my_space =
    sn::space<sn::blocks<4>, sn::dense_ops<my_ops::tanh_linear, recnas::ops::fc>,
              sn::sparse_ops<recnas::ops::efc>, sn::mergers<recnas::ops::sparse_to_dense>,
              sn::dense_dims<16, 64, 256>, sn::sparse_dims<8, 16>, stem_or_previous>;

int main() {
  // Before it enters a space: the operator is checked on two input sources, with and without
  // the supernet's LayerNorm flag (tanh_linear ignores it, which is allowed).
  for (const bool ln : {false, true}) {
    recnas::ops::op_shape shape;
    shape.in_width = 13 + 7;
    shape.d = 24;
    shape.layernorm = ln;
    const auto report =
        recnas::testing::check_operator<my_ops::tanh_linear>({shape, {13, 7}, {}, 4, 11});
    std::printf("%s\n", report.summary().c_str());
    if (!report.ok()) return 1;
  }

  const sn::data_shape ds{4, {100, 50, 80}};
  recnas::rng g(1);
  auto arch = sn::random_architecture<my_space>(g);
  arch.blocks.back().dense_op = 0;  // the last block (always live) runs tanh_linear
  std::printf("space size 10^%.2f; subnet: %s\n", sn::log10_space_size<my_space>(),
              sn::to_string<my_space>(arch).c_str());
  sn::supernet<my_space> net(ds, {.layernorm = true}, 7);

  // A tiny synthetic batch: label = [dense0 > 0].
  const recnas::index B = 64;
  std::vector<float> dense(B * 4), labels(B);
  std::vector<std::int32_t> ids(B * 3);
  for (recnas::index b = 0; b < B; ++b) {
    for (int c = 0; c < 4; ++c)
      dense[static_cast<std::size_t>(b * 4 + c)] = static_cast<float>(g.uniform(-1, 1));
    for (int f = 0; f < 3; ++f)
      ids[static_cast<std::size_t>(b * 3 + f)] = static_cast<std::int32_t>(g.below(50));
    labels[static_cast<std::size_t>(b)] = dense[static_cast<std::size_t>(b * 4)] > 0 ? 1.0f : 0.0f;
  }
  sn::ctr_batch batch{B, {dense.data(), B, 4}, ids.data(), nullptr, 3};
  sn::workspace<float> ws;
  std::vector<float> logits(B), dl(B);
  double first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    net.forward(arch, batch, ws, logits);
    const double loss = recnas::train::bce_with_logits<float>(logits, labels, dl);
    if (step == 0) first = loss;
    last = loss;
    net.params().zero_grad();
    net.backward(arch, ws, dl);
    auto v = net.params().values();
    auto gr = net.params().grads();
    for (std::size_t i = 0; i < v.size(); ++i) v[i] -= 0.05f * gr[i];  // plain SGD
  }
  sn::subnet<my_space> fixed(arch, net);
  fixed.forward(batch, ws, logits);
  const auto rep = sn::analyze<my_space>(arch, ds, true);
  std::printf("loss %.4f -> %.4f; standalone subnet: %lld parameters, %.4f MFLOPs\n", first, last,
              static_cast<long long>(fixed.params().count(false)), rep.mflops());

  // The PIM cost of the same subnet on an ISAAC-like chip at 8-bit weights and activations.
  const auto w = sn::workload_of<my_space>(arch, ds);
  recnas::pim::analytic_model<recnas::pim::isaac_architecture, recnas::pim::pim_aware_mapping> m;
  auto cfg = recnas::pim::isaac_preset();
  cfg.weight_bits = 8;
  cfg.act_bits = 8;
  const auto& r = m.evaluate(w, cfg);
  std::printf("PIM (isaac, 8 bit): %lld layers, latency %.1f ns, energy %.1f pJ, area %.3f mm^2\n",
              static_cast<long long>(w.size()), r.latency.value(), r.energy.total().value(),
              r.area.total().value());
  // Every live tanh_linear is priced as it describes itself: a crossbar layer and its tanh.
  int priced = 0;
  for (std::size_t b = 0; b < arch.blocks.size(); ++b) {
    if (!rep.blocks[b].dense_live || rep.blocks[b].dense_op != my_ops::tanh_linear::name) continue;
    const std::string tanh = "b" + std::to_string(b) + ".tanh";
    const bool found = std::any_of(w.layers.begin(), w.layers.end(), [&](const auto& l) {
      return l.name == tanh && l.specials == static_cast<double>(rep.blocks[b].d);
    });
    if (!found) {
      std::printf("block %zu: tanh_linear's element-wise work is missing\n", b);
      return 1;
    }
    ++priced;
  }
  std::printf("%d tanh_linear block(s) priced with their tanh\n", priced);
  const bool ok = last < first && r.latency.value() > 0.0 && w.macs() > 0.0;
  return ok ? 0 : 1;
}
