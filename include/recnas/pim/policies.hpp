#pragma once
// Compile-time policies of the PIM model: anything that changes which equations run (the
// reference doc's rule; searchable knobs are runtime, in pim_config). Each family has a
// concept; an `architecture<...>` bundles one policy of each family.
//   device       reram_1t1r, fefet_analog, sram_analog, sram_digital
//   ADC          amortized_adc (ISAAC/PUMA P/f_s), mnsim_adc (P (B+2)/f_s), sar_adc (NeuroSim
//                circuit form), flash_adc (2^B - 1 comparators), sense_amp_adc (1 bit),
//                survey_adc (Murmann survey fit)
//   slices       adjacent_columns (ISAAC, NeuroSim), separate_arrays (PUMA, MNSIM)
//   sign         offset_unit_column (ISAAC), differential_pair (MNSIM), unsigned_weights
//   composition  layer_by_layer, layer_pipeline, balanced_replication (ISAAC)
//   interconnect mesh (c-mesh NoC), htree, xy_bus

#include <algorithm>
#include <bit>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "recnas/core/concepts.hpp"
#include "recnas/pim/config.hpp"

namespace recnas::pim {

// ------------------------------------------------------------------------------------------
// Devices

template <class D>
concept PimDevice = PolicyOf<D, policy_kind::pim_device> && requires(const device_params& p) {
  { D::analog } -> std::convertible_to<bool>;
  { D::max_cell_bits } -> std::convertible_to<int>;
  { D::cell_read_pj(p) } -> std::same_as<double>;
};

namespace detail {
/// MNSIM's behaviour-level read energy: V_eff^2 / R_eff * t, in pJ.
[[nodiscard]] inline double conductance_read_pj(const device_params& p) noexcept {
  if (p.calibrated_cell_fj > 0.0) return p.calibrated_cell_fj * 1e-3;
  const double g = p.lrs_fraction / p.r_on_ohm + (1.0 - p.lrs_fraction) / p.r_off_ohm;
  const double v2 = p.v_read * p.v_read * p.input_activity;
  return v2 * g * p.t_read_ns * 1e-9 * 1e12;  // J -> pJ
}
}  // namespace detail

/// 1T1R ReRAM cell read in analog (multi-level cells allowed).
struct reram_1t1r {
  static constexpr std::string_view name = "reram_1t1r";
  static constexpr policy_kind kind = policy_kind::pim_device;
  static constexpr bool analog = true;
  static constexpr int max_cell_bits = 4;
  static double cell_read_pj(const device_params& p) noexcept {
    return detail::conductance_read_pj(p);
  }
};

/// FeFET analog cell (same read equation; NeuroSim 22 nm FeFET: 240 kOhm, on/off 100).
struct fefet_analog {
  static constexpr std::string_view name = "fefet_analog";
  static constexpr policy_kind kind = policy_kind::pim_device;
  static constexpr bool analog = true;
  static constexpr int max_cell_bits = 2;
  static double cell_read_pj(const device_params& p) noexcept {
    return detail::conductance_read_pj(p);
  }
};

/// SRAM cell read in analog (charge sharing on the bit line): 1 bit per cell, leaks.
struct sram_analog {
  static constexpr std::string_view name = "sram_analog";
  static constexpr policy_kind kind = policy_kind::pim_device;
  static constexpr bool analog = true;
  static constexpr int max_cell_bits = 1;
  static double cell_read_pj(const device_params& p) noexcept {
    return p.calibrated_cell_fj > 0.0 ? p.calibrated_cell_fj * 1e-3 : 0.05e-3;
  }
};

/// Digital SRAM CIM: 1-bit cells, sense amplifiers and adder trees replace the ADC.
struct sram_digital {
  static constexpr std::string_view name = "sram_digital";
  static constexpr policy_kind kind = policy_kind::pim_device;
  static constexpr bool analog = false;
  static constexpr int max_cell_bits = 1;
  static double cell_read_pj(const device_params& p) noexcept {
    return p.calibrated_cell_fj > 0.0 ? p.calibrated_cell_fj * 1e-3 : 0.05e-3;
  }
};

// ------------------------------------------------------------------------------------------
// ADCs: each carries the energy convention its constants are quoted in (never mix them).

enum class energy_convention : std::uint8_t {
  amortized,  // P / f_s per conversion (ISAAC, PUMA)
  mnsim,      // P (B + 2) / f_s per conversion (MNSIM ADC.py)
  circuit,    // circuit-level forms (NeuroSim SAR / MLSA)
  sense_amp,  // 1-bit sense amplifier
};

[[nodiscard]] constexpr std::string_view to_string(energy_convention c) noexcept {
  switch (c) {
    case energy_convention::amortized:
      return "amortized P/f_s (ISAAC, PUMA)";
    case energy_convention::mnsim:
      return "MNSIM P(B+2)/f_s";
    case energy_convention::circuit:
      return "circuit (NeuroSim)";
    case energy_convention::sense_amp:
      return "sense amplifier";
  }
  return "?";
}

template <class A>
concept PimAdc = PolicyOf<A, policy_kind::pim_adc> && requires(int bits, const adc_params& p) {
  { A::convention } -> std::convertible_to<energy_convention>;
  { A::energy_pj(bits, p) } -> std::same_as<double>;
  { A::area_mm2(bits, p) } -> std::same_as<double>;
  { A::latency_ns(bits, p) } -> std::same_as<double>;
};

/// ISAAC / PUMA: energy per conversion = P / f_s of the reference converter; other
/// resolutions scale part linearly (vref buffer, memory, clock) and part as 2^B (the
/// capacitive DAC), with `linear_fraction` the linear share at the reference resolution.
struct amortized_adc {
  static constexpr std::string_view name = "amortized_adc";
  static constexpr policy_kind kind = policy_kind::pim_adc;
  static constexpr energy_convention convention = energy_convention::amortized;
  static double scale(int bits, const adc_params& p) noexcept {
    const double b = bits;
    const double rb = p.ref_bits;
    return p.linear_fraction * b / rb + (1.0 - p.linear_fraction) * std::exp2(b - rb);
  }
  static double energy_pj(int bits, const adc_params& p) noexcept {
    return p.ref_power_mw / p.sample_rate_gsps * scale(bits, p);  // mW / GHz = pJ
  }
  static double area_mm2(int bits, const adc_params& p) noexcept {
    return p.ref_area_mm2 * scale(bits, p);
  }
  static double latency_ns(int, const adc_params& p) noexcept { return 1.0 / p.sample_rate_gsps; }
};

/// MNSIM 2.0 ADC table (ADC.py), rows keyed by resolution: a B-bit conversion uses the
/// smallest table ADC with at least B bits; E = P (B_adc + 2) / f_s.
struct mnsim_adc {
  static constexpr std::string_view name = "mnsim_adc";
  static constexpr policy_kind kind = policy_kind::pim_adc;
  static constexpr energy_convention convention = energy_convention::mnsim;
  struct row {
    int bits;
    double power_mw;
    double gsps;
    double area_mm2;
  };
  // choice 7 (4 b, 0.7 mW), choice 4/6 (6 b, 1.26 mW), choice 2 (ISAAC's 8 b ADC). The 10-bit
  // row doubles power per two bits (assumed; not in the reference doc).
  static constexpr row table[] = {{4, 0.7, 1.0, 0.0006},
                                  {6, 1.26, 1.0, 0.0009},
                                  {8, 2.0, 1.28, 0.0012},
                                  {10, 4.0, 1.28, 0.0024}};
  static constexpr row pick(int bits) noexcept {
    for (const auto& r : table)
      if (r.bits >= bits) return r;
    return table[std::size(table) - 1];
  }
  static double energy_pj(int bits, const adc_params&) noexcept {
    const row r = pick(bits);
    const double e = r.power_mw * (r.bits + 2) / r.gsps;
    // beyond the table: double per extra two bits
    return bits > r.bits ? e * std::exp2((bits - r.bits) / 2.0) : e;
  }
  static double area_mm2(int bits, const adc_params&) noexcept { return pick(bits).area_mm2; }
  static double latency_ns(int bits, const adc_params&) noexcept {
    const row r = pick(bits);
    return (r.bits + 2) / r.gsps;
  }
};

/// NeuroSim SAR ADC (SarADC.cpp): P(B) = (a B + b) uW (column term ignored), latency
/// (B + 1) ns, E = P (B + 1) ns; area from the transistor counts.
struct sar_adc {
  static constexpr std::string_view name = "sar_adc";
  static constexpr policy_kind kind = policy_kind::pim_adc;
  static constexpr energy_convention convention = energy_convention::circuit;
  static double power_uw(int bits, const adc_params& p) noexcept {
    return p.sar_a_uw * bits + p.sar_b_uw;
  }
  static double energy_pj(int bits, const adc_params& p) noexcept {
    return power_uw(bits, p) * (bits + 1) * 1e-3;  // uW x ns = fJ
  }
  static double area_mm2(int bits, const adc_params& p) noexcept {
    return (p.nmos_area_um2 * (269.0 + (bits - 1) * 109.0) +
            p.pmos_area_um2 * (209.0 + (bits - 1) * 73.0)) *
           1e-6;
  }
  static double latency_ns(int bits, const adc_params&) noexcept { return bits + 1.0; }
};

/// Flash / multi-level sense amplifier: 2^B - 1 comparators fire on every conversion.
struct flash_adc {
  static constexpr std::string_view name = "flash_adc";
  static constexpr policy_kind kind = policy_kind::pim_adc;
  static constexpr energy_convention convention = energy_convention::circuit;
  static double energy_pj(int bits, const adc_params& p) noexcept {
    return (std::exp2(bits) - 1.0) * p.comparator_fj * 1e-3;
  }
  static double area_mm2(int bits, const adc_params& p) noexcept {
    return (std::exp2(bits) - 1.0) * p.comparator_area_um2 * 1e-6;
  }
  static double latency_ns(int, const adc_params&) noexcept { return 1.0; }
};

/// 1-bit sense amplifier (digital PIM, binary cells): resolution is always one bit.
struct sense_amp_adc {
  static constexpr std::string_view name = "sense_amp_adc";
  static constexpr policy_kind kind = policy_kind::pim_adc;
  static constexpr energy_convention convention = energy_convention::sense_amp;
  static double energy_pj(int, const adc_params& p) noexcept { return p.sense_amp_fj * 1e-3; }
  static double area_mm2(int, const adc_params& p) noexcept { return p.sense_amp_area_um2 * 1e-6; }
  static double latency_ns(int, const adc_params&) noexcept { return 1.0; }
};

/// ADC-survey fit (Murmann's survey as fitted by Accelergy-Project/accelergy-adc-plug-in,
/// adc_data/model.yaml @6851cb8; it reproduces ref section 2.4's 1.9 / 1.07 pJ): the Schreier
/// figure of merit falls with the sample rate and is capped per ENOB; E = 1 / (2 * 10^((FOM_S -
/// SNDR) / 10)) scaled by exp(tech and ENOB terms), with SNDR = 6.02 B + 1.76. The raw fit has its
/// minimum at 4 bits and rises again below (the -2.83 ln B term), so resolutions under 4 bits cost
/// the 4-bit energy.
struct survey_adc {
  static constexpr std::string_view name = "survey_adc";
  static constexpr policy_kind kind = policy_kind::pim_adc;
  static constexpr energy_convention convention = energy_convention::circuit;
  static double raw_pj(int bits, const adc_params& p) noexcept {
    const double b = std::max(1, bits);
    const double ln_f = std::log(p.sample_rate_gsps * 1e9);
    const double foms_f = 213.7806687348118 - 2.8719030399529957 * ln_f;
    const double foms_cap = 128.3068287398817 + 3.2205115109776 * std::ceil(b);
    const double foms = std::min(foms_f, foms_cap);
    const double sndr = 6.02 * b + 1.76;
    const double e = 1.0 / (2.0 * std::pow(10.0, (foms - sndr) / 10.0));
    return e * std::exp(26.0496215686518 + 1.8800369206815004 * std::log(p.tech_nm) -
                        2.8291256050594527 * std::log(b) - 1.4702022133784405);
  }
  static double energy_pj(int bits, const adc_params& p) noexcept {
    double e = 0.0;
    for (int b = 4; b <= std::max(bits, 4); ++b) e = std::max(e, raw_pj(b, p));
    return e;
  }
  static double area_mm2(int bits, const adc_params& p) noexcept {
    const double um2 =
        std::exp(0.9932794744745022 * std::log(p.tech_nm) +
                 0.18071538424508238 * std::log(p.sample_rate_gsps * 1e9) +
                 0.29912426192653485 * std::log(energy_pj(bits, p)) + 1.3461916439910742);
    return um2 * 1e-6;
  }
  static double latency_ns(int, const adc_params& p) noexcept { return 1.0 / p.sample_rate_gsps; }
};

/// ISAAC's resolution rule (section V, eqs. 1-2): A = log2(R) + v + w, minus one when v or w
/// is 1, minus one more with the flipped-weight encoding. Never below 1.
[[nodiscard]] constexpr int needed_adc_bits(index rows, int dac_bits, int cell_bits,
                                            bool flip) noexcept {
  int lg = 0;
  while ((index{1} << lg) < rows) ++lg;
  int a = lg + dac_bits + cell_bits - ((dac_bits > 1 && cell_bits > 1) ? 0 : 1) - (flip ? 1 : 0);
  return std::max(1, a);
}

// ------------------------------------------------------------------------------------------
// Bit-slice placement

struct tiling {
  index row_tiles = 0;
  index col_tiles = 0;
  [[nodiscard]] constexpr index arrays() const noexcept { return row_tiles * col_tiles; }
};

template <class S>
concept SlicePolicy = Named<S> && requires(index k, index n, int s, index r, index c) {
  { S::tile(k, n, s, r, c) } -> std::same_as<tiling>;
  { S::slices_in_place } -> std::convertible_to<bool>;
};

/// Slices of a weight in neighbouring columns of one array (ISAAC, NeuroSim).
struct adjacent_columns {
  static constexpr std::string_view name = "adjacent_columns";
  static constexpr bool slices_in_place = true;  // shift-added right after the ADC
  static constexpr tiling tile(index k, index n, int slices, index r, index c) noexcept {
    return {(k + r - 1) / r, (n * slices + c - 1) / c};
  }
};

/// Each slice in its own array (PUMA, MNSIM): slice sums are added digitally.
struct separate_arrays {
  static constexpr std::string_view name = "separate_arrays";
  static constexpr bool slices_in_place = false;
  static constexpr tiling tile(index k, index n, int slices, index r, index c) noexcept {
    return {(k + r - 1) / r, slices * ((n + c - 1) / c)};
  }
};

// ------------------------------------------------------------------------------------------
// Signed weights

template <class G>
concept SignPolicy = Named<G> && requires {
  { G::array_factor } -> std::convertible_to<int>;
  { G::extra_columns } -> std::convertible_to<int>;
};

/// ISAAC: weights biased by 2^(B-1) plus one unit column per array, subtracted digitally.
struct offset_unit_column {
  static constexpr std::string_view name = "offset_unit_column";
  static constexpr int array_factor = 1;
  static constexpr int extra_columns = 1;
};
/// MNSIM Xbar_Polarity = 2: a positive and a negative array, subtracted after the ADC.
struct differential_pair {
  static constexpr std::string_view name = "differential_pair";
  static constexpr int array_factor = 2;
  static constexpr int extra_columns = 0;
};
/// No sign handling (unsigned weights; the reference doc's mapping tables).
struct unsigned_weights {
  static constexpr std::string_view name = "unsigned_weights";
  static constexpr int array_factor = 1;
  static constexpr int extra_columns = 0;
};

// ------------------------------------------------------------------------------------------
// Layer composition

template <class C>
concept ComposePolicy = Named<C> && requires {
  { C::pipelined } -> std::convertible_to<bool>;
  { C::balance } -> std::convertible_to<bool>;
};

/// One layer after another (NeuroSim's non-pipelined mode): latency = sum of layers.
struct layer_by_layer {
  static constexpr std::string_view name = "layer_by_layer";
  static constexpr bool pipelined = false;
  static constexpr bool balance = false;
};
/// Every layer is a pipeline stage (NeuroSim pipeline mode): interval = slowest stage.
struct layer_pipeline {
  static constexpr std::string_view name = "layer_pipeline";
  static constexpr bool pipelined = true;
  static constexpr bool balance = false;
};
/// ISAAC: a layer pipeline whose stages are balanced by replicating slow layers into the
/// spare arrays, whatever the mapping policy.
struct balanced_replication {
  static constexpr std::string_view name = "balanced_replication";
  static constexpr bool pipelined = true;
  static constexpr bool balance = true;
};

// ------------------------------------------------------------------------------------------
// Interconnect between tiles

struct transfer_cost {
  units::cycles cycles{0.0};
  units::picojoules energy{0.0};
};

template <class I>
concept InterconnectPolicy = Named<I> &&
    requires(double bytes, index a, index b, index tiles, const pim_config& c) {
  { I::transfer(bytes, a, b, tiles, c) } -> std::same_as<transfer_cost>;
};

namespace detail {
[[nodiscard]] inline index mesh_side(index tiles) noexcept {
  // the smallest s with s * s >= tiles (sqrt first: this runs for every edge of a workload)
  auto s = static_cast<index>(std::sqrt(static_cast<double>(tiles)));
  while (s > 1 && (s - 1) * (s - 1) >= tiles) --s;
  while (s * s < tiles) ++s;
  return std::max<index>(s, 1);
}
[[nodiscard]] inline index manhattan(index a, index b, index tiles) noexcept {
  const index s = mesh_side(std::max<index>(tiles, 1));
  return std::abs(a % s - b % s) + std::abs(a / s - b / s);
}
}  // namespace detail

/// Concentrated mesh NoC (ISAAC, PUMA): hop count on the tile grid, flits serialised.
struct mesh {
  static constexpr std::string_view name = "mesh";
  static transfer_cost transfer(double bytes, index a, index b, index tiles,
                                const pim_config& c) noexcept {
    if (bytes <= 0.0 || a == b) return {};
    const index hops = detail::manhattan(a, b, tiles);
    if (hops == 0) return {};
    const double flits = std::ceil(bytes * 8.0 / c.flit_bits);
    return {units::cycles(static_cast<double>(hops * c.k.router_cycles_per_hop) + flits),
            units::picojoules(flits * static_cast<double>(hops) * c.k.router_pj_per_flit_hop)};
  }
};

/// H-tree (NeuroSim default): up to the common ancestor of the two tiles and down again.
struct htree {
  static constexpr std::string_view name = "htree";
  static transfer_cost transfer(double bytes, index a, index b, index,
                                const pim_config& c) noexcept {
    if (bytes <= 0.0 || a == b) return {};
    const auto x = static_cast<std::uint64_t>(a ^ b);
    const index levels = static_cast<index>(std::bit_width(x));
    const double words = std::ceil(bytes * 8.0 / c.bus_bits);
    return {units::cycles(static_cast<double>(2 * levels) + words),
            units::picojoules(bytes * static_cast<double>(2 * levels) * c.k.bus_pj_per_byte)};
  }
};

/// X-Y bus (NeuroSim 1.4 option): wire segments between tiles, no routers.
struct xy_bus {
  static constexpr std::string_view name = "xy_bus";
  static transfer_cost transfer(double bytes, index a, index b, index tiles,
                                const pim_config& c) noexcept {
    if (bytes <= 0.0 || a == b) return {};
    const index seg = detail::manhattan(a, b, tiles);
    const double words = std::ceil(bytes * 8.0 / c.bus_bits);
    return {units::cycles(static_cast<double>(seg) + words),
            units::picojoules(bytes * static_cast<double>(seg) * c.k.bus_pj_per_byte)};
  }
};

// ------------------------------------------------------------------------------------------
// An architecture: one policy of each family.

template <PimDevice Device, PimAdc Adc, SlicePolicy Slices, SignPolicy Sign, ComposePolicy Compose,
          InterconnectPolicy Interconnect>
struct architecture {
  using device = Device;
  using adc = Adc;
  using slices = Slices;
  using sign = Sign;
  using compose = Compose;
  using interconnect = Interconnect;
};

template <class A>
concept PimArchitecture = requires {
  typename A::device;
  typename A::adc;
  typename A::slices;
  typename A::sign;
  typename A::compose;
  typename A::interconnect;
}
&&PimDevice<typename A::device>&& PimAdc<typename A::adc>&& SlicePolicy<typename A::slices>&&
    SignPolicy<typename A::sign>&& ComposePolicy<typename A::compose>&&
        InterconnectPolicy<typename A::interconnect>;

using isaac_architecture = architecture<reram_1t1r, amortized_adc, adjacent_columns,
                                        offset_unit_column, balanced_replication, mesh>;
using neurosim_architecture =
    architecture<reram_1t1r, sar_adc, adjacent_columns, unsigned_weights, layer_pipeline, xy_bus>;
using puma_architecture = architecture<reram_1t1r, amortized_adc, separate_arrays, unsigned_weights,
                                       layer_pipeline, mesh>;
using mnsim_architecture =
    architecture<reram_1t1r, mnsim_adc, separate_arrays, differential_pair, layer_pipeline, mesh>;

}  // namespace recnas::pim
