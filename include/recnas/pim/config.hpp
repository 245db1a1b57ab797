#pragma once
// The runtime knobs of a PIM design (everything the co-search sweeps) and the table of
// per-component constants that turns event counts into energy, power and area. Presets for
// ISAAC (32 nm), PUMA (32 nm), NeuroSim V1.4 (22 nm RRAM) and MNSIM 2.0 defaults; every constant
// names its source (reference: /work/shared/reference/pim-models.md, sections 2.4 and 2.6).

#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>

#include "recnas/core/error.hpp"
#include "recnas/core/units.hpp"
#include "recnas/pim/units.hpp"

namespace recnas::pim {

/// Memory cell: the conductance model gives the energy of one cell read per input bit,
/// E = V_eff^2 / R_eff * t_read, with R_eff the LRS/HRS mix and V_eff^2 = V^2 * input activity
/// (MNSIM's behaviour-level form). `calibrated_cell_fj > 0` replaces it by a table value.
struct device_params {
  double r_on_ohm = 10e3;
  double r_off_ohm = 1e6;
  double v_read = 0.15;
  double t_read_ns = 3.16;
  double lrs_fraction = 0.33;
  double input_activity = 0.1;
  double calibrated_cell_fj = 0.0;
  double cell_area_um2 = 0.0015;
  double cell_leak_nw = 0.0;  // per cell (SRAM); ReRAM cells do not leak
  // NeuroSim charges the column current only while the ADC senses it (the column-power term
  // of its ADC models): with this set, t_read is the ADC latency at the layer's resolution.
  bool read_during_adc = false;
};

/// ADC constants. Which fields are used depends on the ADC policy (adc.hpp).
struct adc_params {
  // table / amortized models: one reference converter
  int ref_bits = 8;
  double ref_power_mw = 2.0;
  double sample_rate_gsps = 1.28;
  double ref_area_mm2 = 0.0012;
  double linear_fraction = 0.5;  // share of the reference energy that scales linearly in bits
  // NeuroSim SAR: P(B) = (a B + b) uW, latency (B + 1) ns
  double sar_a_uw = 0.538;
  double sar_b_uw = 4.3753;
  double nmos_area_um2 = 0.0;  // minimum transistor areas at the node (SAR area formula)
  double pmos_area_um2 = 0.0;
  // flash / multi-level sense amplifier: 2^B - 1 comparators
  double comparator_fj = 5.0;
  double comparator_area_um2 = 1.0;
  // 1-bit sense amplifier
  double sense_amp_fj = 5.0;
  double sense_amp_area_um2 = 1.0;
  // survey fit (Murmann): technology node in nm
  double tech_nm = 32.0;
};

/// Per-component constants of one technology / design point.
struct constants_table {
  std::string_view name = "isaac-32nm";
  device_params device{};
  adc_params adc{};
  // crossbar periphery (per array)
  double dac_pj_per_row_bit = 0.390625;  // 1-bit DAC per row activation per input-bit step
  double dac_area_um2_per_row = 0.166;
  double sh_pj_per_sample = 0.0009765625;
  double sh_area_um2_per_col = 0.039;
  // PE level
  double shift_add_pj_per_conversion = 0.01953125;
  double shift_add_area_mm2_per_pe = 0.00024;
  double shift_add_area_um2_per_adc = 0.0;  // designs with one shift-add unit per ADC
  double ir_pj_per_byte = 0.96875;
  double or_pj_per_byte = 1.4375;
  double ir_area_mm2_per_kb = 0.00105;
  double or_area_mm2_per_kb = 0.00308;
  double adder_pj_per_add = 0.05;  // partial-sum add in adder trees (16-bit, 32 nm; assumed)
  // tile level
  double buffer_pj_per_byte = 2.02;
  double buffer_area_mm2_per_kb = 0.083 / 64.0;
  double buffer_peak_mw = 20.7;
  double bus_pj_per_byte = 0.68;
  double bus_area_mm2 = 0.090;
  double bus_peak_mw = 7.0;
  double router_pj_per_flit_hop = 5.0;
  double router_area_mm2 = 0.151 / 4.0;
  double router_peak_mw = 42.0 / 4.0;
  int router_cycles_per_hop = 2;
  // digital vector unit per tile
  double digital_pj_per_mac = 0.7;  // 16-bit MAC at 32 nm (Horowitz 45 nm scaled; assumed)
  double digital_pj_per_add = 0.06;
  double digital_pj_per_special = 0.22;  // ISAAC sigmoid unit: 0.26 mW at 1.2 GHz
  int special_cycles = 4;
  double digital_area_mm2 = 0.0041;  // ISAAC sigmoid + S+A + max-pool + output register
  double digital_peak_mw = 2.65;
  // chip level
  double offchip_pj_per_byte = 160.0;  // DRAM access + link, ~20 pJ/bit (assumed)
  double offchip_latency_ns = 50.0;
  double offchip_gb_per_s = 25.6;
  double offchip_link_mw = 10400.0;  // ISAAC: 4 HyperTransport links
  double chip_other_area_mm2 = 22.88;
  // leakage (ISAAC lumps everything into active powers: 0)
  double pe_leak_mw = 0.0;
  double tile_leak_mw = 0.0;
};

/// Every knob the co-search may sweep. `tiles == 0` sizes the chip to the mapping.
struct pim_config {
  index xbar_rows = 128;
  index xbar_cols = 128;
  int cell_bits = 2;
  int adc_bits = 8;
  int cols_per_adc = 128;
  int rows_parallel = 128;
  int dac_bits = 1;
  int weight_bits = 16;  // default for layers that do not set their own
  int act_bits = 16;
  int arrays_per_pe = 8;
  int pes_per_tile = 12;
  index tiles = 168;
  index auto_spare_tiles = 0;    // with tiles == 0: extra tiles a mapping may use for replicas
  int max_replication = 64;      // per layer, for the replicating mappings
  units::gigahertz clock{1.28};  // one cycle = one ADC conversion step
  index pe_input_buffer_bytes = 2048;
  index pe_output_buffer_bytes = 256;
  index tile_buffer_bytes = 64 * 1024;
  int bus_bits = 384;         // tile buffer <-> PE bus width
  int flit_bits = 32;         // NoC flit
  int digital_lanes = 32;     // vector-unit operations per cycle per tile
  int adder_lanes = 16;       // partial sums added per cycle per PE adder tree
  bool flip_encoding = true;  // ISAAC's flipped weights save one ADC bit
  constants_table k{};

  [[nodiscard]] index arrays_per_tile() const noexcept {
    return static_cast<index>(arrays_per_pe) * pes_per_tile;
  }
  [[nodiscard]] index adcs_per_array() const noexcept {
    return (xbar_cols + cols_per_adc - 1) / cols_per_adc;
  }

  /// Throws input_error naming the first bad field (configs come from JSON and the CLI).
  void validate(const std::string& source = {}) const {
    auto bad = [&](const char* field, const std::string& why) {
      throw input_error(source, 0, field, why);
    };
    auto pow2 = [](index v) { return v > 0 && (v & (v - 1)) == 0; };
    if (xbar_rows < 2 || xbar_rows > 4096) bad("xbar_rows", "must be in [2, 4096]");
    if (xbar_cols < 2 || xbar_cols > 4096) bad("xbar_cols", "must be in [2, 4096]");
    if (cell_bits < 1 || cell_bits > 8) bad("cell_bits", "must be in [1, 8]");
    if (adc_bits < 1 || adc_bits > 16) bad("adc_bits", "must be in [1, 16]");
    if (cols_per_adc < 1 || cols_per_adc > xbar_cols)
      bad("cols_per_adc", "must be in [1, xbar_cols]");
    if (rows_parallel < 1 || rows_parallel > xbar_rows)
      bad("rows_parallel", "must be in [1, xbar_rows]");
    if (dac_bits < 1 || dac_bits > 8) bad("dac_bits", "must be in [1, 8]");
    if (weight_bits < 1 || weight_bits > 32) bad("weight_bits", "must be in [1, 32]");
    if (act_bits < 1 || act_bits > 32) bad("act_bits", "must be in [1, 32]");
    if (arrays_per_pe < 1) bad("arrays_per_pe", "must be >= 1");
    if (pes_per_tile < 1) bad("pes_per_tile", "must be >= 1");
    if (tiles < 0) bad("tiles", "must be >= 0 (0 sizes the chip to the mapping)");
    if (auto_spare_tiles < 0) bad("auto_spare_tiles", "must be >= 0");
    if (max_replication < 1) bad("max_replication", "must be >= 1");
    if (!(clock.value() > 0.0)) bad("clock_ghz", "must be > 0");
    if (pe_input_buffer_bytes < 1 || pe_output_buffer_bytes < 1 || tile_buffer_bytes < 1)
      bad("buffer_bytes", "buffers must hold at least one byte");
    if (bus_bits < 1 || flit_bits < 1 || digital_lanes < 1 || adder_lanes < 1)
      bad("bus_bits", "bus, flit, digital and adder widths must be >= 1");
    if (!pow2(xbar_rows)) bad("xbar_rows", "must be a power of two");
  }
};

// ------------------------------------------------------------------------------------------
// Presets

/// ISAAC-CE (Shafiee et al., ISCA'16, Table I): 168 tiles x 12 IMAs x 8 crossbars of 128x128,
/// 2-bit cells, 1-bit DACs, one 8-bit 1.28 GS/s ADC per crossbar, 16-bit weights and inputs.
/// One cycle = one ADC conversion (0.78 ns): a 100 ns crossbar read is 128 of them. Every
/// per-event energy is Table I power x event time, so the chip reproduces 65.8 W and 85.4 mm^2.
inline pim_config isaac_preset() {
  pim_config c;  // the defaults are ISAAC's
  c.k.name = "isaac-32nm";
  c.k.device.calibrated_cell_fj = 1.831;  // 0.3 mW per array over 128x128 cells x 16 steps
  c.k.device.cell_area_um2 = 25.0 / (128.0 * 128.0);
  return c;
}

/// NeuroSim's clock (ref section 2.1): T_clk = (t_WL/mux + t_ADC + t_encoder) x beta, beta =
/// 1.4 (validated mode), f = min(1 GHz, 1 / T_clk). The SAR ADC takes (B + 1) ns; the WL, mux
/// and encoder delays are not in the reference doc and are left out (they would lower f by a
/// few per cent).
[[nodiscard]] inline units::gigahertz neurosim_clock(int adc_bits) {
  constexpr double beta = 1.4;
  const double t_clk_ns = beta * (adc_bits + 1.0);
  return units::gigahertz(std::min(1.0, 1.0 / t_clk_ns));
}

/// DNN+NeuroSim V1.4 with the 22 nm RRAM device (ref section 2.6): 128x128 subarrays, 1-bit
/// cells, SAR ADC shared by 8 columns, 8-bit weights and inputs; `adc_bits` and
/// `rows_parallel` are the two knobs of the published examples (wrapper default 5 and 128;
/// Table VII uses 4 and 32 or 64). The clock is derived from the ADC (neurosim_clock). Where
/// the reference doc has no NeuroSim figure, the constant is ISAAC's Table I figure (32 nm)
/// scaled to 22 nm: energy x 22/32 (C V^2 with C ~ feature size), area x (22/32)^2; every
/// constant's origin is in docs/pim-model.md section 1.
inline pim_config neurosim_preset(int adc_bits = 5, int rows_parallel = 128) {
  constexpr double se = 22.0 / 32.0;         // energy scale 32 -> 22 nm
  constexpr double sa = (22.0 / 32.0) * se;  // area scale
  constexpr double f22 = 0.022;              // feature size, um
  pim_config c;
  c.cell_bits = 1;
  c.adc_bits = adc_bits;
  c.cols_per_adc = 8;
  c.rows_parallel = rows_parallel;
  c.weight_bits = 8;
  c.act_bits = 8;
  c.arrays_per_pe = 4;
  c.pes_per_tile = 4;
  c.tiles = 0;  // NeuroSim sizes the chip to the network
  c.clock = neurosim_clock(adc_bits);
  c.tile_buffer_bytes = 32 * 1024;
  c.bus_bits = 256;
  c.flip_encoding = false;
  auto& k = c.k;
  k.name = "neurosim-22nm-rram";
  // Param.cpp: R_on 100 kOhm, on/off 17. The column energy is NeuroSim's ADC column-power term
  // c exp(-2.303 log10 R_col) = c / R_col with c = 0.072341 (SarADC.cpp, 22 nm), i.e. V^2 / R
  // with V^2 = c, charged over the ADC latency. Half the cells in LRS (offset-binary weight
  // bits) and half the input bits high are this model's activity assumptions.
  k.device = device_params{100e3, 1.7e6, std::sqrt(0.072341), 0.0, 0.5, 0.5, 0.0, 0.0, 0.0, true};
  k.device.cell_area_um2 = 12.0 * 4.0 * f22 * f22;  // 1T1R 4F x 12F (Param.cpp)
  k.adc.ref_bits = adc_bits;
  k.adc.sar_a_uw = 0.538;  // SarADC.cpp, 22 nm LSTP
  k.adc.sar_b_uw = 4.3753;
  k.adc.nmos_area_um2 = f22 * f22 * 12.0;  // minimum devices ~12 / 18 F^2 (assumed)
  k.adc.pmos_area_um2 = f22 * f22 * 18.0;
  k.adc.tech_nm = 22.0;
  // no DAC (bit-serial 0/V_read pulses): the WL driver is ISAAC's 1-bit DAC power (3.9 uW)
  // held for the sense window (B + 1) ns, scaled to 22 nm
  k.dac_pj_per_row_bit = 3.90625e-3 * (adc_bits + 1.0) * se;
  k.dac_area_um2_per_row = 0.166 * sa;
  k.sh_pj_per_sample = 0.0;  // NeuroSim senses directly, no S&H
  k.sh_area_um2_per_col = 0.0;
  k.shift_add_pj_per_conversion = 0.01953125 * se;  // ISAAC S+A
  k.shift_add_area_mm2_per_pe = 0.0;
  k.shift_add_area_um2_per_adc = 0.00024 / 4.0 * 1e6 * sa;  // one ISAAC S+A unit per ADC
  k.ir_pj_per_byte = 0.96875 * se;
  k.or_pj_per_byte = 1.4375 * se;
  k.ir_area_mm2_per_kb = 0.0021 / 2.0 * sa;
  k.or_area_mm2_per_kb = 0.00077 / 0.25 * sa;
  k.adder_pj_per_add = 0.05 * se;  // 16-bit add (assumed at 32 nm, as ISAAC's preset)
  k.buffer_pj_per_byte = 2.02 * se;
  k.buffer_area_mm2_per_kb = 0.083 / 64.0 * sa;
  k.buffer_peak_mw = 20.7 * se;
  k.bus_pj_per_byte = 0.68 * se;  // X-Y bus: per byte per tile segment
  k.bus_area_mm2 = 0.090 * sa;
  k.bus_peak_mw = 7.0 * se;
  k.router_pj_per_flit_hop = 0.0;  // no routers on an X-Y bus
  k.router_area_mm2 = 0.0;
  k.router_peak_mw = 0.0;
  k.router_cycles_per_hop = 1;
  k.digital_pj_per_mac = 0.7 * se;
  k.digital_pj_per_add = 0.06 * se;
  k.digital_pj_per_special = 0.22 * se;
  k.digital_area_mm2 = 0.0041 * sa;
  k.digital_peak_mw = 2.65 * se;
  k.offchip_pj_per_byte = 160.0;
  k.offchip_link_mw = 0.0;
  k.chip_other_area_mm2 = 0.0;
  // LSTP leakage: not in the reference doc; small estimates so that idle time is not free
  k.pe_leak_mw = 0.01;
  k.tile_leak_mw = 0.05;
  return c;
}

/// PUMA (Ankit et al., ASPLOS'19; puma-simulator include/config.py, constants.py): 16-bit
/// weights and inputs, 128x128 crossbars of 2-bit cells, 1-bit DACs, one 8-bit ADC per
/// crossbar, slices in separate crossbars (8 physical crossbars per 16-bit MVMU), 2 MVMUs per
/// core, 8 cores per tile, 64 KB eDRAM per tile, 1 GHz, up to 168 tiles per node. One cycle
/// is one ADC conversion step (1 ns here; PUMA's 8-bit ADC reads 128 columns in 100 ns).
/// Constants the reference doc gives for PUMA are PUMA's; the rest (crossbar, S&H, S+A,
/// registers, bus) are ISAAC's Table I figures, which PUMA's constants derive from (same
/// 32 nm process; ref sections 2.4 and 2.6).
inline pim_config puma_preset() {
  pim_config c;
  c.cell_bits = 2;
  c.adc_bits = 8;
  c.cols_per_adc = 128;
  c.rows_parallel = 128;
  c.dac_bits = 1;
  c.weight_bits = 16;
  c.act_bits = 16;
  c.arrays_per_pe = 16;  // 2 MVMUs x 8 crossbars
  c.pes_per_tile = 8;
  c.tiles = 168;
  c.clock = units::gigahertz(1.0);
  c.tile_buffer_bytes = 64 * 1024;
  c.flip_encoding = false;
  auto& k = c.k;
  k.name = "puma-32nm";
  k.device.calibrated_cell_fj = 1.831;  // ISAAC crossbar: 0.3 mW per 128x128 array, 100 ns
  k.device.cell_area_um2 = 25.0 / (128.0 * 128.0);
  k.adc.ref_bits = 8;
  k.adc.ref_power_mw = 2.0;       // adc_pow_dyn_dict['8'] 1.8 mW + 0.2 mW leakage
  k.adc.sample_rate_gsps = 1.28;  // adc_lat_dict: 12.5 ns x 8 bits per 128-column read
  k.adc.ref_area_mm2 = 0.0012;
  k.dac_pj_per_row_bit = (3.5 + 0.39) * 1e-3 * 100.0;  // 3.5 uW + 0.39 uW leak x 100 ns
  k.dac_area_um2_per_row = 0.167;                      // 1.67e-7 mm^2
  k.buffer_pj_per_byte = 17.2 / 32.0;                  // eDRAM: 17.2 pJ per 256-bit access
  k.buffer_peak_mw = 17.2 / 2.0;                       // one access per 2 cycles at 1 GHz
  k.tile_leak_mw = 0.46;                               // eDRAM leakage
  k.router_pj_per_flit_hop = 16.13 / 4.0;              // 16.13 mW per 4-port router at 1 GHz
  k.router_peak_mw = 16.13;                            // one router per tile (assumed)
  k.digital_pj_per_mac = 2.4 * 32.0 / 45.0;            // PUMA ALU: 2.4 * 32/45 mW, one cycle
  k.digital_pj_per_add = 2.4 * 32.0 / 45.0;
  k.digital_pj_per_special = 0.26;              // sigmoid/tanh unit 0.26 mW, one cycle
  k.digital_peak_mw = 8.0 * 2.4 * 32.0 / 45.0;  // one ALU per core
  k.offchip_link_mw = 0.0;  // the published efficiency is the node's, without off-chip links
  k.chip_other_area_mm2 = 0.0;
  return c;
}

/// MNSIM 2.0 SimConfig.ini defaults: 256x256 crossbars, 1-bit devices (1 MOhm / 10 kOhm,
/// 0.15 V, 3.16 ns), 6-bit 1 GS/s ADCs (1.26 mW, MNSIM energy convention P (B+2) / f_s),
/// 128 ADCs and 128 DACs per crossbar (2 columns per ADC), differential crossbar pairs,
/// slices in separate crossbars, 2x2 PEs per tile. One cycle = one DAC + crossbar + ADC step
/// (3 + 3.16 + 8 = 14.16 ns).
inline pim_config mnsim_preset() {
  pim_config c;
  c.xbar_rows = 256;
  c.xbar_cols = 256;
  c.cell_bits = 1;
  c.adc_bits = 6;
  c.cols_per_adc = 2;
  c.rows_parallel = 256;
  c.weight_bits = 8;
  c.act_bits = 8;
  c.arrays_per_pe = 8;
  c.pes_per_tile = 4;
  c.tiles = 64;
  c.clock = units::gigahertz(1.0 / 14.16);
  c.tile_buffer_bytes = 64 * 1024;
  c.bus_bits = 64;
  c.flit_bits = 64;
  c.flip_encoding = false;
  auto& k = c.k;
  k.name = "mnsim-default";
  k.device = device_params{};  // 1 MOhm / 10 kOhm, 0.15 V, 3.16 ns, 33 % LRS, 10 % activity
  k.device.cell_area_um2 = 4.0 * 0.13 * 0.13;  // 4F^2 at 130 nm
  k.adc.ref_bits = 6;
  k.adc.ref_power_mw = 1.26;
  k.adc.sample_rate_gsps = 1.0;
  k.adc.ref_area_mm2 = 0.0012;
  k.adc.tech_nm = 65.0;
  k.dac_pj_per_row_bit = 3.9e-3 * 3.0;  // 1-bit DAC: 3.9 uW over (B_DAC + 2) = 3 ns
  k.dac_area_um2_per_row = 0.166;
  k.sh_pj_per_sample = 0.0;
  k.sh_area_um2_per_col = 0.0;
  k.shift_add_pj_per_conversion = 2e-5 * 2.0;  // register 18.8 nW x 2 ns (65 nm)
  k.shift_add_area_mm2_per_pe = 0.001;
  k.ir_pj_per_byte = 8 * 1.12e-3;  // SRAM 1.12 fJ/bit
  k.or_pj_per_byte = 8 * 1.12e-3;
  k.ir_area_mm2_per_kb = 0.003;
  k.or_area_mm2_per_kb = 0.003;
  k.adder_pj_per_add = 0.03;
  k.buffer_pj_per_byte = 8 * 1.12e-3;
  k.buffer_area_mm2_per_kb = 0.004;
  k.buffer_peak_mw = 2.0;
  k.bus_pj_per_byte = 0.5;
  k.bus_area_mm2 = 0.02;
  k.bus_peak_mw = 2.0;
  k.router_pj_per_flit_hop = 4.0;
  k.router_area_mm2 = 0.04;
  k.router_peak_mw = 10.0;
  k.router_cycles_per_hop = 1;
  k.digital_pj_per_mac = 1.5;
  k.digital_pj_per_add = 0.1;
  k.digital_pj_per_special = 0.5;
  k.digital_area_mm2 = 0.05;
  k.digital_peak_mw = 3.082;  // MNSIM pooling: 3.082 mW per 64 units (65 nm)
  k.offchip_link_mw = 0.0;
  k.chip_other_area_mm2 = 0.0;
  return c;
}

}  // namespace recnas::pim
