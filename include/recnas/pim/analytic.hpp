#pragma once
// The analytic evaluator: maps a workload, prices every layer with the reference doc's
// formulas (section 1.2 tiling, 2.1 cycles per MVM, 2.4 energies, 2.5 composition) and
// composes the layers (sum for layer-by-layer; critical path and slowest stage for the
// pipeline). Allocation-free once its buffers have grown to the largest workload seen:
// the co-search calls it for every candidate.
//
// Per layer, one "job" is one input vector through one copy (replica) of the layer; a copy is
// a micro-pipeline of four steps, each holding one job: load (tile buffer -> PE registers),
// compute (n_in x numAdd x mux ADC steps), accumulate (adder trees, slice/sign merging,
// partial sums between tiles), write back. The cycle-level simulator (simulate.hpp) steps the
// same machine; this model uses closed forms for it.

#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "recnas/core/error.hpp"
#include "recnas/pim/config.hpp"
#include "recnas/pim/mapping.hpp"
#include "recnas/pim/policies.hpp"
#include "recnas/pim/report.hpp"
#include "recnas/pim/units.hpp"
#include "recnas/pim/workload.hpp"

namespace recnas::pim {

/// The primitive costs of one layer-stage, shared by both evaluators.
struct stage_costs {
  index jobs = 1;  // per example
  int servers = 1;
  double load = 0.0;     // cycles per job, per micro-step
  double compute = 0.0;  // (memory stages: on-chip cycles + expected miss transfer)
  double accum = 0.0;
  double wb = 0.0;
  double delay = 0.0;        // expected pure latency after compute (off-chip access), cycles
  double xfer = 0.0;         // output link cycles per example (all consumer edges, or to the sink)
  double psum_cycles = 0.0;  // part of `accum` spent moving partial sums between tiles
  double psum_pj = 0.0;      // energy of those moves, per example
  // memory stages, for the simulator's per-example draws
  double onchip_cycles = 0.0;
  double miss_cycles = 0.0;  // per missed lookup
  double miss_delay = 0.0;   // off-chip latency when an example misses at least once
  double expected_misses = 0.0;
  double miss_energy_pj = 0.0;  // per missed lookup
  energy_split energy{};        // dynamic, per example

  [[nodiscard]] double bottleneck() const noexcept { return std::max({load, compute, accum, wb}); }
  [[nodiscard]] index sequential_jobs() const noexcept { return (jobs + servers - 1) / servers; }
  /// One example alone through this stage (excluding the output transfer).
  [[nodiscard]] double latency() const noexcept {
    return load + compute + accum + wb + static_cast<double>(sequential_jobs() - 1) * bottleneck() +
           delay;
  }
  /// Steady-state cycles per example.
  [[nodiscard]] double interval() const noexcept {
    return std::max(static_cast<double>(jobs) * bottleneck() / servers, xfer);
  }
};

namespace detail {
[[nodiscard]] inline double cdiv(double a, double b) noexcept { return std::ceil(a / b); }
[[nodiscard]] inline double log2ceil(double x) noexcept {
  return x <= 1.0 ? 0.0 : std::ceil(std::log2(x));
}
}  // namespace detail

/// Chip-level figures that depend only on the config (and the policies).
template <PimArchitecture Arch>
struct chip_model {
  using D = typename Arch::device;
  using A = typename Arch::adc;
  using S = typename Arch::slices;
  using G = typename Arch::sign;

  [[nodiscard]] static double conversion_pj(const pim_config& c, int adc_bits, index group) {
    if constexpr (D::analog) {
      return A::energy_pj(adc_bits, c.k.adc);
    } else {
      // digital CIM: one sense amplifier per cell, then a 1-bit adder tree over the group
      const auto g = static_cast<double>(group);
      return g * c.k.adc.sense_amp_fj * 1e-3 + (g - 1.0) * 0.25 * c.k.adder_pj_per_add;
    }
  }

  /// One cell read per input-bit step, pJ. With `read_during_adc` the column current flows for
  /// the ADC latency at this resolution (NeuroSim), otherwise for the device's read time.
  [[nodiscard]] static double cell_pj(const pim_config& c, int adc_bits) {
    if (!c.k.device.read_during_adc) return D::cell_read_pj(c.k.device);
    device_params p = c.k.device;
    p.t_read_ns = A::latency_ns(adc_bits, c.k.adc);
    return D::cell_read_pj(p);
  }

  [[nodiscard]] static area_split area(const pim_config& c, index tiles) {
    const auto& k = c.k;
    const double R = static_cast<double>(c.xbar_rows);
    const double C = static_cast<double>(c.xbar_cols);
    const double cells = R * (C + G::extra_columns) * k.device.cell_area_um2 * 1e-6;
    const double dac = R * k.dac_area_um2_per_row * std::exp2(c.dac_bits - 1) * 1e-6 +
                       C * k.sh_area_um2_per_col * 1e-6;
    double adc = 0.0;
    if constexpr (D::analog)
      adc = static_cast<double>(c.adcs_per_array()) * A::area_mm2(c.adc_bits, k.adc);
    else
      adc = C * k.adc.sense_amp_area_um2 * 1e-6;
    const double pes = static_cast<double>(tiles) * c.pes_per_tile;
    const double arrays = pes * c.arrays_per_pe;
    area_split a;
    a.arrays = units::square_mm(arrays * cells);
    a.dac = units::square_mm(arrays * dac);
    a.adc = units::square_mm(arrays * adc);
    a.accumulation = units::square_mm(pes * k.shift_add_area_mm2_per_pe +
                                      arrays * static_cast<double>(c.adcs_per_array()) *
                                          k.shift_add_area_um2_per_adc * 1e-6);
    a.buffers = units::square_mm(
        pes * (static_cast<double>(c.pe_input_buffer_bytes) / 1024.0 * k.ir_area_mm2_per_kb +
               static_cast<double>(c.pe_output_buffer_bytes) / 1024.0 * k.or_area_mm2_per_kb) +
        static_cast<double>(tiles) * static_cast<double>(c.tile_buffer_bytes) / 1024.0 *
            k.buffer_area_mm2_per_kb);
    a.interconnect =
        units::square_mm(static_cast<double>(tiles) * (k.bus_area_mm2 + k.router_area_mm2));
    a.digital = units::square_mm(static_cast<double>(tiles) * k.digital_area_mm2);
    a.other = units::square_mm(k.chip_other_area_mm2);
    return a;
  }

  /// Weights one array holds at the config's default precision (MACs per array MVM).
  [[nodiscard]] static double macs_per_array(const pim_config& c) {
    const int bc = std::min(c.cell_bits, D::max_cell_bits);
    const int sw = (c.weight_bits + bc - 1) / bc;
    const double R = static_cast<double>(c.xbar_rows);
    const double C = static_cast<double>(c.xbar_cols);
    double per = 0.0;
    if constexpr (S::slices_in_place)
      per = C >= sw ? R * std::floor(C / sw) : R * C / sw;
    else
      per = R * C / sw;
    return per / G::array_factor;
  }

  [[nodiscard]] static double cycles_per_full_mvm(const pim_config& c) {
    const double n_in = detail::cdiv(c.act_bits, c.dac_bits);
    const double num_add = detail::cdiv(static_cast<double>(c.xbar_rows), c.rows_parallel);
    return n_in * num_add * c.cols_per_adc;
  }

  [[nodiscard]] static gops peak(const pim_config& c, index tiles) {
    const double arrays = static_cast<double>(tiles * c.arrays_per_tile());
    const units::nanoseconds t = units::cycles(cycles_per_full_mvm(c)) / c.clock;
    return rate(2.0 * arrays * macs_per_array(c), t);
  }

  [[nodiscard]] static units::milliwatts leakage_power(const pim_config& c, index tiles) {
    const auto& k = c.k;
    const double pes = static_cast<double>(tiles) * c.pes_per_tile;
    const double cells = pes * c.arrays_per_pe * static_cast<double>(c.xbar_rows * c.xbar_cols);
    return units::milliwatts(pes * k.pe_leak_mw + static_cast<double>(tiles) * k.tile_leak_mw +
                             cells * k.device.cell_leak_nw * 1e-6);
  }

  /// Power with every array busy every cycle, plus the tile peripherals at their rated power.
  [[nodiscard]] static units::milliwatts peak_power(const pim_config& c, index tiles) {
    const auto& k = c.k;
    const int bc = std::min(c.cell_bits, D::max_cell_bits);
    const int sw = (c.weight_bits + bc - 1) / bc;
    const double R = static_cast<double>(c.xbar_rows);
    const double C = static_cast<double>(c.xbar_cols);
    const double n_in = detail::cdiv(c.act_bits, c.dac_bits);
    const double num_add = detail::cdiv(R, c.rows_parallel);
    const double conv = C * n_in * num_add;
    const double group = std::min<double>(R, c.rows_parallel);
    double e = R * (C + G::extra_columns) * n_in * cell_pj(c, c.adc_bits);
    e += R * n_in * k.dac_pj_per_row_bit * std::exp2(c.dac_bits - 1);
    e += conv * (conversion_pj(c, c.adc_bits, static_cast<index>(group)) +
                 (D::analog ? k.sh_pj_per_sample : 0.0) + k.shift_add_pj_per_conversion);
    e += R * c.act_bits / 8.0 * k.ir_pj_per_byte;
    e += std::max(1.0, std::floor(C / sw)) * c.act_bits / 8.0 * k.or_pj_per_byte;
    const units::nanoseconds t = units::cycles(cycles_per_full_mvm(c)) / c.clock;
    const double array_mw = e / t.value();
    const double tile_mw = c.pes_per_tile * c.arrays_per_pe * array_mw + k.buffer_peak_mw +
                           k.bus_peak_mw + k.router_peak_mw + k.digital_peak_mw;
    return units::milliwatts(static_cast<double>(tiles) * tile_mw + k.offchip_link_mw) +
           leakage_power(c, tiles);
  }
};

/// Prices one layer (its mapping fixed) into stage costs, without transfers between layers.
template <PimArchitecture Arch>
void price_layer(const layer& l, const layer_mapping& m, const pim_config& c, stage_costs& s) {
  using D = typename Arch::device;
  using S = typename Arch::slices;
  using G = typename Arch::sign;
  using I = typename Arch::interconnect;
  using chip = chip_model<Arch>;
  const auto& k = c.k;
  s = stage_costs{};
  const double bus = c.bus_bits;
  switch (l.cls()) {
    case op_class::analog: {
      const double K = static_cast<double>(l.rows);
      const double N = static_cast<double>(l.cols);
      const double sf = G::array_factor;
      const double tr = static_cast<double>(m.tiles_of_copy.row_tiles);
      const double tc = static_cast<double>(m.tiles_of_copy.col_tiles);
      const double sw = m.slices;
      const double bin = m.act_bits;
      const double n_in = detail::cdiv(bin, c.dac_bits);
      const double rows_act = std::min<double>(K, static_cast<double>(c.xbar_rows));
      const double num_add = detail::cdiv(rows_act, c.rows_parallel);
      const double group = std::min<double>(rows_act, c.rows_parallel);
      const double cells = K * N * sw * n_in * sf + K * tc * G::extra_columns * n_in;
      const double dac_acts = K * tc * n_in * sf;
      const double conv = tr * N * sw * n_in * num_add * sf;
      const double adds = N * (tr - 1.0) + (S::slices_in_place ? 0.0 : N * (sw - 1.0) * tr) +
                          (sf > 1.0 ? N * tr : 0.0);
      const double ir = K * tc * sf * bin / 8.0;
      const double orr = tr * N * sf * bin / 8.0;
      const double buf = (K + N) * bin / 8.0;
      const double busb = ir + N * bin / 8.0;

      energy_split e;
      e.array = units::picojoules(cells * chip::cell_pj(c, m.adc_bits));
      e.adc =
          units::picojoules(conv * chip::conversion_pj(c, m.adc_bits, static_cast<index>(group)));
      e.dac = units::picojoules(dac_acts * k.dac_pj_per_row_bit * std::exp2(c.dac_bits - 1));
      e.sample_hold = units::picojoules(D::analog ? conv * k.sh_pj_per_sample : 0.0);
      e.accumulation =
          units::picojoules(conv * k.shift_add_pj_per_conversion + adds * k.adder_pj_per_add);
      e.buffer = units::picojoules(ir * k.ir_pj_per_byte + orr * k.or_pj_per_byte +
                                   buf * k.buffer_pj_per_byte + busb * k.bus_pj_per_byte);
      // The arrays of a copy are packed so that a tile holds the sources (row tiles, separate
      // slices, sign pair) of the same outputs and reduces them locally; an output whose
      // sources span g tiles ships g - 1 partial sums (32-bit) between tiles (NeuroSim's tile
      // and global accumulation).
      const double sources = tr * (S::slices_in_place ? 1.0 : sw) * sf;
      const double apt = static_cast<double>(c.arrays_per_tile());
      const double spread = std::ceil(sources / apt);
      if (spread > 1.0) {
        const double psum_bytes = N * 4.0 * (spread - 1.0);
        const auto t = I::transfer(psum_bytes, 0, 1, std::max<index>(2, c.tiles), c);
        s.psum_cycles = t.cycles.value();
        s.psum_pj = t.energy.value() * static_cast<double>(l.vectors);
        e.interconnect = t.energy;
      }
      const double v = static_cast<double>(l.vectors);
      e *= v;
      s.energy = e;
      s.jobs = l.vectors;
      s.servers = m.replication;
      s.load = detail::cdiv(K * bin, bus);
      s.compute = n_in * num_add * c.cols_per_adc;
      // every PE of the copy has its own adder tree
      const double pes = detail::cdiv(static_cast<double>(m.arrays_per_copy), c.arrays_per_pe);
      s.accum =
          (adds > 0.0 ? detail::log2ceil(sources) + detail::cdiv(adds, c.adder_lanes * pes) : 0.0) +
          s.psum_cycles;
      s.wb = detail::cdiv(N * bin, bus);
      break;
    }
    case op_class::digital: {
      const double lanes = static_cast<double>(c.digital_lanes) * m.replication;
      const double b = m.act_bits;
      s.compute = detail::cdiv(l.macs + l.muls + l.adds, lanes) +
                  detail::cdiv(l.specials * k.special_cycles, lanes);
      s.load = detail::cdiv(static_cast<double>(l.in_elems) * b, bus);
      s.wb = detail::cdiv(static_cast<double>(l.out_elems) * b, bus);
      s.energy.digital =
          units::picojoules((l.macs + l.muls) * k.digital_pj_per_mac +
                            l.adds * k.digital_pj_per_add + l.specials * k.digital_pj_per_special);
      s.energy.buffer = units::picojoules(static_cast<double>(l.in_elems + l.out_elems) * b / 8.0 *
                                          (k.buffer_pj_per_byte + k.bus_pj_per_byte));
      break;
    }
    case op_class::memory: {
      const double bw = m.weight_bits;
      const double row_bytes = static_cast<double>(l.width) * bw / 8.0;
      const double lk = static_cast<double>(l.lookups);
      const double hit = m.hit_fraction;
      const double cells_e = detail::cdiv(static_cast<double>(l.width) * bw, m.cell_bits);
      const double cyc_lookup = detail::cdiv(cells_e, static_cast<double>(c.adcs_per_array()));
      const double par = std::max(1.0, std::min(lk, static_cast<double>(m.arrays)));
      const double f = c.clock.value();
      s.onchip_cycles = hit > 0.0 ? cyc_lookup * std::ceil(lk / par) : 0.0;
      s.miss_cycles = row_bytes / k.offchip_gb_per_s * f;  // bytes / (GB/s) = ns
      s.miss_delay = k.offchip_latency_ns * f;
      s.expected_misses = lk * (1.0 - hit);
      s.miss_energy_pj = row_bytes * k.offchip_pj_per_byte;
      s.compute = s.onchip_cycles + s.expected_misses * s.miss_cycles;
      s.delay = s.miss_delay * (1.0 - std::pow(hit, lk));
      s.wb = detail::cdiv(lk * row_bytes * 8.0, bus);
      const double on = lk * hit;
      energy_split e;
      e.array = units::picojoules(on * cells_e * chip::cell_pj(c, m.adc_bits));
      e.adc = units::picojoules(on * cells_e * chip::conversion_pj(c, m.adc_bits, 1));
      e.dac = units::picojoules(on * k.dac_pj_per_row_bit);
      e.memory = units::picojoules(s.expected_misses * s.miss_energy_pj);
      e.buffer = units::picojoules(lk * row_bytes * k.buffer_pj_per_byte);
      s.energy = e;
      break;
    }
  }
}

/// Bytes a layer's output occupies.
[[nodiscard]] inline double output_bytes(const layer& l, const layer_mapping& m) noexcept {
  const int b = l.cls() == op_class::memory ? m.weight_bits : m.act_bits;
  return static_cast<double>(l.out_elems) * b / 8.0;
}

/// Chooses replication factors that minimise the slowest analog stage within `budget_tiles`
/// extra tiles (binary search on the target interval). Returns the tiles it added.
template <PimArchitecture Arch>
index balance_replication(const workload& w, const pim_config& c, std::span<layer_mapping> maps,
                          std::span<const stage_costs> costs, index budget_tiles) {
  if (budget_tiles <= 0) return 0;
  const index apt = c.arrays_per_tile();
  double hi = 0.0;
  double floor_t = 0.0;
  for (index i = 0; i < w.size(); ++i) {
    const auto& s = costs[static_cast<std::size_t>(i)];
    const double t = static_cast<double>(s.jobs) * s.bottleneck() /
                     maps[static_cast<std::size_t>(i)].replication;
    if (maps[static_cast<std::size_t>(i)].unit == unit_kind::analog_crossbar)
      hi = std::max(hi, t);
    else
      floor_t = std::max(floor_t, t);
    floor_t = std::max(floor_t, s.xfer);  // no replica makes an output link faster
  }
  if (hi <= 0.0) return 0;
  auto reps = [&](double target, index i) {
    if (w.layers[static_cast<std::size_t>(i)].replication > 0)  // fixed by the workload
      return w.layers[static_cast<std::size_t>(i)].replication;
    const auto& s = costs[static_cast<std::size_t>(i)];
    const double t = static_cast<double>(s.jobs) * s.bottleneck();
    return static_cast<int>(
        std::clamp(std::ceil(t / target - 1e-9), 1.0, static_cast<double>(c.max_replication)));
  };
  auto extra_tiles = [&](double target) {
    index extra = 0;
    for (index i = 0; i < w.size(); ++i) {
      const auto& m = maps[static_cast<std::size_t>(i)];
      if (m.unit != unit_kind::analog_crossbar) continue;
      const index r = reps(target, i);
      extra += (m.arrays_per_copy * r + apt - 1) / apt - m.tiles;
    }
    return extra;
  };
  double lo = std::max(floor_t, hi / c.max_replication);
  if (extra_tiles(hi) > budget_tiles) return 0;
  double best = hi;
  if (extra_tiles(lo) <= budget_tiles) {
    best = lo;
  } else {
    for (int it = 0; it < 24; ++it) {  // 2^-24 of the range: far below one cycle
      const double mid = 0.5 * (lo + best);
      if (extra_tiles(mid) <= budget_tiles)
        best = mid;
      else
        lo = mid;
    }
  }
  index added = 0;
  for (index i = 0; i < w.size(); ++i) {
    auto& m = maps[static_cast<std::size_t>(i)];
    if (m.unit != unit_kind::analog_crossbar) continue;
    m.replication = reps(best, i);
    m.arrays = m.arrays_per_copy * m.replication;
    const index t = (m.arrays + apt - 1) / apt;
    added += t - m.tiles;
    m.tiles = t;
  }
  return added;
}

/// The analytic evaluator. Reuses its buffers across calls (no allocation once warm).
template <PimArchitecture Arch, PimMapping Map = naive_mapping>
class analytic_model {
 public:
  using architecture = Arch;
  using mapping = Map;

  const model_report& evaluate(const workload& w, const pim_config& c) {
    using C = typename Arch::compose;
    const auto n = static_cast<std::size_t>(w.size());
    expects(n > 0, "analytic_model::evaluate needs a non-empty workload");
    maps_.resize(n);
    costs_.resize(n);
    layers_.resize(n);
    finish_.resize(n);
    pred_.resize(n);
    consumers_.resize(n);

    // 1. base mapping, one copy per layer
    index base_tiles = 0;
    for (std::size_t i = 0; i < n; ++i) {
      map_layer<Arch, Map>(w.layers[i], c, maps_[i]);
      base_tiles += maps_[i].tiles;
    }
    index spare = c.tiles > 0 ? std::max<index>(0, c.tiles - base_tiles) : c.auto_spare_tiles;
    // 2. hot embedding rows into half of the spare tiles
    if constexpr (Map::place_hot_rows) {
      index emb_budget = spare / 2;
      for (std::size_t i = 0; i < n; ++i)
        if (w.layers[i].cls() == op_class::memory) {
          const index used = place_embedding(w.layers[i], c, maps_[i], emb_budget);
          emb_budget -= used;
          spare -= used;
        }
    }
    // 3. price each layer, then balance the pipeline with replicas: the output links are
    //    priced on a provisional placement first, since no replica makes a link faster
    for (std::size_t i = 0; i < n; ++i) price_layer<Arch>(w.layers[i], maps_[i], c, costs_[i]);
    std::fill(consumers_.begin(), consumers_.end(), 0);
    for (std::size_t i = 0; i < n; ++i)
      for (auto in : w.layers[i].input_layers()) ++consumers_[static_cast<std::size_t>(in)];
    if constexpr (Map::replicate || C::balance) {
      if (spare > 0) {
        const index provisional = assign_tiles(w, maps_);
        price_transfers(w, c, c.tiles > 0 ? c.tiles : provisional);
        const index added = balance_replication<Arch>(w, c, maps_, costs_, spare);
        spare -= added;
        // an analog layer's per-copy costs do not depend on its number of copies, so only the
        // servers change (step 5 re-prices the transfers on the final placement)
        for (std::size_t i = 0; i < n; ++i)
          if (maps_[i].unit == unit_kind::analog_crossbar) costs_[i].servers = maps_[i].replication;
      }
    }
    // 4. tiles; digital work spread over the producers' vector units
    const index tiles_used = assign_tiles(w, maps_);
    const index chip_tiles = c.tiles > 0 ? c.tiles : tiles_used;
    if constexpr (Map::spread_digital) {
      for (std::size_t i = 0; i < n; ++i) {
        if (maps_[i].unit != unit_kind::digital_vector) continue;
        index units = 0;
        for (auto in : w.layers[i].input_layers())
          units += maps_[static_cast<std::size_t>(in)].tiles;
        maps_[i].replication = static_cast<int>(std::max<index>(1, units));
        price_layer<Arch>(w.layers[i], maps_[i], c, costs_[i]);
      }
    }
    // 5. transfers between layers (energy and link cycles charged to the producer)
    price_transfers(w, c, chip_tiles);
    // 6. compose
    auto& r = report_;
    r = model_report{};
    r.architecture_adc_convention = to_string(Arch::adc::convention);
    r.layers = w.size();
    r.tiles_used = tiles_used;
    r.tiles = chip_tiles;
    r.fits = c.tiles == 0 || tiles_used <= c.tiles;
    r.arrays_available = chip_tiles * c.arrays_per_tile();
    double used_cells = 0.0;
    double weight_cells = 0.0;
    double interval_sum = 0.0;
    double interval_max = 0.0;
    double lbl_latency = 0.0;
    cycle_split lbl_split{};
    index sink = -1;
    for (std::size_t i = 0; i < n; ++i) {
      const auto& l = w.layers[i];
      const auto& m = maps_[i];
      const auto& s = costs_[i];
      auto& lr = layers_[i];
      lr = layer_report{};
      lr.name = l.name;
      lr.kind = l.kind;
      lr.mapping = m;
      lr.macs = l.mac_count();
      lr.ops = l.op_count();
      lr.energy = s.energy;
      // split of this layer's latency
      const double stall =
          static_cast<double>(s.sequential_jobs() - 1) * (s.bottleneck() - s.compute);
      const double body = static_cast<double>(s.sequential_jobs()) * s.compute;
      cycle_split& cs = lr.cycles;
      switch (l.cls()) {
        case op_class::analog:
          cs.compute = units::cycles(body);
          cs.accumulation = units::cycles(s.accum - s.psum_cycles);
          cs.interconnect = units::cycles(s.psum_cycles);
          break;
        case op_class::digital:
          cs.digital = units::cycles(body + s.accum);
          break;
        case op_class::memory:
          cs.memory = units::cycles(body + s.accum + s.delay);
          break;
      }
      cs.buffer = units::cycles(s.load + s.wb + stall);
      cs.interconnect += units::cycles(s.xfer);
      lr.interval = units::cycles(s.interval());
      lr.latency = cs.total() / c.clock;
      lr.effective = rate(lr.ops, lr.interval / c.clock);
      lr.efficiency = efficiency(lr.ops, s.energy.dynamic());
      // critical path (pipeline) and sums (layer by layer)
      double start = 0.0;
      pred_[i] = -1;
      for (auto in : l.input_layers())
        if (finish_[static_cast<std::size_t>(in)] >= start) {
          start = finish_[static_cast<std::size_t>(in)];
          pred_[i] = in;
        }
      finish_[i] = start + cs.total().value();
      if (sink < 0 || finish_[i] >= finish_[static_cast<std::size_t>(sink)])
        sink = static_cast<index>(i);
      lbl_latency += cs.total().value();
      lbl_split += cs;
      interval_sum += s.interval();
      interval_max = std::max(interval_max, s.interval());
      r.energy += s.energy;
      r.macs += lr.macs;
      r.ops += lr.ops;
      if (m.unit == unit_kind::analog_crossbar) {
        r.compute_arrays += m.arrays;
        r.copy_arrays += m.arrays_per_copy;
        used_cells +=
            static_cast<double>(m.arrays) * static_cast<double>(c.xbar_rows * c.xbar_cols);
        weight_cells += m.utilization * static_cast<double>(m.arrays) *
                        static_cast<double>(c.xbar_rows * c.xbar_cols);
      }
      r.arrays += m.arrays;
    }
    r.utilization = used_cells > 0.0 ? weight_cells / used_cells : 0.0;
    if constexpr (C::pipelined) {
      for (index i = sink; i >= 0; i = pred_[static_cast<std::size_t>(i)])
        r.cycles += layers_[static_cast<std::size_t>(i)].cycles;
      r.latency_cycles = units::cycles(finish_[static_cast<std::size_t>(sink)]);
      r.interval_cycles = units::cycles(interval_max);
    } else {
      r.cycles = lbl_split;
      r.latency_cycles = units::cycles(lbl_latency);
      r.interval_cycles = units::cycles(interval_sum);
    }
    r.latency = r.latency_cycles / c.clock;
    r.interval = r.interval_cycles / c.clock;
    r.throughput_per_s = r.interval.value() > 0.0 ? 1e9 / r.interval.value() : 0.0;
    r.energy.leakage = chip_model<Arch>::leakage_power(c, chip_tiles) * r.interval;
    r.area = chip_model<Arch>::area(c, chip_tiles);
    r.peak = chip_model<Arch>::peak(c, chip_tiles);
    r.peak_power = chip_model<Arch>::peak_power(c, chip_tiles);
    r.peak_per_watt = r.peak / r.peak_power;
    r.peak_per_mm2 = r.peak / r.area.total();
    r.effective = rate(r.ops, r.interval);
    r.effective_per_watt = efficiency(r.ops, r.energy.total());
    r.edp = edp(r.energy.total(), r.latency);
    r.edap = r.edp.value() * r.area.total().value();
    return r;
  }

  /// Cycles to run a batch of `b` examples through an empty chip: the pipeline fills once
  /// then emits one example per interval; layer by layer, each layer runs the whole batch.
  [[nodiscard]] units::cycles batch_cycles(index b) const {
    expects(b >= 1, "batch_cycles needs b >= 1");
    const auto extra = static_cast<double>(b - 1);
    if constexpr (Arch::compose::pipelined)
      return report_.latency_cycles + units::cycles(extra * report_.interval_cycles.value());
    double t = 0.0;
    for (std::size_t i = 0; i < layers_.size(); ++i)
      t += layers_[i].cycles.total().value() + extra * costs_[i].interval();
    return units::cycles(t);
  }

  [[nodiscard]] const model_report& report() const noexcept { return report_; }
  [[nodiscard]] std::span<const layer_report> layers() const noexcept { return layers_; }
  [[nodiscard]] std::span<const layer_mapping> mappings() const noexcept { return maps_; }
  [[nodiscard]] std::span<const stage_costs> costs() const noexcept { return costs_; }

 private:
  void price_transfers(const workload& w, const pim_config& c, index chip_tiles) {
    using I = typename Arch::interconnect;
    const auto n = static_cast<std::size_t>(w.size());
    for (std::size_t i = 0; i < n; ++i) {
      costs_[i].xfer = 0.0;
      costs_[i].energy.interconnect = units::picojoules(costs_[i].psum_pj);
    }
    for (std::size_t i = 0; i < n; ++i) {
      const auto& l = w.layers[i];
      for (auto in : l.input_layers()) {
        const auto p = static_cast<std::size_t>(in);
        const auto t = I::transfer(output_bytes(w.layers[p], maps_[p]), maps_[p].first_tile,
                                   maps_[i].first_tile, chip_tiles, c);
        costs_[p].xfer += t.cycles.value();
        costs_[p].energy.interconnect += t.energy;
      }
      if (consumers_[i] == 0) {  // a sink: its output goes to the global buffer at tile 0
        const auto t =
            I::transfer(output_bytes(l, maps_[i]), maps_[i].first_tile, 0, chip_tiles, c);
        costs_[i].xfer += t.cycles.value();
        costs_[i].energy.interconnect += t.energy;
      }
    }
  }

  std::vector<layer_mapping> maps_;
  std::vector<stage_costs> costs_;
  std::vector<layer_report> layers_;
  std::vector<double> finish_;
  std::vector<index> pred_;
  std::vector<int> consumers_;
  model_report report_{};
};

}  // namespace recnas::pim
