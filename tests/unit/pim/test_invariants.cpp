// V16: invariants of the model as property tests over random configurations and layers
// (recnas::rng, fixed seeds): energy never falls when ADC bits, cells or activation bits grow;
// compute latency is proportional to the column mux and to ceil(B_in / B_dac); r replicas
// divide a stage's interval by r and multiply its arrays by r; utilization <= 1; leakage
// energy is proportional to the time it is charged over.
#include <doctest/doctest.h>

#include <recnas/core/rng.hpp>
#include <recnas/pim/pim.hpp>

namespace pim = recnas::pim;
using recnas::index;

namespace {

using pipe_arch = pim::architecture<pim::reram_1t1r, pim::sar_adc, pim::adjacent_columns,
                                    pim::differential_pair, pim::layer_pipeline, pim::mesh>;
using lbl_arch = pim::architecture<pim::reram_1t1r, pim::flash_adc, pim::separate_arrays,
                                   pim::offset_unit_column, pim::layer_by_layer, pim::htree>;
using mnsim_lbl = pim::architecture<pim::reram_1t1r, pim::mnsim_adc, pim::separate_arrays,
                                    pim::differential_pair, pim::layer_by_layer, pim::xy_bus>;

pim::pim_config random_config(recnas::rng& g) {
  pim::pim_config c;
  switch (g.below(3)) {
    case 0:
      c = pim::isaac_preset();
      break;
    case 1:
      c = pim::neurosim_preset();
      break;
    default:
      c = pim::mnsim_preset();
      break;
  }
  const index sizes[] = {32, 64, 128, 256};
  c.xbar_rows = sizes[g.below(4)];
  c.xbar_cols = sizes[g.below(4)];
  c.cell_bits = static_cast<int>(g.between(1, 4));
  c.adc_bits = static_cast<int>(g.between(3, 10));
  c.cols_per_adc = static_cast<int>(std::min<index>(c.xbar_cols, index{1} << g.between(0, 7)));
  c.rows_parallel = static_cast<int>(std::min<index>(c.xbar_rows, index{8} << g.between(0, 5)));
  c.dac_bits = static_cast<int>(g.between(1, 4));
  c.weight_bits = static_cast<int>(g.between(4, 16));
  c.act_bits = static_cast<int>(g.between(4, 16));
  c.tiles = g.bernoulli(0.5) ? 0 : g.between(64, 256);
  c.validate();
  return c;
}

pim::workload random_mlp(recnas::rng& g) {
  const index n = g.between(2, 5);
  std::vector<index> dims;
  for (index i = 0; i <= n; ++i) dims.push_back(g.between(1, 700));
  auto w = pim::mlp(dims);
  if (g.bernoulli(0.5)) w.add(pim::layer::efc("efc", g.between(8, 70), g.between(16, 64)));
  return w;
}

template <class Arch>
pim::model_report eval(const pim::workload& w, const pim::pim_config& c) {
  pim::analytic_model<Arch> m;
  return m.evaluate(w, c);
}

template <class Arch>
void check_monotone_energy(recnas::rng& g) {
  for (int trial = 0; trial < 40; ++trial) {
    const auto c = random_config(g);
    const auto w = random_mlp(g);
    const double base = eval<Arch>(w, c).energy.dynamic().value();
    auto more_adc = c;
    more_adc.adc_bits = c.adc_bits + 1;
    CHECK(eval<Arch>(w, more_adc).energy.dynamic().value() >= base * (1 - 1e-12));
    auto more_act = c;
    more_act.act_bits = c.act_bits + 1;
    CHECK(eval<Arch>(w, more_act).energy.dynamic().value() >= base * (1 - 1e-12));
    auto more_cells = c;  // more weight bits: more slices, more cells
    more_cells.weight_bits = c.weight_bits + c.cell_bits;
    const auto r_more = eval<Arch>(w, more_cells);
    const auto r_base = eval<Arch>(w, c);
    CHECK(r_more.energy.array.value() > r_base.energy.array.value());
    // more arrays move the layers to other tiles: compare without the NoC term
    CHECK((r_more.energy.dynamic() - r_more.energy.interconnect).value() >=
          (r_base.energy.dynamic() - r_base.energy.interconnect).value() * (1 - 1e-12));
  }
}

}  // namespace

TEST_CASE("V16: energy is non-decreasing in ADC bits, cells and activation bits") {
  recnas::rng g(16);
  check_monotone_energy<pipe_arch>(g);
  check_monotone_energy<lbl_arch>(g);
  check_monotone_energy<mnsim_lbl>(g);
}

TEST_CASE("V16: every ADC model's energy and area are non-decreasing in bits") {
  const auto ks = {pim::isaac_preset().k, pim::neurosim_preset().k, pim::mnsim_preset().k};
  for (const auto& k : ks) {
    for (int b = 1; b < 14; ++b) {
      CHECK(pim::amortized_adc::energy_pj(b + 1, k.adc) >= pim::amortized_adc::energy_pj(b, k.adc));
      CHECK(pim::mnsim_adc::energy_pj(b + 1, k.adc) >= pim::mnsim_adc::energy_pj(b, k.adc));
      CHECK(pim::sar_adc::energy_pj(b + 1, k.adc) >= pim::sar_adc::energy_pj(b, k.adc));
      CHECK(pim::flash_adc::energy_pj(b + 1, k.adc) >= pim::flash_adc::energy_pj(b, k.adc));
      CHECK(pim::survey_adc::energy_pj(b + 1, k.adc) >= pim::survey_adc::energy_pj(b, k.adc));
      CHECK(pim::amortized_adc::area_mm2(b + 1, k.adc) >= pim::amortized_adc::area_mm2(b, k.adc));
      CHECK(pim::flash_adc::area_mm2(b + 1, k.adc) >= pim::flash_adc::area_mm2(b, k.adc));
    }
  }
}

TEST_CASE("V16: compute latency is proportional to the mux and to ceil(B_in / B_dac)") {
  recnas::rng g(7);
  for (int trial = 0; trial < 60; ++trial) {
    auto c = random_config(g);
    c.cols_per_adc = 1;
    const auto w = random_mlp(g);
    pim::analytic_model<pipe_arch> m1;
    m1.evaluate(w, c);
    const int mux = static_cast<int>(std::min<index>(c.xbar_cols, index{1} << g.between(1, 6)));
    auto cm = c;
    cm.cols_per_adc = mux;
    pim::analytic_model<pipe_arch> m2;
    m2.evaluate(w, cm);
    for (std::size_t i = 0; i < w.layers.size(); ++i) {
      CHECK(m2.costs()[i].compute == doctest::Approx(mux * m1.costs()[i].compute));
      CHECK(m2.layers()[i].cycles.compute.value() ==
            doctest::Approx(mux * m1.layers()[i].cycles.compute.value()));
    }
    // input slicing: compute / ceil(B_in / B_dac) is the same for every DAC width
    for (int dac = 1; dac <= 4; ++dac) {
      auto cd = c;
      cd.dac_bits = dac;
      pim::analytic_model<pipe_arch> md;
      md.evaluate(w, cd);
      const double steps = std::ceil(static_cast<double>(c.act_bits) / dac);
      const double steps1 = std::ceil(static_cast<double>(c.act_bits) / c.dac_bits);
      for (std::size_t i = 0; i < w.layers.size(); ++i)
        CHECK(md.costs()[i].compute / steps == doctest::Approx(m1.costs()[i].compute / steps1));
    }
  }
}

TEST_CASE("V16: r replicas divide the stage interval by r and multiply its arrays by r") {
  recnas::rng g(3);
  for (int trial = 0; trial < 60; ++trial) {
    const auto c = random_config(g);
    const auto w = random_mlp(g);
    for (std::size_t i = 0; i < w.layers.size(); ++i) {
      const auto& l = w.layers[i];
      pim::layer_mapping m;
      pim::map_layer<pipe_arch, pim::naive_mapping>(l, c, m);
      pim::stage_costs s1;
      pim::price_layer<pipe_arch>(l, m, c, s1);
      const int r = static_cast<int>(g.between(2, 9));
      m.replication = r;
      m.arrays = m.arrays_per_copy * r;
      pim::stage_costs sr;
      pim::price_layer<pipe_arch>(l, m, c, sr);
      CHECK(sr.interval() == doctest::Approx(s1.interval() / r));
      CHECK(sr.energy.dynamic().value() == doctest::Approx(s1.energy.dynamic().value()));
      // a layer with V vectors: one example's compute shrinks to ceil(V / r) MVMs
      CHECK(sr.sequential_jobs() == (l.vectors + r - 1) / r);
    }
    // the balancing mapping keeps arrays == copies x arrays per copy
    auto cc = c;
    cc.tiles = 0;
    cc.auto_spare_tiles = g.between(1, 40);
    pim::analytic_model<pipe_arch, pim::pim_aware_mapping> pa;
    pim::analytic_model<pipe_arch, pim::naive_mapping> na;
    const auto& rp = pa.evaluate(w, cc);
    const auto& rn = na.evaluate(w, cc);
    for (const auto& m : pa.mappings())
      if (m.unit == pim::unit_kind::analog_crossbar)
        CHECK(m.arrays == m.arrays_per_copy * m.replication);
    CHECK(rp.interval.value() <= rn.interval.value() * (1 + 1e-12));
    CHECK(rp.tiles_used <= rn.tiles_used + cc.auto_spare_tiles);
  }
}

TEST_CASE("V16: utilization is in (0, 1] for every layer and model") {
  recnas::rng g(11);
  for (int trial = 0; trial < 200; ++trial) {
    const auto c = random_config(g);
    const auto w = random_mlp(g);
    pim::analytic_model<mnsim_lbl> m;
    const auto& r = m.evaluate(w, c);
    CHECK(r.utilization > 0.0);
    CHECK(r.utilization <= 1.0);
    for (const auto& mp : m.mappings()) {
      CHECK(mp.utilization > 0.0);
      CHECK(mp.utilization <= 1.0 + 1e-12);
    }
  }
}

TEST_CASE("V16: leakage energy is proportional to the time it is charged over") {
  recnas::rng g(5);
  auto c = pim::neurosim_preset();
  c.tiles = 64;  // fixed chip: same leakage power for every workload
  const double leak_mw = pim::chip_model<pim::neurosim_architecture>::leakage_power(c, 64).value();
  CHECK(leak_mw > 0.0);
  for (int trial = 0; trial < 40; ++trial) {
    const auto w = random_mlp(g);
    pim::analytic_model<pim::neurosim_architecture> m;
    const auto& r = m.evaluate(w, c);
    CHECK(r.energy.leakage.value() == doctest::Approx(leak_mw * r.interval.value()));
    pim::analytic_model<pim::architecture<pim::reram_1t1r, pim::sar_adc, pim::adjacent_columns,
                                          pim::unsigned_weights, pim::layer_by_layer, pim::xy_bus>>
        lbl;
    const auto& rl = lbl.evaluate(w, c);
    CHECK(rl.energy.leakage.value() == doctest::Approx(leak_mw * rl.interval.value()));
    CHECK(rl.interval.value() >= r.interval.value() * (1 - 1e-12));
  }
}

TEST_CASE("mesh side: the smallest s with s * s >= tiles") {
  for (recnas::index t = 1; t <= 20000; ++t) {
    const recnas::index s = pim::detail::mesh_side(t);
    REQUIRE(s * s >= t);
    REQUIRE((s - 1) * (s - 1) < t);
  }
  CHECK(pim::detail::mesh_side(168) == 13);
  CHECK(pim::detail::mesh_side(169) == 13);
  CHECK(pim::detail::mesh_side(170) == 14);
}
