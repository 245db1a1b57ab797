#pragma once
// Mapping: where each operator of a workload runs (analog crossbars, digital vector units,
// crossbars in memory mode, off-chip DRAM), how its weight matrix is tiled, how many copies
// it gets, and which tiles it occupies. Two policies:
//  - naive_mapping: one copy per layer, every embedding row off-chip, the configured ADC
//    resolution everywhere, digital work on one vector unit;
//  - pim_aware_mapping: hot embedding rows in spare arrays (Zipf hit rate), replication that
//    balances the layer pipeline in the remaining spare tiles, the ADC resolution trimmed per
//    layer to what the layer's active rows can produce (ISAAC's rule), digital work spread
//    over the vector units of the producer's tiles.
// Layers never share a tile (NeuroSim's floorplan rule); digital layers run on the tile of
// their first producer.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string_view>

#include "recnas/core/concepts.hpp"
#include "recnas/pim/config.hpp"
#include "recnas/pim/policies.hpp"
#include "recnas/pim/workload.hpp"

namespace recnas::pim {

enum class unit_kind : std::uint8_t {
  analog_crossbar,  // MVM on crossbars
  crossbar_memory,  // embedding rows read from crossbars in memory mode (all on chip)
  hot_cold_memory,  // hot rows on chip, the rest off-chip
  offchip,          // every row off-chip
  digital_vector,   // the tile's vector unit
};

[[nodiscard]] constexpr std::string_view to_string(unit_kind u) noexcept {
  switch (u) {
    case unit_kind::analog_crossbar:
      return "crossbar";
    case unit_kind::crossbar_memory:
      return "xbar-memory";
    case unit_kind::hot_cold_memory:
      return "hot-on-chip";
    case unit_kind::offchip:
      return "off-chip";
    case unit_kind::digital_vector:
      return "digital";
  }
  return "?";
}

struct layer_mapping {
  unit_kind unit = unit_kind::analog_crossbar;
  int weight_bits = 0;
  int act_bits = 0;
  int cell_bits = 0;
  int slices = 0;
  int adc_bits = 0;
  tiling tiles_of_copy{};  // row and column tiles of one copy (before the sign factor)
  index arrays_per_copy = 0;
  int replication = 1;       // copies (analog) or vector units (digital)
  index arrays = 0;          // all copies (analog) or memory-mode arrays (embeddings)
  double utilization = 0.0;  // of one copy's cells
  index tiles = 0;           // tiles owned (0 for digital layers: they borrow the producer's)
  index first_tile = 0;
  // embeddings
  index rows_per_array = 0;
  index onchip_rows = 0;
  double hit_fraction = 0.0;
};

template <class M>
concept PimMapping = PolicyOf<M, policy_kind::pim_mapping> && requires {
  { M::replicate } -> std::convertible_to<bool>;
  { M::place_hot_rows } -> std::convertible_to<bool>;
  { M::trim_adc } -> std::convertible_to<bool>;
  { M::spread_digital } -> std::convertible_to<bool>;
};

struct naive_mapping {
  static constexpr std::string_view name = "naive";
  static constexpr policy_kind kind = policy_kind::pim_mapping;
  static constexpr bool replicate = false;
  static constexpr bool place_hot_rows = false;
  static constexpr bool trim_adc = false;
  static constexpr bool spread_digital = false;
};

struct pim_aware_mapping {
  static constexpr std::string_view name = "pim_aware";
  static constexpr policy_kind kind = policy_kind::pim_mapping;
  static constexpr bool replicate = true;
  static constexpr bool place_hot_rows = true;
  static constexpr bool trim_adc = true;
  static constexpr bool spread_digital = true;
};

/// Generalised harmonic number H(n, s) = sum_{k=1..n} k^-s, by Euler-Maclaurin (O(1); exact
/// summation for small n). Used for Zipf hit rates.
[[nodiscard]] inline double harmonic(double n, double s) noexcept {
  if (n <= 0.0) return 0.0;
  if (n <= 16.0) {
    double h = 0.0;
    for (int k = 1; k <= static_cast<int>(n); ++k) h += std::pow(k, -s);
    return h;
  }
  // exact head + integral tail with the trapezoid correction
  double h = 0.0;
  for (int k = 1; k <= 16; ++k) h += std::pow(k, -s);
  const double a = 16.0;
  const double tail = std::abs(s - 1.0) < 1e-9
                          ? std::log(n / a)
                          : (std::pow(n, 1.0 - s) - std::pow(a, 1.0 - s)) / (1.0 - s);
  return h + tail - 0.5 * std::pow(a, -s) + 0.5 * std::pow(n, -s);
}

/// Fraction of Zipf(s) accesses that hit the `hot` most popular of `rows` rows.
[[nodiscard]] inline double zipf_hit_fraction(double hot, double rows, double s) noexcept {
  if (hot <= 0.0) return 0.0;
  if (hot >= rows) return 1.0;
  return std::clamp(harmonic(std::floor(hot), s) / harmonic(rows, s), 0.0, 1.0);
}

namespace detail {
[[nodiscard]] constexpr index ceil_div(index a, index b) noexcept { return (a + b - 1) / b; }
}  // namespace detail

/// Effective bits of a layer under a config.
[[nodiscard]] inline int weight_bits_of(const layer& l, const pim_config& c) noexcept {
  return l.weight_bits > 0 ? l.weight_bits : c.weight_bits;
}
[[nodiscard]] inline int act_bits_of(const layer& l, const pim_config& c) noexcept {
  return l.act_bits > 0 ? l.act_bits : c.act_bits;
}

/// Base mapping of one layer (one copy, no placement): a pure function of (layer, config).
template <PimArchitecture Arch, PimMapping Map>
void map_layer(const layer& l, const pim_config& c, layer_mapping& m) {
  using D = typename Arch::device;
  using S = typename Arch::slices;
  using G = typename Arch::sign;
  m = layer_mapping{};
  m.weight_bits = weight_bits_of(l, c);
  m.act_bits = act_bits_of(l, c);
  m.cell_bits = std::min(c.cell_bits, D::max_cell_bits);
  m.slices = (m.weight_bits + m.cell_bits - 1) / m.cell_bits;
  m.adc_bits = c.adc_bits;
  switch (l.cls()) {
    case op_class::analog: {
      m.unit = unit_kind::analog_crossbar;
      m.tiles_of_copy = S::tile(l.rows, l.cols, m.slices, c.xbar_rows, c.xbar_cols);
      m.arrays_per_copy = m.tiles_of_copy.arrays() * G::array_factor;
      m.arrays = m.arrays_per_copy;
      m.utilization =
          static_cast<double>(l.rows) * static_cast<double>(l.cols) * m.slices * G::array_factor /
          (static_cast<double>(m.arrays_per_copy) * static_cast<double>(c.xbar_rows * c.xbar_cols));
      if constexpr (Map::trim_adc) {
        const index group = std::min<index>({l.rows, c.xbar_rows, c.rows_parallel});
        m.adc_bits =
            std::min(c.adc_bits, needed_adc_bits(group, c.dac_bits, m.cell_bits, c.flip_encoding));
      }
      if (l.replication > 0) {  // fixed by the workload (e.g. a searched speed-up)
        m.replication = l.replication;
        m.arrays = m.arrays_per_copy * m.replication;
      }
      m.tiles = detail::ceil_div(m.arrays, c.arrays_per_tile());
      break;
    }
    case op_class::digital:
      m.unit = unit_kind::digital_vector;
      break;
    case op_class::memory: {
      m.unit = unit_kind::offchip;
      const index cells = detail::ceil_div(l.width * m.weight_bits, m.cell_bits);
      m.rows_per_array =
          cells <= c.xbar_cols
              ? c.xbar_rows * (c.xbar_cols / cells)
              : c.xbar_rows / std::max<index>(1, detail::ceil_div(cells, c.xbar_cols));
      // memory-mode reads need only cell-resolution conversions
      m.adc_bits = std::min(c.adc_bits, m.cell_bits);
      break;
    }
  }
}

/// Places embedding rows on chip within `budget_tiles` spare tiles; returns tiles used.
inline index place_embedding(const layer& l, const pim_config& c, layer_mapping& m,
                             index budget_tiles) {
  if (budget_tiles <= 0 || m.rows_per_array <= 0) return 0;
  const index need_arrays = detail::ceil_div(l.table_rows, m.rows_per_array);
  const index arrays = std::min(need_arrays, budget_tiles * c.arrays_per_tile());
  if (arrays <= 0) return 0;
  m.arrays = arrays;
  m.onchip_rows = std::min(l.table_rows, arrays * m.rows_per_array);
  if (m.onchip_rows >= l.table_rows) {
    m.unit = unit_kind::crossbar_memory;
    m.hit_fraction = 1.0;
  } else {
    m.unit = unit_kind::hot_cold_memory;
    // the hottest rows of each table, tables of average size (approximation)
    const double t = static_cast<double>(std::max<index>(1, l.tables));
    m.hit_fraction = zipf_hit_fraction(static_cast<double>(m.onchip_rows) / t,
                                       static_cast<double>(l.table_rows) / t, l.zipf_s);
  }
  m.tiles = detail::ceil_div(arrays, c.arrays_per_tile());
  return m.tiles;
}

/// Assigns tile positions in layer order (layers own whole tiles; digital layers sit on their
/// first producer's tile) and returns the tiles used.
inline index assign_tiles(const workload& w, std::span<layer_mapping> maps) {
  index next = 0;
  for (index i = 0; i < w.size(); ++i) {
    auto& m = maps[static_cast<std::size_t>(i)];
    const auto& l = w.layers[static_cast<std::size_t>(i)];
    if (m.unit == unit_kind::digital_vector || m.tiles == 0) {
      m.first_tile = l.n_inputs > 0 ? maps[static_cast<std::size_t>(l.inputs[0])].first_tile : 0;
    } else {
      m.first_tile = next;
      next += m.tiles;
    }
  }
  return next;
}

}  // namespace recnas::pim
