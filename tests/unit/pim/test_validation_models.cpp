// Validation cases V7-V11 of pim-models.md section 5.4: NeuroSim's cycle formula and SAR ADC,
// MNSIM's ADC convention and cell energy, and the DLRM Criteo-Kaggle array counts.
#include <array>

#include <doctest/doctest.h>

#include <recnas/pim/pim.hpp>

namespace pim = recnas::pim;
using recnas::index;

namespace {

using plain_arch = pim::architecture<pim::reram_1t1r, pim::amortized_adc, pim::adjacent_columns,
                                     pim::unsigned_weights, pim::layer_pipeline, pim::mesh>;

double cycles_per_mvm(const pim::pim_config& c) {
  pim::workload w;
  w.add(pim::layer::fc("l", 128, 128), pim::workload::roots);
  pim::analytic_model<pim::neurosim_architecture> m;
  m.evaluate(w, c);
  return m.costs()[0].compute;
}

}  // namespace

TEST_CASE("V7: NeuroSim cycles per MVM: 64 / 256 / 8") {
  auto c = pim::neurosim_preset();
  c.xbar_rows = c.xbar_cols = 128;
  c.act_bits = 8;
  c.cols_per_adc = 8;
  c.rows_parallel = 128;
  CHECK(cycles_per_mvm(c) == 64.0);
  c.rows_parallel = 32;
  CHECK(cycles_per_mvm(c) == 256.0);
  c.rows_parallel = 128;
  c.cols_per_adc = 1;
  CHECK(cycles_per_mvm(c) == 8.0);
  // the same formula gives the chip-level peak's MVM time
  c.cols_per_adc = 8;
  CHECK(pim::chip_model<pim::neurosim_architecture>::cycles_per_full_mvm(c) == 64.0);
}

TEST_CASE("V8: NeuroSim SAR ADC at 22 nm: 6 ns, 7.065 uW, 42.4 fJ at 5 bits; monotone") {
  const pim::adc_params p = pim::neurosim_preset().k.adc;
  CHECK(pim::sar_adc::latency_ns(5, p) == doctest::Approx(6.0));
  CHECK(pim::sar_adc::power_uw(5, p) == doctest::Approx(7.065).epsilon(1e-4));
  CHECK(pim::sar_adc::energy_pj(5, p) * 1e3 == doctest::Approx(42.4).epsilon(1e-3));
  CHECK(pim::sar_adc::energy_pj(3, p) * 1e3 == doctest::Approx(24.0).epsilon(2e-3));
  CHECK(pim::sar_adc::energy_pj(8, p) * 1e3 == doctest::Approx(78.1).epsilon(1e-3));
  for (int b = 1; b < 12; ++b) {
    CHECK(pim::sar_adc::energy_pj(b + 1, p) > pim::sar_adc::energy_pj(b, p));
    CHECK(pim::sar_adc::area_mm2(b + 1, p) > pim::sar_adc::area_mm2(b, p));
  }
}

TEST_CASE("V9: MNSIM ADC table under the MNSIM convention P (B+2) / f_s") {
  const pim::adc_params p{};
  CHECK(pim::mnsim_adc::energy_pj(4, p) == doctest::Approx(4.2).epsilon(1e-12));
  CHECK(pim::mnsim_adc::energy_pj(6, p) == doctest::Approx(10.08).epsilon(1e-12));
  CHECK(pim::mnsim_adc::energy_pj(8, p) == doctest::Approx(15.625).epsilon(1e-12));
  // the same ISAAC ADC under the amortized convention is ten times cheaper
  pim::adc_params isaac = pim::isaac_preset().k.adc;
  CHECK(pim::amortized_adc::energy_pj(8, isaac) == doctest::Approx(1.5625).epsilon(1e-12));
  CHECK(pim::mnsim_adc::convention != pim::amortized_adc::convention);
  // a 5-bit conversion uses the 6-bit table ADC
  CHECK(pim::mnsim_adc::energy_pj(5, p) == pim::mnsim_adc::energy_pj(6, p));
}

TEST_CASE("V10: MNSIM default cell read energy is 0.239 fJ (+-1 %)") {
  const pim::device_params d = pim::mnsim_preset().k.device;
  CHECK(pim::reram_1t1r::cell_read_pj(d) * 1e3 == doctest::Approx(0.239).epsilon(0.01));
  // NeuroSim: an ON cell at 0.55 V / 100 kOhm / 10 ns costs 30 fJ
  pim::device_params on{100e3, 1e12, 0.55, 10.0, 1.0, 1.0};
  CHECK(pim::reram_1t1r::cell_read_pj(on) * 1e3 == doctest::Approx(30.25).epsilon(1e-3));
}

TEST_CASE("V15: survey ADC fit: 8 b, 1.28 GS/s, 32 nm is about 1.9 pJ (+-30 %)") {
  pim::adc_params p;
  p.sample_rate_gsps = 1.28;
  p.tech_nm = 32.0;
  const double e8 = pim::survey_adc::energy_pj(8, p);
  CHECK(e8 == doctest::Approx(1.9).epsilon(0.3));
  CHECK(e8 > pim::amortized_adc::energy_pj(8, pim::isaac_preset().k.adc));  // ISAAC: 1.56
  CHECK(pim::survey_adc::energy_pj(6, p) == doctest::Approx(1.07).epsilon(0.3));
  // about half at 22 nm; monotone in bits (clamped) and positive area
  pim::adc_params q = p;
  q.tech_nm = 22.0;
  CHECK(pim::survey_adc::energy_pj(8, q) / e8 == doctest::Approx(0.5).epsilon(0.2));
  for (int b = 1; b < 14; ++b) {
    CHECK(pim::survey_adc::energy_pj(b + 1, p) >= pim::survey_adc::energy_pj(b, p));
    CHECK(pim::survey_adc::area_mm2(b, p) > 0.0);
  }
}

TEST_CASE("V11: DLRM Criteo-Kaggle MLP mapping: 135 / 267 / 43 / 501 arrays") {
  struct row {
    index size;
    int cell_bits;
    std::array<index, 7> per_layer;
    index total;
    double util;
  };
  const std::array<row, 4> rows{{
      {128, 2, {16, 32, 4, 1, 48, 32, 2}, 135, 0.858},
      {128, 1, {32, 64, 8, 1, 96, 64, 2}, 267, 0.868},
      {256, 2, {8, 8, 1, 1, 16, 8, 1}, 43, 0.673},
      {64, 2, {32, 128, 16, 1, 192, 128, 4}, 501, 0.925},
  }};
  const auto w = pim::dlrm_criteo_kaggle(8, 8, /*embeddings=*/false);
  CHECK(w.macs() == doctest::Approx(474368.0));
  for (const auto& r : rows) {
    CAPTURE(r.size);
    CAPTURE(r.cell_bits);
    auto c = pim::isaac_preset();
    c.xbar_rows = c.xbar_cols = r.size;
    c.cols_per_adc = static_cast<int>(r.size);
    c.rows_parallel = static_cast<int>(r.size);
    c.cell_bits = r.cell_bits;
    pim::analytic_model<plain_arch> m;
    const auto& rep = m.evaluate(w, c);
    for (std::size_t i = 0; i < 7; ++i) CHECK(m.mappings()[i].arrays == r.per_layer[i]);
    CHECK(rep.arrays == r.total);
    CHECK(rep.compute_arrays == r.total);
    CHECK(rep.copy_arrays == r.total);
    CHECK(rep.utilization == doctest::Approx(r.util).epsilon(0.0006));
  }
  // The ISAAC architecture (offset + unit column, balanced replication) maps one copy the same.
  auto c = pim::isaac_preset();
  c.weight_bits = 8;
  pim::analytic_model<pim::isaac_architecture, pim::naive_mapping> isaac;
  pim::analytic_model<plain_arch> plain;
  index copies = 0;
  const auto& ri = isaac.evaluate(w, c);
  for (const auto& m : isaac.mappings()) copies += m.arrays_per_copy;
  CHECK(copies == 135);
  CHECK(ri.copy_arrays == 135);
  CHECK(ri.compute_arrays > 135);  // balanced replication adds copies
  // The dot interaction of the full model: 351 pairs x 16 = 5,616 MACs on digital units.
  const auto full = pim::dlrm_criteo_kaggle(8, 8);
  double digital = 0.0;
  for (const auto& l : full.layers)
    if (l.cls() == pim::op_class::digital) digital += l.macs;
  CHECK(digital == doctest::Approx(5616.0));
  const auto& r = plain.evaluate(full, c);
  CHECK(r.compute_arrays == 135);
  CHECK(r.macs == doctest::Approx(474368.0 + 5616.0));
}
