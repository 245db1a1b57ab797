// Validation cases V1-V6 of pim-models.md section 5.4: the ISAAC-CE preset against ISAAC's
// Table I / Table IV figures.
#include <doctest/doctest.h>

#include <recnas/pim/pim.hpp>

namespace pim = recnas::pim;
using recnas::index;

namespace {

/// One layer that fills a 128x128 crossbar exactly at 16-bit weights on 2-bit cells:
/// 128 inputs x 16 outputs x 8 slices = 128 columns.
pim::workload full_array_layer(index copies = 1) {
  pim::workload w;
  w.add(pim::layer::fc("full", 128, 16 * copies), pim::workload::roots);
  return w;
}

/// ISAAC with only the IMA components priced (tile buffer, bus, adders, NoC zeroed), so the
/// per-MAC energy is the IMA's (V4).
pim::pim_config ima_only(pim::pim_config c) {
  c.k.buffer_pj_per_byte = 0.0;
  c.k.bus_pj_per_byte = 0.0;
  c.k.adder_pj_per_add = 0.0;
  c.k.router_pj_per_flit_hop = 0.0;
  return c;
}

}  // namespace

TEST_CASE("V1: ISAAC-CE peak throughput is 41,287.68 GOPS") {
  const auto c = pim::isaac_preset();
  const auto peak = pim::chip_model<pim::isaac_architecture>::peak(c, c.tiles);
  CHECK(peak.value() == doctest::Approx(41287.68).epsilon(1e-12));
  // 10.24 GMAC/s per IMA
  const auto one_ima = pim::chip_model<pim::isaac_architecture>::peak(
      [&] {
        auto x = c;
        x.pes_per_tile = 1;
        return x;
      }(),
      1);
  CHECK(one_ima.value() / 2.0 == doctest::Approx(10.24).epsilon(1e-12));
}

TEST_CASE("V2: ISAAC-CE peak power efficiency is 627.5 GOPS/W (+-0.5 %)") {
  const auto c = pim::isaac_preset();
  pim::analytic_model<pim::isaac_architecture> m;
  const auto& r = m.evaluate(full_array_layer(), c);
  CHECK(r.peak_power.value() == doctest::Approx(65800.0).epsilon(0.005));
  CHECK(r.peak_per_watt.value() == doctest::Approx(627.5).epsilon(0.005));
  // 330 mW per tile: the IMAs (289 mW) plus the tile peripherals
  auto one = c;
  one.k.offchip_link_mw = 0.0;
  CHECK(pim::chip_model<pim::isaac_architecture>::peak_power(one, 1).value() ==
        doctest::Approx(330.0).epsilon(0.005));
}

TEST_CASE("V3: ISAAC-CE computational efficiency 483.5 GOPS/mm^2 (+-1.5 %), chip 85.4 mm^2") {
  const auto c = pim::isaac_preset();
  pim::analytic_model<pim::isaac_architecture> m;
  const auto& r = m.evaluate(full_array_layer(), c);
  CHECK(r.area.total().value() == doctest::Approx(85.4).epsilon(0.005));
  CHECK(r.peak_per_mm2.value() == doctest::Approx(483.5).epsilon(0.015));
  // a tile is 0.372 mm^2, its 12 IMAs 0.157 mm^2
  auto one = c;
  one.k.chip_other_area_mm2 = 0.0;
  const auto a = pim::chip_model<pim::isaac_architecture>::area(one, 1);
  CHECK(a.total().value() == doctest::Approx(0.372).epsilon(0.005));
  const double ima = (a.arrays + a.adc + a.dac + a.accumulation).value() +
                     12.0 * (2.0 * c.k.ir_area_mm2_per_kb + 0.25 * c.k.or_area_mm2_per_kb);
  CHECK(ima == doctest::Approx(0.157).epsilon(0.005));
}

TEST_CASE(
    "V4: ISAAC per-MAC energy 2.35 pJ in the IMA; ADC 66 % of it, 58 % of tile power, 31 % of "
    "area") {
  const auto c = ima_only(pim::isaac_preset());
  pim::analytic_model<pim::isaac_architecture> m;
  const auto w = full_array_layer();
  const auto& r = m.evaluate(w, c);
  const double macs = w.macs();
  CHECK(macs == doctest::Approx(128.0 * 16.0));
  const double ima_pj = (r.energy.dynamic() - r.energy.interconnect).value() / macs;
  CHECK(ima_pj == doctest::Approx(2.35).epsilon(0.01));
  CHECK(r.energy.adc.value() / macs == doctest::Approx(1.5625).epsilon(1e-12));
  CHECK(r.energy.adc.value() / macs / ima_pj == doctest::Approx(0.66).epsilon(0.01));
  // tile power and area shares of the ADCs
  auto one = pim::isaac_preset();
  one.k.offchip_link_mw = 0.0;
  one.k.chip_other_area_mm2 = 0.0;
  const double adc_mw = pim::amortized_adc::energy_pj(8, one.k.adc) * one.clock.value() *
                        static_cast<double>(one.arrays_per_tile() * one.adcs_per_array());
  CHECK(adc_mw == doctest::Approx(192.0).epsilon(1e-12));
  const double tile_mw = pim::chip_model<pim::isaac_architecture>::peak_power(one, 1).value();
  CHECK(adc_mw / tile_mw == doctest::Approx(0.58).epsilon(0.01));
  const auto a = pim::chip_model<pim::isaac_architecture>::area(one, 1);
  CHECK(a.adc.value() / a.total().value() == doctest::Approx(0.31).epsilon(0.01));
}

TEST_CASE("V5: ISAAC ADC resolution rule: 9 bits, 8 with the flipped encoding") {
  CHECK(pim::needed_adc_bits(128, 1, 2, false) == 9);
  CHECK(pim::needed_adc_bits(128, 1, 2, true) == 8);
  // v > 1 and w > 1: no minus one
  CHECK(pim::needed_adc_bits(128, 2, 2, false) == 11);
  CHECK(pim::needed_adc_bits(1, 1, 1, true) == 1);  // never below one bit
}

TEST_CASE("V6: ISAAC does one 8-bit conversion per 16-bit MAC") {
  // conversions = MACs x S_w x B_in / R = MACs x 8 x 16 / 128
  const auto c = pim::isaac_preset();
  for (index copies : {1, 3, 8}) {
    pim::analytic_model<pim::isaac_architecture> m;
    const auto w = full_array_layer(copies);
    const auto& r = m.evaluate(w, c);
    const double conversions = r.energy.adc.value() / pim::amortized_adc::energy_pj(8, c.k.adc);
    CHECK(conversions == doctest::Approx(w.macs() * 8.0 * 16.0 / 128.0).epsilon(1e-12));
    CHECK(conversions / w.macs() == doctest::Approx(1.0).epsilon(1e-12));
  }
  // 16 input bits x one 128-column mux = 2048 cycles = 1.6 us per MVM (16 x 100 ns)
  pim::analytic_model<pim::isaac_architecture> m;
  m.evaluate(full_array_layer(), c);
  CHECK(m.costs()[0].compute == doctest::Approx(2048.0));
  CHECK((recnas::units::cycles(m.costs()[0].compute) / c.clock).value() == doctest::Approx(1600.0));
}
