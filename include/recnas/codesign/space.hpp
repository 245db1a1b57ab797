#pragma once
// The co-design space: an architecture of a supernet space S together with the PIM knobs it is
// deployed with. Like a supernet space it is a type: the knob vocabularies are compile-time
// value lists, a candidate holds runtime indices-by-value into them.
//
//   using cs = codesign::space<supernet::nasrec_full>;           // default vocabularies
//   codesign::domain<cs> dom;                                     // SearchDomain
//   auto c = dom.random(gen);                                     // arch + hardware knobs
//   auto cfg = codesign::config_of(c.hw, pim::isaac_preset());    // the chip it runs on
//   auto w = codesign::workload_of<cs>(c, shape);                 // per-block precisions set
//
// Knobs: crossbar size (square), cell bits, rows activated per read, ADC bits, columns per
// ADC, the mapping policy (naive or PIM-aware: replication, hot embedding rows, trimmed ADCs),
// the spare tiles the chip gets for replicas, the weight bits of every block and of the head,
// and one activation precision for the whole model (see docs/codesign.md for why activations
// are global). Every candidate is valid: the ADC must resolve a read without loss
// (pim::needed_adc_bits), so it is raised to that when a draw or mutation asks for fewer.

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "recnas/core/error.hpp"
#include "recnas/core/rng.hpp"
#include "recnas/pim/config.hpp"
#include "recnas/pim/policies.hpp"
#include "recnas/search/nas.hpp"
#include "recnas/supernet/architecture.hpp"
#include "recnas/supernet/json.hpp"
#include "recnas/supernet/workload.hpp"

namespace recnas::codesign {

/// A compile-time vocabulary of integer knob values (ascending).
template <int... V>
struct knob {
  static_assert(sizeof...(V) >= 1, "a knob needs at least one value");
  static constexpr std::array<int, sizeof...(V)> values{V...};
  [[nodiscard]] static constexpr bool contains(int v) noexcept { return ((v == V) || ...); }
  [[nodiscard]] static int draw(rng& g) { return values[g.below(values.size())]; }
  /// A neighbour of v in the list (one step up or down), or a fresh draw if v is not listed.
  [[nodiscard]] static int step(int v, rng& g) {
    const auto it = std::find(values.begin(), values.end(), v);
    if (it == values.end() || values.size() == 1) return draw(g);
    const auto i = static_cast<std::size_t>(it - values.begin());
    if (i == 0) return values[1];
    if (i + 1 == values.size()) return values[i - 1];
    return g.bernoulli(0.5) ? values[i - 1] : values[i + 1];
  }
};

template <class K>
inline constexpr bool is_knob_v = false;
template <int... V>
inline constexpr bool is_knob_v<knob<V...>> = true;

enum class mapping_choice : std::uint8_t { naive = 0, pim_aware = 1 };
[[nodiscard]] constexpr std::string_view to_string(mapping_choice m) noexcept {
  return m == mapping_choice::naive ? "naive" : "pim_aware";
}

/// The vocabularies of a co-design space over supernet space S.
template <class S, class XbarSizes = knob<64, 128, 256>, class CellBits = knob<1, 2>,
          class RowsParallel = knob<16, 32, 64, 128, 256>, class AdcBits = knob<4, 5, 6, 7, 8>,
          class ColsPerAdc = knob<8, 32, 128>, class WeightBits = knob<2, 3, 4, 5, 6, 8>,
          class ActBits = knob<4, 5, 6, 8>, class SpareTiles = knob<0, 32, 128>>
struct space {
  static_assert(is_knob_v<XbarSizes> && is_knob_v<CellBits> && is_knob_v<RowsParallel> &&
                    is_knob_v<AdcBits> && is_knob_v<ColsPerAdc> && is_knob_v<WeightBits> &&
                    is_knob_v<ActBits> && is_knob_v<SpareTiles>,
                "codesign::space: every vocabulary after the supernet space is a codesign::knob");
  static_assert(CellBits::values.front() >= 1 && WeightBits::values.front() >= 2 &&
                    ActBits::values.front() >= 2,
                "codesign::space: cells need >= 1 bit, weights and activations >= 2 (signed)");
  using arch_space = S;
  using xbar_sizes = XbarSizes;
  using cell_bits = CellBits;
  using rows_parallel = RowsParallel;
  using adc_bits = AdcBits;
  using cols_per_adc = ColsPerAdc;
  using weight_bits = WeightBits;
  using act_bits = ActBits;
  using spare_tiles = SpareTiles;
  static constexpr int num_blocks = S::num_blocks;
};

/// The hardware half of a candidate. `weight_bits[i]` is block i's, the last entry the head's.
struct hw_knobs {
  int xbar = 128;
  int cell_bits = 2;
  int rows_parallel = 128;
  int adc_bits = 8;
  int cols_per_adc = 128;
  mapping_choice mapping = mapping_choice::naive;
  int spare_tiles = 0;
  int act_bits = 8;
  std::vector<int> weight_bits;  // num_blocks + 1
  friend bool operator==(const hw_knobs&, const hw_knobs&) = default;
};

struct candidate {
  supernet::architecture arch;
  hw_knobs hw;
  friend bool operator==(const candidate&, const candidate&) = default;
};

/// The smallest lossless ADC resolution for a read of `rows` rows (pim::needed_adc_bits with
/// ISAAC's 1-bit DACs and flipped encoding).
[[nodiscard]] inline int lossless_adc_bits(const hw_knobs& h) noexcept {
  return pim::needed_adc_bits(std::min(h.xbar, h.rows_parallel), 1, h.cell_bits, true);
}

/// Whether `h` is a member of CS's vocabularies and its ADC is lossless.
template <class CS>
[[nodiscard]] bool valid(const hw_knobs& h) {
  if (!CS::xbar_sizes::contains(h.xbar) || !CS::cell_bits::contains(h.cell_bits) ||
      !CS::rows_parallel::contains(h.rows_parallel) || h.rows_parallel > h.xbar ||
      !CS::cols_per_adc::contains(h.cols_per_adc) || h.cols_per_adc > h.xbar ||
      !CS::act_bits::contains(h.act_bits) || !CS::spare_tiles::contains(h.spare_tiles) ||
      h.weight_bits.size() != static_cast<std::size_t>(CS::num_blocks + 1))
    return false;
  for (int b : h.weight_bits)
    if (!CS::weight_bits::contains(b)) return false;
  // an ADC above the vocabulary is allowed only when the vocabulary cannot resolve the read
  if (h.adc_bits < lossless_adc_bits(h)) return false;
  return CS::adc_bits::contains(h.adc_bits) || h.adc_bits == lossless_adc_bits(h);
}

namespace detail {
/// Restores the coupled constraints after a draw or a mutation: rows and ADC columns fit the
/// crossbar (the largest listed value that does), and the ADC resolves the read.
template <class CS>
void repair(hw_knobs& h) {
  auto fit = [&](int v, const auto& list) {
    if (v <= h.xbar) return v;
    int best = list.front();
    for (int x : list)
      if (x <= h.xbar) best = x;
    return best;
  };
  h.rows_parallel = fit(h.rows_parallel, CS::rows_parallel::values);
  h.cols_per_adc = fit(h.cols_per_adc, CS::cols_per_adc::values);
  if (!CS::adc_bits::contains(h.adc_bits)) h.adc_bits = CS::adc_bits::values.back();
  const int need = lossless_adc_bits(h);
  if (h.adc_bits < need) {
    h.adc_bits = need;  // the smallest listed value >= need, else need itself
    for (int v : CS::adc_bits::values)
      if (v >= need) {
        h.adc_bits = v;
        break;
      }
  }
}
}  // namespace detail

/// The co-design space as a search domain. A mutation changes the architecture (the
/// reference's rule, search::architecture_domain) or one hardware knob, with equal odds.
template <class CS>
struct domain {
  using S = typename CS::arch_space;
  using candidate = codesign::candidate;
  search::architecture_domain<S> arch_domain;

  [[nodiscard]] hw_knobs random_hw(rng& g) const {
    hw_knobs h;
    h.xbar = CS::xbar_sizes::draw(g);
    h.cell_bits = CS::cell_bits::draw(g);
    h.rows_parallel = CS::rows_parallel::draw(g);
    h.adc_bits = CS::adc_bits::draw(g);
    h.cols_per_adc = CS::cols_per_adc::draw(g);
    h.mapping = g.bernoulli(0.5) ? mapping_choice::pim_aware : mapping_choice::naive;
    h.spare_tiles = CS::spare_tiles::draw(g);
    h.act_bits = CS::act_bits::draw(g);
    h.weight_bits.resize(static_cast<std::size_t>(CS::num_blocks + 1));
    for (auto& b : h.weight_bits) b = CS::weight_bits::draw(g);
    detail::repair<CS>(h);
    return h;
  }
  /// Optional: a share of the random draws starts from this architecture (a few mutations
  /// away), so a co-search explores around the architecture-only winner as well as afar.
  std::optional<supernet::architecture> anchor;
  double anchor_share = 0.5;
  /// Optional: the first draws return these, in order (an evolution's initial population). The
  /// co-search seeds the architecture-only winner at the baseline knobs and its neighbours, so
  /// a feasible design is always evaluated and the search can only improve on it.
  std::vector<candidate> seeds;

  [[nodiscard]] candidate random(rng& g) const {
    // a counter, not the rng: the same draws replay on resume from a fresh domain
    if (seeds_used_ < seeds.size()) return seeds[seeds_used_++];
    if (anchor && g.bernoulli(anchor_share)) {
      auto a = *anchor;
      const auto steps = g.below(3);
      for (std::uint64_t k = 0; k < steps; ++k) a = arch_domain.mutate(a, g);
      return {std::move(a), random_hw(g)};
    }
    return {arch_domain.random(g), random_hw(g)};
  }
  [[nodiscard]] candidate mutate(const candidate& c, rng& g) const {
    candidate m = c;
    if (g.bernoulli(0.5)) {
      m.arch = arch_domain.mutate(c.arch, g);
      return m;
    }
    auto& h = m.hw;
    switch (g.below(9)) {
      case 0:
        h.xbar = CS::xbar_sizes::step(h.xbar, g);
        break;
      case 1:
        h.cell_bits = CS::cell_bits::step(h.cell_bits, g);
        break;
      case 2:
        h.rows_parallel = CS::rows_parallel::step(h.rows_parallel, g);
        break;
      case 3:
        h.adc_bits = CS::adc_bits::step(h.adc_bits, g);
        break;
      case 4:
        h.cols_per_adc = CS::cols_per_adc::step(h.cols_per_adc, g);
        break;
      case 5:
        h.mapping =
            h.mapping == mapping_choice::naive ? mapping_choice::pim_aware : mapping_choice::naive;
        break;
      case 6:
        h.spare_tiles = CS::spare_tiles::step(h.spare_tiles, g);
        break;
      case 7:
        h.act_bits = CS::act_bits::step(h.act_bits, g);
        break;
      default: {  // one block's (or the head's) weight precision
        auto& b = h.weight_bits[g.below(h.weight_bits.size())];
        b = CS::weight_bits::step(b, g);
        break;
      }
    }
    detail::repair<CS>(h);
    return m;
  }
  [[nodiscard]] std::uint64_t hash(const candidate& c) const {
    std::uint64_t x = c.arch.hash() ^ 0x9E3779B97F4A7C15ULL;
    auto mix = [&](std::uint64_t v) {  // FNV-1a style, stable across platforms
      x ^= v + 0x9E3779B97F4A7C15ULL + (x << 6) + (x >> 2);
      x *= 0x100000001B3ULL;
    };
    const auto& h = c.hw;
    for (int v : {h.xbar, h.cell_bits, h.rows_parallel, h.adc_bits, h.cols_per_adc,
                  static_cast<int>(h.mapping), h.spare_tiles, h.act_bits})
      mix(static_cast<std::uint64_t>(v));
    for (int b : h.weight_bits) mix(static_cast<std::uint64_t>(b) + 0x100);
    return x;
  }

 private:
  mutable std::size_t seeds_used_ = 0;
};

/// The knobs that reproduce a plain deployment: `base`'s crossbar, cells, rows, ADC and mux, the
/// naive mapping, and `weight_bits`/`act_bits` everywhere (the architecture-only baseline).
template <class CS>
[[nodiscard]] hw_knobs baseline_knobs(const pim::pim_config& base, int weight_bits, int act_bits) {
  hw_knobs h;
  h.xbar = static_cast<int>(base.xbar_rows);
  h.cell_bits = base.cell_bits;
  h.rows_parallel = base.rows_parallel;
  h.adc_bits = base.adc_bits;
  h.cols_per_adc = base.cols_per_adc;
  h.mapping = mapping_choice::naive;
  h.spare_tiles = 0;
  h.act_bits = act_bits;
  h.weight_bits.assign(static_cast<std::size_t>(CS::num_blocks + 1), weight_bits);
  return h;
}

/// Hardware-only neighbours of `base` (same architecture), most promising first: the PIM-aware
/// mapping with spare tiles for replicas (latency), 6- and 5-bit weights, 6-bit activations,
/// fewer rows per read (a smaller lossless ADC). Only members of CS's vocabularies are kept.
template <class CS>
[[nodiscard]] std::vector<candidate> hardware_neighbours(const candidate& base) {
  struct variant {
    int wbits, abits;  // 0: keep base's
    mapping_choice mapping;
    int spare, rows;
  };
  constexpr auto aware = mapping_choice::pim_aware;
  const variant vs[] = {{6, 6, aware, 32, 0},
                        {6, 8, aware, 32, 0},
                        {0, 0, aware, 32, 0},
                        {5, 6, aware, 32, 0},
                        {6, 6, aware, 128, 0},
                        {6, 6, aware, 32, 64},
                        {6, 8, base.hw.mapping, base.hw.spare_tiles, 0},
                        {5, 5, aware, 32, 0}};
  std::vector<candidate> out;
  for (const auto& v : vs) {
    candidate c = base;
    if (v.wbits > 0) std::fill(c.hw.weight_bits.begin(), c.hw.weight_bits.end(), v.wbits);
    if (v.abits > 0) c.hw.act_bits = v.abits;
    c.hw.mapping = v.mapping;
    c.hw.spare_tiles = v.spare;
    if (v.rows > 0) c.hw.rows_parallel = v.rows;
    c.hw.adc_bits = CS::adc_bits::values.front();  // the smallest lossless one, after repair
    detail::repair<CS>(c.hw);
    if (!valid<CS>(c.hw) || c == base || std::find(out.begin(), out.end(), c) != out.end())
      continue;
    out.push_back(std::move(c));
  }
  return out;
}

/// The chip a candidate runs on: `base` (a preset) with the candidate's knobs, sized to the
/// mapping plus the candidate's spare tiles (so area is an objective). `keep_chip` keeps the
/// preset's fixed tile count instead: the baseline's chip, which the naive mapping fills with
/// replicas (see docs/codesign.md for why that is the fairer baseline).
[[nodiscard]] inline pim::pim_config config_of(const hw_knobs& h, pim::pim_config base,
                                               bool keep_chip = false) {
  base.xbar_rows = h.xbar;
  base.xbar_cols = h.xbar;
  base.cell_bits = h.cell_bits;
  base.rows_parallel = h.rows_parallel;
  base.adc_bits = h.adc_bits;
  base.cols_per_adc = h.cols_per_adc;
  base.act_bits = h.act_bits;
  base.weight_bits = h.weight_bits.empty() ? base.weight_bits : h.weight_bits.back();
  if (!keep_chip) {
    base.tiles = 0;
    base.auto_spare_tiles = h.spare_tiles;
  }
  base.validate("co-design candidate");
  return base;
}

/// The workload of a candidate: supernet::workload_of with each layer's weight precision taken
/// from its block (layers are named "b<i>.*", the head "head"), the global activation
/// precision everywhere, and embedding rows stored at the activation precision.
template <class CS>
[[nodiscard]] pim::workload workload_of(const candidate& c, const supernet::data_shape& shape) {
  using S = typename CS::arch_space;
  auto w = supernet::workload_of<S>(c.arch, shape, {.weight_bits = 0, .act_bits = c.hw.act_bits});
  const auto& wb = c.hw.weight_bits;
  expects(wb.size() == static_cast<std::size_t>(CS::num_blocks + 1),
          "codesign::workload_of: one weight precision per block plus the head");
  for (auto& l : w.layers) {
    int bits = wb.back();
    if (l.name.size() > 1 && l.name[0] == 'b' && l.name[1] >= '0' && l.name[1] <= '9') {
      const int blk = std::stoi(l.name.substr(1));
      expects(blk >= 0 && blk < CS::num_blocks, "codesign::workload_of: layer of no block");
      bits = wb[static_cast<std::size_t>(blk)];
    }
    // embedding rows are activations (the first crossbars' inputs): stored at act_bits
    l.weight_bits = l.cls() == pim::op_class::memory ? c.hw.act_bits : bits;
    l.act_bits = c.hw.act_bits;
  }
  return w;
}

/// The block a parameter belongs to ("block<i>.*" -> i), -1 for the head and the stem.
[[nodiscard]] inline int block_of_param(std::string_view name) {
  constexpr std::string_view p = "block";
  if (name.substr(0, p.size()) != p) return -1;
  int v = 0;
  std::size_t i = p.size();
  if (i >= name.size() || name[i] < '0' || name[i] > '9') return -1;
  for (; i < name.size() && name[i] >= '0' && name[i] <= '9'; ++i) v = v * 10 + (name[i] - '0');
  return v;
}

// ---- JSON -------------------------------------------------------------------------------------

template <class CS>
[[nodiscard]] nlohmann::json to_json(const hw_knobs& h) {
  return {{"xbar", h.xbar},
          {"cell_bits", h.cell_bits},
          {"rows_parallel", h.rows_parallel},
          {"adc_bits", h.adc_bits},
          {"cols_per_adc", h.cols_per_adc},
          {"mapping", std::string(to_string(h.mapping))},
          {"spare_tiles", h.spare_tiles},
          {"act_bits", h.act_bits},
          {"weight_bits", h.weight_bits}};
}
template <class CS>
[[nodiscard]] nlohmann::json to_json(const candidate& c) {
  return {{"arch", supernet::to_json<typename CS::arch_space>(c.arch)}, {"hw", to_json<CS>(c.hw)}};
}

/// Reads a candidate; errors name the file and the field.
template <class CS>
[[nodiscard]] candidate candidate_from_json(const nlohmann::json& j, const std::string& file) {
  if (!j.is_object() || !j.contains("arch") || !j.contains("hw"))
    throw input_error(file, 0, "", "a co-design candidate has \"arch\" and \"hw\"");
  candidate c;
  c.arch = supernet::from_json<typename CS::arch_space>(j["arch"], file);
  const auto& h = j["hw"];
  auto get = [&](const char* k) {
    if (!h.contains(k) || !h[k].is_number_integer())
      throw input_error(file, 0, std::string("hw.") + k, "must be an integer");
    return h[k].get<int>();
  };
  c.hw.xbar = get("xbar");
  c.hw.cell_bits = get("cell_bits");
  c.hw.rows_parallel = get("rows_parallel");
  c.hw.adc_bits = get("adc_bits");
  c.hw.cols_per_adc = get("cols_per_adc");
  c.hw.spare_tiles = get("spare_tiles");
  c.hw.act_bits = get("act_bits");
  const std::string m = h.value("mapping", std::string("naive"));
  if (m != "naive" && m != "pim_aware")
    throw input_error(file, 0, "hw.mapping", "must be \"naive\" or \"pim_aware\"");
  c.hw.mapping = m == "naive" ? mapping_choice::naive : mapping_choice::pim_aware;
  if (!h.contains("weight_bits") || !h["weight_bits"].is_array())
    throw input_error(file, 0, "hw.weight_bits", "must be an array (one per block + head)");
  c.hw.weight_bits = h["weight_bits"].get<std::vector<int>>();
  if (!valid<CS>(c.hw))
    throw input_error(file, 0, "hw",
                      "knobs outside this co-design space (or a lossy ADC, or " +
                          std::to_string(CS::num_blocks + 1) + " weight precisions needed)");
  return c;
}

}  // namespace recnas::codesign
