// `recnas pim`: evaluate a workload on a PIM accelerator preset with the analytic model
// (and optionally the cycle-level simulation), print a per-layer table, and with --json one
// JSON object as the last line of stdout.
//
//   recnas pim --model dlrm --preset isaac --weight-bits 8
//   recnas pim --arch workload.json --preset neurosim --mapping pim-aware --simulate 64 --json
//   recnas pim --arch ea_criteo_kaggle_xlarge_best_1shot.json --preset puma --json
//
// --arch takes a workload JSON (docs/pim-model.md, "Workload JSON"; it has "layers"), an
// architecture in recnas's format ("blocks") or a NASRec released config ("macro"/"micro"),
// told apart by content; architectures go through supernet::workload_of (--space, --dataset,
// --table-rows). --config overrides any pim_config field (and "constants": {...} any
// constants-table field) of the preset.
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <recnas/core/error.hpp>
#include <recnas/pim/pim.hpp>
#include <recnas/supernet/json.hpp>
#include <recnas/supernet/workload.hpp>

#include "cli.hpp"

namespace {

namespace pim = recnas::pim;
using json = nlohmann::json;
using recnas::index;
using recnas::input_error;

struct pim_args {
  std::string arch;
  std::string model;
  std::string preset = "isaac";
  std::string config;
  std::string mapping = "naive";
  std::string compose = "preset";
  std::string space;    // architectures: nasrec-full | nasrec-small (default: from the file)
  std::string dataset;  // architectures: criteo | avazu | kdd (default: from the file name)
  long long table_rows = 500'000;
  int weight_bits = 0;
  int act_bits = 0;
  long long simulate = 0;
  bool json_out = false;
};

json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw input_error(path, 0, "", "cannot open the file");
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    throw input_error(path, 0, "", std::string("not valid JSON: ") + e.what());
  }
}

// ---- workload JSON ----

double num(const json& j, const std::string& key, const std::string& file, const std::string& where,
           double fallback, bool required) {
  if (!j.contains(key)) {
    if (required) throw input_error(file, 0, where + "." + key, "is required");
    return fallback;
  }
  if (!j[key].is_number()) throw input_error(file, 0, where + "." + key, "must be a number");
  return j[key].get<double>();
}

index count(const json& j, const std::string& key, const std::string& file,
            const std::string& where, index fallback, bool required, index min = 1) {
  const double v = num(j, key, file, where, static_cast<double>(fallback), required);
  if (v < static_cast<double>(min) || v != static_cast<double>(static_cast<index>(v)))
    throw input_error(file, 0, where + "." + key, "must be an integer >= " + std::to_string(min));
  return static_cast<index>(v);
}

pim::workload parse_workload(const json& j, const std::string& file) {
  if (!j.is_object() || !j.contains("layers") || !j["layers"].is_array())
    throw input_error(file, 0, "layers", "a workload is an object with a \"layers\" array");
  pim::workload w;
  w.name = j.value("name", std::string("workload"));
  std::map<std::string, index> by_name;
  const auto& layers = j["layers"];
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto& lj = layers[i];
    const std::string where = "layers[" + std::to_string(i) + "]";
    if (!lj.is_object() || !lj.contains("kind") || !lj["kind"].is_string())
      throw input_error(file, 0, where + ".kind", "every layer needs a \"kind\" string");
    const std::string kind_s = lj["kind"].get<std::string>();
    pim::op_kind kind{};
    if (!pim::parse_op_kind(kind_s, kind))
      throw input_error(file, 0, where + ".kind",
                        "unknown kind \"" + kind_s +
                            "\" (fc, efc, projection, attention_projection, dot_product, fm, "
                            "attention_scores, softmax, attention_values, gating, sum, "
                            "layernorm, digital, embedding)");
    const std::string name = lj.value("name", kind_s + std::to_string(i));
    pim::layer l;
    auto c = [&](const char* key, index fb, bool req, index min = 1) {
      return count(lj, key, file, where, fb, req, min);
    };
    switch (kind) {
      case pim::op_kind::efc:
        l = pim::layer::efc(name, c("tokens_in", 0, true), c("tokens_out", 0, true),
                            c("width", 16, false));
        break;
      case pim::op_kind::fc:
      case pim::op_kind::projection:
      case pim::op_kind::attention_projection:
        l = pim::layer::analog(kind, name, c("rows", 0, true), c("cols", 0, true),
                               c("vectors", 1, false));
        break;
      case pim::op_kind::dot_product:
        l = pim::layer::dot_product(name, c("n", 0, true), c("width", 16, false));
        break;
      case pim::op_kind::fm:
        l = pim::layer::fm(name, c("tokens", 0, true), c("width", 16, false));
        break;
      case pim::op_kind::gating:
        l = pim::layer::gating(name, c("width", 0, true));
        break;
      case pim::op_kind::sum:
        l = pim::layer::sum(name, c("width", 0, true));
        break;
      case pim::op_kind::layernorm:
        l = pim::layer::layernorm(name, c("rows", 1, false), c("width", 0, true));
        break;
      case pim::op_kind::embedding:
        l = pim::layer::embedding(name, c("tables", 1, false), c("rows", 0, true),
                                  c("width", 16, false), c("lookups", 1, false),
                                  num(lj, "zipf", file, where, 1.05, false));
        break;
      default:
        l = pim::layer::digital(kind, name, num(lj, "macs", file, where, 0.0, false),
                                num(lj, "adds", file, where, 0.0, false),
                                num(lj, "specials", file, where, 0.0, false),
                                c("in_elems", 0, false, 0), c("out_elems", 0, false, 0));
        l.muls = num(lj, "muls", file, where, 0.0, false);
        if (l.muls < 0) throw input_error(file, 0, where + ".muls", "must be >= 0");
        break;
    }
    l.weight_bits = static_cast<int>(c("weight_bits", 0, false, 0));
    l.act_bits = static_cast<int>(c("act_bits", 0, false, 0));
    if (l.cls() == pim::op_class::analog)
      l.replication = static_cast<int>(c("replication", 0, false, 0));
    if (l.weight_bits > 32 || l.act_bits > 32)
      throw input_error(file, 0, where, "weight_bits and act_bits must be <= 32");
    index idx = 0;
    if (lj.contains("inputs")) {
      if (!lj["inputs"].is_array())
        throw input_error(file, 0, where + ".inputs", "must be an array of layer indices or names");
      std::vector<index> from;
      for (const auto& f : lj["inputs"]) {
        index src = -1;
        if (f.is_number_integer()) {
          src = f.get<index>();
        } else if (f.is_string() && by_name.count(f.get<std::string>())) {
          src = by_name[f.get<std::string>()];
        }
        if (src < 0 || src >= w.size())
          throw input_error(file, 0, where + ".inputs",
                            "every input must name an earlier layer (index or name)");
        from.push_back(src);
      }
      if (static_cast<int>(from.size()) > pim::max_layer_inputs)
        throw input_error(file, 0, where + ".inputs",
                          "at most " + std::to_string(pim::max_layer_inputs) + " inputs");
      idx = from.empty() ? w.add(std::move(l), pim::workload::roots)
                         : w.add(std::move(l), std::span<const index>(from));
    } else {
      idx = w.add(std::move(l));
    }
    by_name[name] = idx;
  }
  if (w.size() == 0) throw input_error(file, 0, "layers", "the workload has no layers");
  return w;
}

// ---- config JSON ----

void apply_config(const json& j, pim::pim_config& c, const std::string& file) {
  if (!j.is_object()) throw input_error(file, 0, "", "a config is a JSON object");
  const std::map<std::string, std::function<void(const json&)>> ints{
      {"xbar_rows", [&](const json& v) { c.xbar_rows = v.get<index>(); }},
      {"xbar_cols", [&](const json& v) { c.xbar_cols = v.get<index>(); }},
      {"cell_bits", [&](const json& v) { c.cell_bits = v.get<int>(); }},
      {"adc_bits", [&](const json& v) { c.adc_bits = v.get<int>(); }},
      {"cols_per_adc", [&](const json& v) { c.cols_per_adc = v.get<int>(); }},
      {"rows_parallel", [&](const json& v) { c.rows_parallel = v.get<int>(); }},
      {"dac_bits", [&](const json& v) { c.dac_bits = v.get<int>(); }},
      {"weight_bits", [&](const json& v) { c.weight_bits = v.get<int>(); }},
      {"act_bits", [&](const json& v) { c.act_bits = v.get<int>(); }},
      {"arrays_per_pe", [&](const json& v) { c.arrays_per_pe = v.get<int>(); }},
      {"pes_per_tile", [&](const json& v) { c.pes_per_tile = v.get<int>(); }},
      {"tiles", [&](const json& v) { c.tiles = v.get<index>(); }},
      {"auto_spare_tiles", [&](const json& v) { c.auto_spare_tiles = v.get<index>(); }},
      {"max_replication", [&](const json& v) { c.max_replication = v.get<int>(); }},
      {"pe_input_buffer_bytes", [&](const json& v) { c.pe_input_buffer_bytes = v.get<index>(); }},
      {"pe_output_buffer_bytes", [&](const json& v) { c.pe_output_buffer_bytes = v.get<index>(); }},
      {"tile_buffer_bytes", [&](const json& v) { c.tile_buffer_bytes = v.get<index>(); }},
      {"bus_bits", [&](const json& v) { c.bus_bits = v.get<int>(); }},
      {"flit_bits", [&](const json& v) { c.flit_bits = v.get<int>(); }},
      {"digital_lanes", [&](const json& v) { c.digital_lanes = v.get<int>(); }},
      {"adder_lanes", [&](const json& v) { c.adder_lanes = v.get<int>(); }},
  };
  auto& k = c.k;
  const std::map<std::string, double*> constants{
      {"cell_read_fj", &k.device.calibrated_cell_fj},
      {"r_on_ohm", &k.device.r_on_ohm},
      {"r_off_ohm", &k.device.r_off_ohm},
      {"v_read", &k.device.v_read},
      {"t_read_ns", &k.device.t_read_ns},
      {"lrs_fraction", &k.device.lrs_fraction},
      {"input_activity", &k.device.input_activity},
      {"cell_area_um2", &k.device.cell_area_um2},
      {"adc_ref_power_mw", &k.adc.ref_power_mw},
      {"adc_sample_rate_gsps", &k.adc.sample_rate_gsps},
      {"adc_ref_area_mm2", &k.adc.ref_area_mm2},
      {"dac_pj_per_row_bit", &k.dac_pj_per_row_bit},
      {"shift_add_pj_per_conversion", &k.shift_add_pj_per_conversion},
      {"adder_pj_per_add", &k.adder_pj_per_add},
      {"buffer_pj_per_byte", &k.buffer_pj_per_byte},
      {"bus_pj_per_byte", &k.bus_pj_per_byte},
      {"router_pj_per_flit_hop", &k.router_pj_per_flit_hop},
      {"digital_pj_per_mac", &k.digital_pj_per_mac},
      {"offchip_pj_per_byte", &k.offchip_pj_per_byte},
      {"offchip_latency_ns", &k.offchip_latency_ns},
      {"offchip_gb_per_s", &k.offchip_gb_per_s},
      {"offchip_link_mw", &k.offchip_link_mw},
      {"pe_leak_mw", &k.pe_leak_mw},
      {"tile_leak_mw", &k.tile_leak_mw},
  };
  for (const auto& [key, v] : j.items()) {
    if (key == "clock_ghz") {
      if (!v.is_number()) throw input_error(file, 0, key, "must be a number");
      c.clock = recnas::units::gigahertz(v.get<double>());
    } else if (key == "flip_encoding") {
      if (!v.is_boolean()) throw input_error(file, 0, key, "must be true or false");
      c.flip_encoding = v.get<bool>();
    } else if (key == "constants") {
      if (!v.is_object()) throw input_error(file, 0, key, "must be an object");
      for (const auto& [ck, cv] : v.items()) {
        const auto it = constants.find(ck);
        if (it == constants.end())
          throw input_error(file, 0, "constants." + ck, "unknown constant");
        if (!cv.is_number()) throw input_error(file, 0, "constants." + ck, "must be a number");
        *it->second = cv.get<double>();
      }
    } else if (const auto it = ints.find(key); it != ints.end()) {
      if (!v.is_number_integer()) throw input_error(file, 0, key, "must be an integer");
      it->second(v);
    } else {
      throw input_error(file, 0, key, "unknown config field");
    }
  }
}

// ---- output ----

json energy_json(const pim::energy_split& e) {
  return {{"array", e.array.value()},
          {"adc", e.adc.value()},
          {"dac", e.dac.value()},
          {"sample_hold", e.sample_hold.value()},
          {"accumulation", e.accumulation.value()},
          {"buffer", e.buffer.value()},
          {"interconnect", e.interconnect.value()},
          {"digital", e.digital.value()},
          {"memory", e.memory.value()},
          {"leakage", e.leakage.value()}};
}
json cycles_json(const pim::cycle_split& c) {
  return {{"compute", c.compute.value()}, {"accumulation", c.accumulation.value()},
          {"buffer", c.buffer.value()},   {"interconnect", c.interconnect.value()},
          {"digital", c.digital.value()}, {"memory", c.memory.value()}};
}

template <class Model>
void run(const pim_args& a, const pim::workload& w, const pim::pim_config& c,
         const std::string& arch_name) {
  Model m;
  const auto& r = m.evaluate(w, c);
  const double f = c.clock.value();
  std::printf("recnas pim: %s on %s (%s mapping, %s), %s ADC convention\n", w.name.c_str(),
              arch_name.c_str(), std::string(Model::mapping::name).c_str(),
              std::string(Model::architecture::compose::name).c_str(),
              std::string(r.architecture_adc_convention).c_str());
  std::printf(
      "config: %lldx%lld crossbars, %d b cells, %d b ADC / %d cols, %d rows parallel, "
      "%d b DAC, W%d/A%d, %d arrays/PE, %d PEs/tile, %lld tiles%s, %.4g GHz\n",
      static_cast<long long>(c.xbar_rows), static_cast<long long>(c.xbar_cols), c.cell_bits,
      c.adc_bits, c.cols_per_adc, c.rows_parallel, c.dac_bits, c.weight_bits, c.act_bits,
      c.arrays_per_pe, c.pes_per_tile, static_cast<long long>(r.tiles),
      c.tiles == 0 ? " (auto)" : "", f);
  std::printf("\n%-16s %-20s %-11s %7s %4s %6s %4s %11s %11s %12s %9s\n", "layer", "kind", "unit",
              "arrays", "rep", "util", "adc", "latency_ns", "interval_ns", "energy_pJ", "GOPS/W");
  for (const auto& l : m.layers()) {
    const bool analog = l.mapping.unit == pim::unit_kind::analog_crossbar;
    const std::string util = analog ? std::to_string(l.mapping.utilization).substr(0, 5) : "-";
    std::printf("%-16.16s %-20s %-11s %7lld %4d %6s %4s %11.1f %11.1f %12.1f %9.1f\n",
                std::string(l.name).c_str(), std::string(pim::to_string(l.kind)).c_str(),
                std::string(pim::to_string(l.mapping.unit)).c_str(),
                static_cast<long long>(l.mapping.arrays), l.mapping.replication, util.c_str(),
                analog ? std::to_string(l.mapping.adc_bits).c_str() : "-", l.latency.value(),
                l.interval.value() / f, l.energy.total().value(), l.efficiency.value());
  }
  const auto& e = r.energy;
  std::printf(
      "\nmodel: %lld arrays (%lld compute, %lld for one copy of each layer) of %lld, "
      "%lld/%lld tiles%s, utilization %.3f\n",
      static_cast<long long>(r.arrays), static_cast<long long>(r.compute_arrays),
      static_cast<long long>(r.copy_arrays), static_cast<long long>(r.arrays_available),
      static_cast<long long>(r.tiles_used), static_cast<long long>(r.tiles),
      r.fits ? "" : " (DOES NOT FIT)", r.utilization);
  std::printf(
      "latency %.1f ns (%.0f cycles: compute %.0f, accumulation %.0f, buffer %.0f, "
      "interconnect %.0f, digital %.0f, memory %.0f)\n",
      r.latency.value(), r.latency_cycles.value(), r.cycles.compute.value(),
      r.cycles.accumulation.value(), r.cycles.buffer.value(), r.cycles.interconnect.value(),
      r.cycles.digital.value(), r.cycles.memory.value());
  std::printf("interval %.1f ns per example (%.4g examples/s)\n", r.interval.value(),
              r.throughput_per_s);
  std::printf(
      "energy %.4g pJ per example: array %.3g, ADC %.3g, DAC %.3g, S&H %.3g, "
      "accumulation %.3g, buffer %.3g, interconnect %.3g, digital %.3g, memory %.3g, "
      "leakage %.3g\n",
      e.total().value(), e.array.value(), e.adc.value(), e.dac.value(), e.sample_hold.value(),
      e.accumulation.value(), e.buffer.value(), e.interconnect.value(), e.digital.value(),
      e.memory.value(), e.leakage.value());
  std::printf(
      "area %.4g mm^2; peak %.6g GOPS, %.5g GOPS/W, %.5g GOPS/mm^2 (%.4g W); "
      "effective %.4g GOPS, %.4g GOPS/W; EDP %.4g pJ*ns\n",
      r.area.total().value(), r.peak.value(), r.peak_per_watt.value(), r.peak_per_mm2.value(),
      r.peak_power.value() * 1e-3, r.effective.value(), r.effective_per_watt.value(),
      r.edp.value());
  json sim;
  if (a.simulate > 0) {
    const auto s = pim::simulate(w, c, m, {.batch = static_cast<index>(a.simulate)});
    std::printf(
        "simulation (batch %lld): first example %.1f ns, interval %.1f ns, batch %.1f ns "
        "(analytic %.1f ns), energy %.4g pJ per example\n",
        a.simulate, s.first_latency_ns.value(), s.interval_ns.value(), s.makespan.value() / f,
        m.batch_cycles(static_cast<index>(a.simulate)).value() / f, s.energy.total().value());
    sim = {{"batch", a.simulate},
           {"first_latency_ns", s.first_latency_ns.value()},
           {"interval_ns", s.interval_ns.value()},
           {"batch_ns", s.makespan.value() / f},
           {"analytic_batch_ns", m.batch_cycles(static_cast<index>(a.simulate)).value() / f},
           {"energy_pj", s.energy.total().value()}};
  }
  if (!a.json_out) return;
  json layers = json::array();
  for (const auto& l : m.layers())
    layers.push_back({{"name", std::string(l.name)},
                      {"kind", std::string(pim::to_string(l.kind))},
                      {"unit", std::string(pim::to_string(l.mapping.unit))},
                      {"arrays", l.mapping.arrays},
                      {"replication", l.mapping.replication},
                      {"utilization", l.mapping.utilization},
                      {"adc_bits", l.mapping.adc_bits},
                      {"hit_fraction", l.mapping.hit_fraction},
                      {"macs", l.macs},
                      {"latency_ns", l.latency.value()},
                      {"interval_ns", l.interval.value() / f},
                      {"cycles", cycles_json(l.cycles)},
                      {"energy_pj", l.energy.total().value()},
                      {"energy_breakdown_pj", energy_json(l.energy)}});
  json out{{"workload", w.name},
           {"preset", a.preset},
           {"architecture", arch_name},
           {"mapping", std::string(Model::mapping::name)},
           {"compose", std::string(Model::architecture::compose::name)},
           {"adc_convention", std::string(r.architecture_adc_convention)},
           {"arrays", r.arrays},
           {"compute_arrays", r.compute_arrays},
           {"copy_arrays", r.copy_arrays},
           {"arrays_available", r.arrays_available},
           {"tiles_used", r.tiles_used},
           {"tiles", r.tiles},
           {"fits", r.fits},
           {"utilization", r.utilization},
           {"macs", r.macs},
           {"ops", r.ops},
           {"latency_ns", r.latency.value()},
           {"latency_cycles", r.latency_cycles.value()},
           {"cycles_breakdown", cycles_json(r.cycles)},
           {"interval_ns", r.interval.value()},
           {"throughput_per_s", r.throughput_per_s},
           {"energy_pj", r.energy.total().value()},
           {"energy_breakdown_pj", energy_json(r.energy)},
           {"area_mm2", r.area.total().value()},
           {"peak_gops", r.peak.value()},
           {"peak_gops_per_w", r.peak_per_watt.value()},
           {"peak_gops_per_mm2", r.peak_per_mm2.value()},
           {"peak_power_mw", r.peak_power.value()},
           {"effective_gops", r.effective.value()},
           {"effective_gops_per_w", r.effective_per_watt.value()},
           {"edp_pj_ns", r.edp.value()},
           {"edap_pj_ns_mm2", r.edap},
           {"layers", layers}};
  if (!sim.is_null()) out["simulation"] = sim;
  recnas_cli::print_json_last_line(out);
}

template <class Arch>
void dispatch_mapping(const pim_args& a, const pim::workload& w, const pim::pim_config& c,
                      const std::string& name) {
  if (a.mapping == "naive")
    run<pim::analytic_model<Arch, pim::naive_mapping>>(a, w, c, name);
  else
    run<pim::analytic_model<Arch, pim::pim_aware_mapping>>(a, w, c, name);
}

template <class Arch, class Compose>
using with_compose =
    pim::architecture<typename Arch::device, typename Arch::adc, typename Arch::slices,
                      typename Arch::sign, Compose, typename Arch::interconnect>;

template <class Arch>
void dispatch_compose(const pim_args& a, const pim::workload& w, const pim::pim_config& c) {
  const std::string base = a.preset;
  if (a.compose == "preset")
    dispatch_mapping<Arch>(a, w, c, base);
  else if (a.compose == "layer-by-layer")
    dispatch_mapping<with_compose<Arch, pim::layer_by_layer>>(a, w, c, base);
  else if (a.compose == "pipeline")
    dispatch_mapping<with_compose<Arch, pim::layer_pipeline>>(a, w, c, base);
  else
    dispatch_mapping<with_compose<Arch, pim::balanced_replication>>(a, w, c, base);
}

// ---- architectures (supernet JSON) ----

pim::workload architecture_workload(const json& j, const pim_args& a) {
  namespace sn = recnas::supernet;
  std::string space = a.space;
  if (space.empty()) space = sn::space_name_of(j);
  if (space.empty())
    throw input_error(
        a.arch, 0, "space",
        "the file does not name its space; pass --space (" + sn::searchable_spaces::names() + ")");
  std::string ds_name = a.dataset;
  if (ds_name.empty()) {  // the released configs are named after their dataset
    const auto base = std::filesystem::path(a.arch).filename().string();
    ds_name = base.find("avazu") != std::string::npos ? "avazu"
              : base.find("kdd") != std::string::npos ? "kdd"
                                                      : "criteo";
  }
  const auto rows = static_cast<index>(a.table_rows);
  const sn::data_shape ds = ds_name == "avazu" ? sn::data_shape::avazu(rows)
                            : ds_name == "kdd" ? sn::data_shape::kdd(rows)
                                               : sn::data_shape::criteo(rows);
  if (!sn::searchable_spaces::contains(space))
    throw input_error(
        a.arch, 0, "space",
        "\"" + space + "\" is not a known space (" + sn::searchable_spaces::names() + ")");
  pim::workload w = sn::visit_space(
      space, [&]<class S>() { return sn::workload_of<S>(sn::from_json<S>(j, a.arch), ds); });
  w.name = std::filesystem::path(a.arch).stem().string() + " (" + space + ", " + ds_name + ")";
  return w;
}

pim::pim_config preset_config(const pim_args& a) {
  if (a.preset == "isaac") return pim::isaac_preset();
  if (a.preset == "puma") return pim::puma_preset();
  if (a.preset == "mnsim") return pim::mnsim_preset();
  return pim::neurosim_preset();
}

void run_pim(const pim_args& a) {
  if (a.arch.empty() == a.model.empty())
    throw input_error("", 0, "--arch/--model", "give exactly one of --arch FILE.json and --model");
  pim::pim_config c = preset_config(a);
  if (!a.config.empty()) {
    const json cj = read_json(a.config);
    apply_config(cj, c, a.config);
    // NeuroSim's clock and WL-driver energy follow the ADC: rebuild the preset at the chosen
    // ADC bits and rows in parallel, then re-apply the file (its explicit values win)
    if (a.preset == "neurosim") {
      c = pim::neurosim_preset(c.adc_bits, c.rows_parallel);
      apply_config(cj, c, a.config);
    }
  }
  if (a.weight_bits > 0) c.weight_bits = a.weight_bits;
  if (a.act_bits > 0) c.act_bits = a.act_bits;
  c.validate(a.config.empty() ? std::string("--preset ") + a.preset : a.config);
  pim::workload w;
  if (!a.arch.empty()) {
    const json j = read_json(a.arch);
    if (j.is_object() && j.contains("layers"))
      w = parse_workload(j, a.arch);
    else if (recnas::supernet::is_reference_json(j) || (j.is_object() && j.contains("blocks")))
      w = architecture_workload(j, a);
    else
      throw input_error(a.arch, 0, "",
                        "neither a workload (\"layers\") nor an architecture (\"blocks\" or "
                        "\"macro\"/\"micro\")");
  } else if (a.model == "vgg8") {
    w = pim::vgg8_cifar10(8);
  } else if (a.model == "dlrm") {
    w = pim::dlrm_criteo_kaggle();
  } else if (a.model == "dlrm-mlps") {
    w = pim::dlrm_criteo_kaggle(0, 0, false);
  } else {
    w = pim::nasrec_reference_subnet();
  }
  if (a.preset == "isaac")
    dispatch_compose<pim::isaac_architecture>(a, w, c);
  else if (a.preset == "neurosim")
    dispatch_compose<pim::neurosim_architecture>(a, w, c);
  else if (a.preset == "puma")
    dispatch_compose<pim::puma_architecture>(a, w, c);
  else
    dispatch_compose<pim::mnsim_architecture>(a, w, c);
}

const recnas_cli::register_command reg{
    {"pim", "PIM accelerator model: arrays, latency, energy, area of a workload on a preset",
     [](CLI::App& app) {
       auto a = std::make_shared<pim_args>();
       auto* src = app.add_option_group("workload", "what to evaluate");
       src->add_option("--arch", a->arch,
                       "workload JSON (\"layers\") or architecture JSON (recnas \"blocks\" "
                       "or a NASRec released config); see docs/pim-model.md")
           ->check(CLI::ExistingFile);
       src->add_option("--model", a->model, "built-in workload")
           ->check(CLI::IsMember({"dlrm", "dlrm-mlps", "nasrec-ref", "vgg8"}));
       src->require_option(1);
       app.add_option("--preset", a->preset, "accelerator preset")
           ->check(recnas_cli::pim_preset_names())
           ->capture_default_str();
       recnas_cli::add_space_option(app, a->space,
                                    "space of an architecture file (default: its \"space\" field)");
       app.add_option("--dataset", a->dataset,
                      "input shape of an architecture (default: from the file name, else criteo)")
           ->check(CLI::IsMember({"criteo", "avazu", "kdd"}));
       app.add_option("--table-rows", a->table_rows, "rows per embedding table (architectures)")
           ->check(CLI::Range(1LL, 1'000'000'000LL))
           ->capture_default_str();
       app.add_option("--config", a->config, "JSON overriding pim_config fields of the preset")
           ->check(CLI::ExistingFile);
       app.add_option("--weight-bits", a->weight_bits, "default weight precision")
           ->check(CLI::Range(1, 32));
       app.add_option("--act-bits", a->act_bits, "default activation precision")
           ->check(CLI::Range(1, 32));
       app.add_option("--mapping", a->mapping, "mapping policy")
           ->check(CLI::IsMember({"naive", "pim-aware"}))
           ->capture_default_str();
       app.add_option("--compose", a->compose, "layer composition (preset: the preset's own)")
           ->check(CLI::IsMember({"preset", "layer-by-layer", "pipeline", "balanced"}))
           ->capture_default_str();
       app.add_option("--simulate", a->simulate,
                      "also run the cycle-level simulation on a batch of N examples")
           ->check(CLI::Range(1LL, 100000LL));
       app.add_flag("--json", a->json_out, "one JSON object as the last line of stdout");
       app.callback([a] { run_pim(*a); });
     }}};

}  // namespace
