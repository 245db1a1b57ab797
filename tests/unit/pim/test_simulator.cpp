// The two evaluators agree: the cycle-level simulation of a batch and the analytic model's
// closed forms, on steady-state interval and single-example latency (within 5 %), and on
// energy (exactly, without off-chip misses). Stepping every cycle gives the same result as
// skipping to the next event.
#include <array>

#include <doctest/doctest.h>

#include <recnas/core/rng.hpp>
#include <recnas/pim/pim.hpp>

namespace pim = recnas::pim;
using recnas::index;

namespace {

template <class Arch, class Map>
void check_agreement(const pim::workload& w, const pim::pim_config& c, index batch = 24,
                     double tol = 0.05) {
  pim::analytic_model<Arch, Map> m;
  const auto& r = m.evaluate(w, c);
  const auto s = pim::simulate(w, c, m, {.batch = batch});
  CAPTURE(w.name);
  CAPTURE(c.k.name);
  CAPTURE(Arch::compose::name);
  // a whole batch, and one example alone
  CHECK(s.makespan.value() == doctest::Approx(m.batch_cycles(batch).value()).epsilon(tol));
  const auto one = pim::simulate(w, c, m, {.batch = 1});
  CHECK(one.first_latency.value() == doctest::Approx(r.latency_cycles.value()).epsilon(tol));
  if constexpr (Arch::compose::pipelined) {
    // steady state of the pipeline
    CHECK(s.interval.value() == doctest::Approx(r.interval_cycles.value()).epsilon(tol));
    CHECK(s.interval_ns.value() == doctest::Approx(r.interval.value()).epsilon(tol));
    CHECK(s.first_latency.value() == doctest::Approx(r.latency_cycles.value()).epsilon(tol));
  }
  // dynamic energy is counted from the same events
  CHECK((s.energy.dynamic() - s.energy.memory).value() ==
        doctest::Approx((r.energy.dynamic() - r.energy.memory).value()).epsilon(1e-9));
  CHECK(s.energy.memory.value() == doctest::Approx(r.energy.memory.value()).epsilon(0.05));
}

using pipe_mnsim = pim::architecture<pim::reram_1t1r, pim::mnsim_adc, pim::separate_arrays,
                                     pim::differential_pair, pim::layer_pipeline, pim::mesh>;
using lbl_sar = pim::architecture<pim::reram_1t1r, pim::sar_adc, pim::adjacent_columns,
                                  pim::unsigned_weights, pim::layer_by_layer, pim::htree>;

}  // namespace

TEST_CASE("simulation agrees with the analytic model on DLRM (ISAAC, balanced pipeline)") {
  const auto c = pim::isaac_preset();
  check_agreement<pim::isaac_architecture, pim::naive_mapping>(pim::dlrm_criteo_kaggle(), c);
  check_agreement<pim::isaac_architecture, pim::pim_aware_mapping>(pim::dlrm_criteo_kaggle(), c);
}

TEST_CASE("simulation agrees with the analytic model on DLRM (NeuroSim and MNSIM presets)") {
  check_agreement<pim::neurosim_architecture, pim::naive_mapping>(pim::dlrm_criteo_kaggle(8, 8),
                                                                  pim::neurosim_preset());
  auto ns = pim::neurosim_preset();
  ns.auto_spare_tiles = 16;
  check_agreement<pim::neurosim_architecture, pim::pim_aware_mapping>(pim::dlrm_criteo_kaggle(8, 8),
                                                                      ns);
  check_agreement<pim::mnsim_architecture, pim::naive_mapping>(pim::dlrm_criteo_kaggle(8, 8),
                                                               pim::mnsim_preset());
  check_agreement<lbl_sar, pim::naive_mapping>(pim::dlrm_criteo_kaggle(8, 8),
                                               pim::neurosim_preset());
  check_agreement<lbl_sar, pim::naive_mapping>(pim::vgg8_cifar10(8), pim::neurosim_preset(4, 32),
                                               2);
  check_agreement<pim::puma_architecture, pim::pim_aware_mapping>(pim::dlrm_criteo_kaggle(),
                                                                  pim::puma_preset());
}

TEST_CASE("simulation agrees with the analytic model on a NASRec subnet") {
  using D = pim::nasrec_block_spec::dense_op;
  using S = pim::nasrec_block_spec::sparse_op;
  const std::array<pim::nasrec_block_spec, 3> blocks{{
      {D::fc, S::attention, 256, 16, true, true},
      {D::dot_product, S::efc, 128, 32, false, false},
      {D::sigmoid_gating, S::efc, 64, 16, false, true},
  }};
  const auto w = pim::nasrec_chain(blocks);
  auto c = pim::isaac_preset();
  c.weight_bits = c.act_bits = 8;
  // 43 replicas of 16-vector stages deal their jobs round-robin across examples: the first
  // examples see a start-up pattern, so the batch is long enough to amortise it
  check_agreement<pim::isaac_architecture, pim::naive_mapping>(w, c, 64);
  check_agreement<pipe_mnsim, pim::pim_aware_mapping>(w, pim::mnsim_preset());
  check_agreement<lbl_sar, pim::naive_mapping>(w, pim::neurosim_preset(), 8);
}

TEST_CASE("simulation agrees on random MLPs and EFCs over random presets") {
  recnas::rng g(42);
  for (int trial = 0; trial < 12; ++trial) {
    std::vector<index> dims;
    const index n = g.between(2, 4);
    for (index i = 0; i <= n; ++i) dims.push_back(g.between(4, 400));
    auto w = pim::mlp(dims, 8, 8);
    w.add(pim::layer::efc("efc", g.between(8, 40), g.between(16, 48)));
    auto c = g.bernoulli(0.5) ? pim::isaac_preset() : pim::neurosim_preset();
    c.cols_per_adc = static_cast<int>(std::min<index>(c.xbar_cols, index{1} << g.between(0, 7)));
    c.auto_spare_tiles = g.between(0, 8);
    if (g.bernoulli(0.5))
      check_agreement<pipe_mnsim, pim::pim_aware_mapping>(w, c, 16);
    else
      check_agreement<pim::neurosim_architecture, pim::naive_mapping>(w, c, 16);
  }
}

TEST_CASE("stepping every cycle equals skipping to the next event") {
  auto c = pim::neurosim_preset();
  c.cols_per_adc = 2;
  c.act_bits = 4;
  const std::array<index, 4> dims{40, 96, 32, 8};
  auto w = pim::mlp(dims, 8, 4);
  w.add(pim::layer::efc("efc", 12, 16));
  pim::analytic_model<pim::neurosim_architecture, pim::pim_aware_mapping> m;
  m.evaluate(w, c);
  const auto fast = pim::simulate(w, c, m, {.batch = 6, .skip_ahead = true});
  const auto slow = pim::simulate(w, c, m, {.batch = 6, .skip_ahead = false});
  CHECK(slow.iterations > fast.iterations);
  CHECK(slow.makespan.value() == fast.makespan.value());
  CHECK(slow.done == fast.done);
}

TEST_CASE("a full input buffer stalls the producer (bounded vs unbounded buffers)") {
  // A fast producer feeding a slow consumer: with a one-example buffer the producer cannot
  // run ahead, so examples leave the producer later, but the steady state is the consumer's.
  auto c = pim::isaac_preset();
  c.tile_buffer_bytes = 1;  // capacity clamps to the minimum of 2 examples
  pim::workload w;
  w.add(pim::layer::fc("fast", 16, 16), pim::workload::roots);
  w.add(pim::layer::efc("slow", 16, 16, 64));
  using arch = pim::architecture<pim::reram_1t1r, pim::amortized_adc, pim::adjacent_columns,
                                 pim::unsigned_weights, pim::layer_pipeline, pim::mesh>;
  pim::analytic_model<arch> m;
  const auto& r = m.evaluate(w, c);
  const auto bounded = pim::simulate(w, c, m, {.batch = 12});
  const auto unbounded = pim::simulate(w, c, m, {.batch = 12, .bounded_buffers = false});
  CHECK(bounded.interval.value() == doctest::Approx(r.interval_cycles.value()).epsilon(0.01));
  CHECK(unbounded.interval.value() == doctest::Approx(r.interval_cycles.value()).epsilon(0.01));
  CHECK(bounded.done.back() == doctest::Approx(unbounded.done.back()).epsilon(0.01));
}

TEST_CASE("off-chip misses: the simulation draws what the analytic model expects") {
  auto c = pim::neurosim_preset();
  c.auto_spare_tiles = 2;  // room for some hot rows only
  pim::workload w;
  w.add(pim::layer::embedding("emb", 26, 26'000'000, 64, 26, 1.1), pim::workload::roots);
  w.add(pim::layer::fc("fc", 64, 64));
  pim::analytic_model<pim::neurosim_architecture, pim::pim_aware_mapping> m;
  const auto& r = m.evaluate(w, c);
  const auto& emb = m.mappings()[0];
  CHECK(emb.unit == pim::unit_kind::hot_cold_memory);
  CHECK(emb.hit_fraction > 0.0);
  CHECK(emb.hit_fraction < 1.0);
  const auto s = pim::simulate(w, c, m, {.batch = 200});
  CHECK(s.energy.memory.value() == doctest::Approx(r.energy.memory.value()).epsilon(0.02));
  CHECK(s.interval.value() == doctest::Approx(r.interval_cycles.value()).epsilon(0.05));
}

TEST_CASE("a DAG with several roots and sinks: an example is done when every sink has it") {
  pim::workload w;
  const index emb =
      w.add(pim::layer::embedding("emb", 26, 1'000'000, 16, 26, 1.05), pim::workload::roots);
  const index bot = w.add(pim::layer::fc("bot", 13, 64), pim::workload::roots);
  w.add(pim::layer::dot_product("dot", 27, 16), {bot, emb});
  w.add(pim::layer::fc("top", 351, 1));
  w.add(pim::layer::efc("efc", 26, 32), {emb});
  w.add(pim::layer::digital(pim::op_kind::softmax, "sm", 0, 2048, 1024, 1024, 1024));
  auto c = pim::neurosim_preset();
  c.cols_per_adc = 16;
  c.auto_spare_tiles = 8;
  check_agreement<pim::neurosim_architecture, pim::pim_aware_mapping>(w, c, 32);
  check_agreement<pim::neurosim_architecture, pim::naive_mapping>(w, c, 32);
  check_agreement<lbl_sar, pim::naive_mapping>(w, c, 16);
}
