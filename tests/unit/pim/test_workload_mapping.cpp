// Workload builders (DLRM, NASRec operators), the Zipf hit model, the mapping policies, the
// strong units and config validation.
#include <cmath>
#include <concepts>
#include <type_traits>

#include <doctest/doctest.h>

#include <recnas/core/error.hpp>
#include <recnas/pim/pim.hpp>

namespace pim = recnas::pim;
namespace units = recnas::units;
using recnas::index;

// cycles never mix with nanoseconds; the clock converts them once
template <class A, class B>
concept Addable = requires(A a, B b) {
  a + b;
};
static_assert(!Addable<units::cycles, units::nanoseconds>, "cycles + ns must not compile");
static_assert(!Addable<units::picojoules, units::nanoseconds>, "pJ + ns must not compile");
static_assert(Addable<units::cycles, units::cycles>);
static_assert(
    std::same_as<decltype(units::cycles(1.0) / units::gigahertz(1.0)), units::nanoseconds>);
static_assert(pim::PimArchitecture<pim::isaac_architecture>);
static_assert(pim::PimArchitecture<pim::neurosim_architecture>);
static_assert(pim::PimArchitecture<pim::mnsim_architecture>);
static_assert(pim::PimAdc<pim::sense_amp_adc> && pim::PimDevice<pim::sram_digital>);
static_assert(!pim::PimAdc<pim::reram_1t1r>, "a device is not an ADC");
static_assert(pim::PimMapping<pim::naive_mapping> && pim::PimMapping<pim::pim_aware_mapping>);

TEST_CASE("efficiency units: GOPS / mW, GOPS / mm^2, ops / pJ") {
  CHECK((pim::gops(1000.0) / units::milliwatts(1000.0)).value() == doctest::Approx(1000.0));
  CHECK((pim::gops(50.0) / units::square_mm(2.0)).value() == doctest::Approx(25.0));
  CHECK(pim::efficiency(2.0, units::picojoules(1.0)).value() == doctest::Approx(2000.0));
  CHECK(pim::rate(100.0, units::nanoseconds(10.0)).value() == doctest::Approx(10.0));
  CHECK(pim::edp(units::picojoules(3.0), units::nanoseconds(4.0)).value() == doctest::Approx(12.0));
}

TEST_CASE("DLRM builder: shapes, DAG and op counts") {
  const auto w = pim::dlrm_criteo_kaggle(8, 8);
  w.validate();
  index rows = 0;
  for (auto r : recnas::datasets::criteo_dlrm_table_rows) rows += r;
  CHECK(rows == 33'762'577);
  const auto& emb = w.layers[4];
  CHECK(emb.kind == pim::op_kind::embedding);
  CHECK(emb.n_inputs == 0);
  CHECK(emb.table_rows == rows);
  const auto& dot = w.layers[5];
  CHECK(dot.kind == pim::op_kind::dot_product);
  CHECK(dot.out_elems == 351 + 16);
  CHECK(dot.n_inputs == 2);
  CHECK(w.layers[6].rows == 367);
  CHECK(w.layers[6].inputs[0] == 5);
}

TEST_CASE("NASRec operators: dot-product k, attention work, mergers") {
  using D = pim::nasrec_block_spec::dense_op;
  using S = pim::nasrec_block_spec::sparse_op;
  const index dims[] = {16, 32, 64, 128, 256, 512, 768, 1024};
  const index ks[] = {6, 8, 11, 16, 23, 32, 39, 45};
  for (int i = 0; i < 8; ++i) {
    pim::workload w;
    pim::nasrec_block_spec b;
    b.dense = D::dot_product;
    b.dense_dim = dims[i];
    pim::add_nasrec_block(w, b, "b", -1, 13, -1, 26);
    w.validate();
    bool found = false;
    for (const auto& l : w.layers)
      if (l.kind == pim::op_kind::dot_product) {
        const index k = ks[i];
        CHECK(l.out_elems == k * (k + 1) / 2);  // pairs of k+1 vectors: 21, 36, 66, ...
        CHECK(l.macs == doctest::Approx(static_cast<double>(k * (k + 1) / 2 * 16)));
        found = true;
      }
    CHECK(found);
  }
  // attention on s tokens: 8 heads of dim 2: QK^T and AV are 8 s^2 x 2 MACs each
  pim::workload w;
  pim::nasrec_block_spec b;
  b.sparse = S::attention;
  b.sparse_dim = 32;
  b.dense_to_sparse = true;
  b.fm = true;
  b.dense_dim = 64;
  const auto out = pim::add_nasrec_block(w, b, "b", -1, 13, -1, 26);
  w.validate();
  CHECK(out.sparse_tokens == 40);
  double qk = 0.0, proj_macs = 0.0;
  for (const auto& l : w.layers) {
    if (l.kind == pim::op_kind::attention_scores) qk = l.macs;
    if (l.kind == pim::op_kind::attention_projection) proj_macs += l.mac_count();
  }
  CHECK(qk == doctest::Approx(8.0 * 32 * 32 * 2));
  // QKV (16 -> 48), O, two FFN (16 -> 16), each on 32 tokens
  CHECK(proj_macs == doctest::Approx(32.0 * (16 * 48 + 3 * 16 * 16)));
  const auto ref = pim::nasrec_reference_subnet();
  ref.validate();
  CHECK(ref.size() > 40);
  CHECK(ref.macs() > 1e6);
}

TEST_CASE("Zipf hit fraction against direct summation") {
  for (double s : {0.8, 1.0, 1.05, 1.3}) {
    const double n = 5000.0;
    double hn = 0.0;
    for (int k = 1; k <= 5000; ++k) hn += std::pow(k, -s);
    for (double h : {1.0, 10.0, 100.0, 1000.0, 4999.0}) {
      double hh = 0.0;
      for (int k = 1; k <= static_cast<int>(h); ++k) hh += std::pow(k, -s);
      CHECK(pim::zipf_hit_fraction(h, n, s) == doctest::Approx(hh / hn).epsilon(1e-4));
    }
  }
  CHECK(pim::zipf_hit_fraction(0.0, 10.0, 1.0) == 0.0);
  CHECK(pim::zipf_hit_fraction(10.0, 10.0, 1.0) == 1.0);
}

TEST_CASE("naive vs PIM-aware mapping on DLRM under ISAAC") {
  const auto w = pim::dlrm_criteo_kaggle(8, 8);
  auto c = pim::isaac_preset();
  c.weight_bits = c.act_bits = 8;
  using pipe = pim::architecture<pim::reram_1t1r, pim::amortized_adc, pim::adjacent_columns,
                                 pim::offset_unit_column, pim::layer_pipeline, pim::mesh>;
  pim::analytic_model<pipe, pim::naive_mapping> naive;
  pim::analytic_model<pipe, pim::pim_aware_mapping> aware;
  const auto rn = naive.evaluate(w, c);
  const auto& ra = aware.evaluate(w, c);
  // naive: one copy, embeddings off-chip
  CHECK(rn.compute_arrays == 135);
  CHECK(naive.mappings()[4].unit == pim::unit_kind::offchip);
  for (const auto& m : naive.mappings()) CHECK(m.replication == 1);
  // aware: hot rows on chip, replicas, trimmed ADCs; faster and cheaper per example
  const auto& emb = aware.mappings()[4];
  CHECK(emb.arrays > 0);
  CHECK(emb.hit_fraction > 0.3);
  CHECK(ra.energy.memory.value() < rn.energy.memory.value());
  CHECK(ra.interval.value() < rn.interval.value());
  CHECK(ra.energy.dynamic().value() < rn.energy.dynamic().value());
  CHECK(aware.mappings()[0].adc_bits < c.adc_bits);  // 13 active rows need fewer bits
  CHECK(ra.fits);
  CHECK(ra.tiles_used <= c.tiles);
}

TEST_CASE("auto-sized chips, fit check and a digital-CIM device") {
  const auto w = pim::dlrm_criteo_kaggle(8, 8);
  auto c = pim::neurosim_preset();
  pim::analytic_model<pim::neurosim_architecture> m;
  const auto& r = m.evaluate(w, c);
  CHECK(r.tiles == r.tiles_used);
  CHECK(r.fits);
  CHECK(r.arrays_available >= r.arrays);
  c.tiles = 2;
  CHECK_FALSE(m.evaluate(w, c).fits);
  using dcim = pim::architecture<pim::sram_digital, pim::sense_amp_adc, pim::adjacent_columns,
                                 pim::unsigned_weights, pim::layer_pipeline, pim::xy_bus>;
  pim::analytic_model<dcim> d;
  auto cd = pim::neurosim_preset();
  cd.cell_bits = 4;  // ignored: SRAM holds one bit per cell
  const auto& rd = d.evaluate(w, cd);
  CHECK(d.mappings()[0].cell_bits == 1);
  CHECK(rd.energy.adc.value() > 0.0);
  CHECK(rd.latency.value() > 0.0);
}

TEST_CASE("pim_config::validate names the bad field") {
  auto c = pim::isaac_preset();
  c.validate();
  c.cols_per_adc = 0;
  try {
    c.validate("cfg.json");
    FAIL("expected an input_error");
  } catch (const recnas::input_error& e) {
    CHECK(e.field() == "cols_per_adc");
    CHECK(e.file() == "cfg.json");
  }
  auto d = pim::mnsim_preset();
  d.xbar_rows = 100;
  CHECK_THROWS_AS(d.validate(), recnas::input_error);
}

TEST_CASE("reports: per-layer latencies add up along the critical path; ns = cycles / clock") {
  const auto w = pim::nasrec_reference_subnet();
  auto c = pim::isaac_preset();
  c.weight_bits = c.act_bits = 8;
  pim::analytic_model<pim::isaac_architecture, pim::pim_aware_mapping> m;
  const auto& r = m.evaluate(w, c);
  CHECK(r.cycles.total().value() == doctest::Approx(r.latency_cycles.value()));
  CHECK(r.latency.value() == doctest::Approx(r.latency_cycles.value() / c.clock.value()));
  double max_interval = 0.0;
  for (const auto& l : m.layers()) {
    CHECK(l.latency.value() == doctest::Approx(l.cycles.total().value() / c.clock.value()));
    max_interval = std::max(max_interval, l.interval.value());
  }
  CHECK(r.interval_cycles.value() == doctest::Approx(max_interval));
  CHECK(r.energy.total().value() > 0.0);
  CHECK(r.effective_per_watt.value() == doctest::Approx(1000.0 * r.ops / r.energy.total().value()));
  CHECK(r.effective.value() <= r.peak.value());
  CHECK(r.edp.value() == doctest::Approx(r.energy.total().value() * r.latency.value()));
}

TEST_CASE("a layer's fixed replication is kept by every mapping") {
  pim::workload w;
  auto l = pim::layer::efc("efc", 26, 32);
  l.replication = 4;
  w.add(std::move(l), pim::workload::roots);
  w.add(pim::layer::fc("fc", 512, 64));
  auto c = pim::isaac_preset();
  pim::analytic_model<pim::isaac_architecture, pim::naive_mapping> naive;
  pim::analytic_model<pim::isaac_architecture, pim::pim_aware_mapping> aware;
  naive.evaluate(w, c);
  aware.evaluate(w, c);
  CHECK(naive.mappings()[0].replication == 4);
  CHECK(aware.mappings()[0].replication == 4);
  CHECK(naive.mappings()[0].arrays == 4 * naive.mappings()[0].arrays_per_copy);
  CHECK(naive.costs()[0].servers == 4);
  CHECK(naive.costs()[0].sequential_jobs() == 4);  // 16 vectors over 4 copies
}
