#pragma once
// Cost models: the secondary objectives and constraints of a search (FLOPs, parameters,
// measured CPU latency, PIM energy/latency/area). Each model maps an architecture to a fixed
// list of named costs, all minimised. They compose statically (`costs<M...>`) or behind one
// runtime type (`any_cost_model`, for a CLI that picks objectives by name).
//
// Every model but the CPU latency one is a pure function of the architecture, so a search that
// logs its costs replays exactly; the latency is measured, hence logged and never recomputed.

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "recnas/core/error.hpp"
#include "recnas/core/rng.hpp"
#include "recnas/parallel/threads.hpp"
#include "recnas/pim/analytic.hpp"
#include "recnas/pim/config.hpp"
#include "recnas/pim/policies.hpp"
#include "recnas/pim/presets.hpp"
#include "recnas/supernet/architecture.hpp"
#include "recnas/supernet/counting.hpp"
#include "recnas/supernet/supernet.hpp"
#include "recnas/supernet/workload.hpp"

namespace recnas::search {

/// A cost model: `names()` lists what it reports and `measure(a)` returns one value per name
/// (lower is better). `measure` may keep scratch state, so it is not const and one model
/// serves one thread.
template <class M>
concept CostModel = requires(M& m, const M& cm, const supernet::architecture& a) {
  { cm.names() } -> std::convertible_to<std::vector<std::string>>;
  { m.measure(a) } -> std::convertible_to<std::vector<double>>;
};

/// FLOPs per example in millions (the reference's fvcore convention, supernet::analyze).
template <class S>
class flops_cost {
 public:
  explicit flops_cost(supernet::data_shape ds) : ds_(std::move(ds)) {}
  [[nodiscard]] std::vector<std::string> names() const { return {"mflops"}; }
  [[nodiscard]] std::vector<double> measure(const supernet::architecture& a) const {
    return {supernet::analyze<S>(a, ds_).mflops()};
  }

 private:
  supernet::data_shape ds_;
};

/// Parameters a pruned model keeps, embeddings excluded.
template <class S>
class params_cost {
 public:
  explicit params_cost(supernet::data_shape ds) : ds_(std::move(ds)) {}
  [[nodiscard]] std::vector<std::string> names() const { return {"params"}; }
  [[nodiscard]] std::vector<double> measure(const supernet::architecture& a) const {
    return {static_cast<double>(supernet::analyze<S>(a, ds_).live_params)};
  }

 private:
  supernet::data_shape ds_;
};

struct latency_options {
  index batch = 512;  // the reference's TuNAS latency model times batch 512
  // The reference times 10 warm-up + 200 runs (5-95% trimmed mean); a search measures every
  // candidate, so fewer runs and a wider trim.
  int warmup = 1;
  int runs = 7;
  double trim = 0.15;  // trimmed mean: drop this fraction at each end
  /// Embedding tables are capped at this many rows: the timed work is the model's compute;
  /// lookups into full-size tables would time the memory system and allocate gigabytes.
  index max_table_rows = 4096;
  std::uint64_t seed = 0;
};

/// Measured single-thread CPU latency of the standalone (pruned, true-width) model's forward
/// pass on a fixed random batch: trimmed mean over `runs`, in milliseconds per batch.
/// Not a pure function: call it with the machine otherwise idle (a search runs it after each
/// batch of concurrent supernet evaluations) and log the result.
template <class S>
class cpu_latency_cost {
 public:
  explicit cpu_latency_cost(const supernet::data_shape& ds, latency_options o = {})
      : ds_(ds), o_(o) {
    expects(o.batch > 0 && o.runs > 0 && o.trim >= 0 && o.trim < 0.5,
            "latency_options: batch and runs > 0, 0 <= trim < 0.5");
    for (auto& r : ds_.table_rows) r = std::min(r, o.max_table_rows);
    rng g(o.seed ^ 0x9E3779B97F4A7C15ULL);
    const index F = ds_.sparse_features();
    dense_.resize(static_cast<std::size_t>(o.batch * ds_.dense_features));
    for (auto& v : dense_) v = static_cast<float>(g.uniform(-1.0, 1.0));
    ids_.resize(static_cast<std::size_t>(o.batch * F));
    for (index b = 0; b < o.batch; ++b)
      for (index f = 0; f < F; ++f)
        ids_[static_cast<std::size_t>(b * F + f)] = static_cast<std::int32_t>(
            g.below(static_cast<std::uint64_t>(ds_.table_rows[static_cast<std::size_t>(f)])));
    logits_.resize(static_cast<std::size_t>(o.batch));
  }
  [[nodiscard]] std::vector<std::string> names() const { return {"cpu_ms"}; }
  [[nodiscard]] std::vector<double> measure(const supernet::architecture& a) {
    supernet::subnet<S> net(a, ds_, {}, o_.seed);
    supernet::ctr_batch b;
    b.size = o_.batch;
    b.dense = matrix_view<const float>(dense_.data(), o_.batch, ds_.dense_features);
    b.ids32 = ids_.data();
    b.ids_ld = ds_.sparse_features();
    std::vector<double> ms;
    ms.reserve(static_cast<std::size_t>(o_.runs));
    parallel::with_threads(1, [&] {
      for (int r = 0; r < o_.warmup + o_.runs; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        net.forward(b, ws_, std::span<float>(logits_));
        const auto t1 = std::chrono::steady_clock::now();
        if (r >= o_.warmup)
          ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      }
    });
    return {trimmed_mean(ms, o_.trim)};
  }

  [[nodiscard]] static double trimmed_mean(std::vector<double> v, double trim) {
    expects(!v.empty(), "trimmed_mean of nothing");
    std::sort(v.begin(), v.end());
    const auto cut = static_cast<std::size_t>(trim * static_cast<double>(v.size()));
    double s = 0;
    std::size_t n = 0;
    for (std::size_t i = cut; i + cut < v.size(); ++i, ++n) s += v[i];
    return s / static_cast<double>(n);
  }

 private:
  supernet::data_shape ds_;
  latency_options o_;
  std::vector<float> dense_;
  std::vector<std::int32_t> ids_;
  std::vector<float> logits_;
  supernet::workspace<float> ws_;
};

/// PIM cost of the subnet's workload (supernet::workload_of) on a chip of architecture `Arch`
/// mapped by `Map`, from the analytic model: energy (pJ) and latency (ns) per example, and
/// the chip's area (mm^2; auto-sized chips grow with the model).
template <class S, class Arch = pim::isaac_architecture, class Map = pim::naive_mapping>
class pim_cost {
 public:
  explicit pim_cost(supernet::data_shape ds, pim::pim_config cfg = pim::isaac_preset(),
                    supernet::workload_options ao = {})
      : ds_(std::move(ds)), cfg_(std::move(cfg)), ao_(ao) {}
  [[nodiscard]] std::vector<std::string> names() const {
    return {"pim_energy_pj", "pim_latency_ns", "pim_area_mm2"};
  }
  [[nodiscard]] std::vector<double> measure(const supernet::architecture& a) {
    const auto& r = model_.evaluate(supernet::workload_of<S>(a, ds_, ao_), cfg_);
    return {r.energy.total().value(), r.latency.value(), r.area.total().value()};
  }

 private:
  supernet::data_shape ds_;
  pim::pim_config cfg_;
  supernet::workload_options ao_;
  pim::analytic_model<Arch, Map> model_;
};

/// Several cost models as one: names and values concatenated in order.
template <CostModel... Ms>
class costs {
 public:
  explicit costs(Ms... ms) : ms_(std::move(ms)...) {}
  [[nodiscard]] std::vector<std::string> names() const {
    std::vector<std::string> n;
    std::apply([&](const auto&... m) { (append(n, m.names()), ...); }, ms_);
    return n;
  }
  [[nodiscard]] std::vector<double> measure(const supernet::architecture& a) {
    std::vector<double> v;
    std::apply([&](auto&... m) { (append(v, m.measure(a)), ...); }, ms_);
    return v;
  }

 private:
  template <class T>
  static void append(std::vector<T>& to, std::vector<T> from) {
    to.insert(to.end(), from.begin(), from.end());
  }
  std::tuple<Ms...> ms_;
};

/// Any cost model behind one type, for objective lists chosen at run time.
class any_cost_model {
 public:
  template <CostModel M>
  requires(!std::same_as<std::remove_cvref_t<M>, any_cost_model>) explicit any_cost_model(M m)
      : names_(m.names()),
        measure_([p = std::make_shared<M>(std::move(m))](const supernet::architecture& a) {
          return std::vector<double>(p->measure(a));
        }) {}
  [[nodiscard]] const std::vector<std::string>& names() const noexcept { return names_; }
  [[nodiscard]] std::vector<double> measure(const supernet::architecture& a) {
    auto v = measure_(a);
    expects(v.size() == names_.size(), "cost model: measure() returns one value per name");
    return v;
  }

 private:
  std::vector<std::string> names_;
  std::function<std::vector<double>(const supernet::architecture&)> measure_;
};

static_assert(CostModel<any_cost_model>);

/// What objectives and constraints may name: a user-facing alias and the metric (as a search
/// logs it) it stands for.
struct metric_name {
  std::string_view alias, metric, what;
};
inline constexpr std::array<metric_name, 6> metric_names{{
    {"flops", "mflops", "MFLOPs per example"},
    {"params", "params", "non-embedding parameters of the pruned model"},
    {"latency", "cpu_ms", "measured 1-thread CPU forward latency, ms per batch of 512"},
    {"pim-energy", "pim_energy_pj", "PIM energy per example, pJ"},
    {"pim-latency", "pim_latency_ns", "PIM latency per example, ns"},
    {"pim-area", "pim_area_mm2", "PIM chip area, mm^2"},
}};

/// The metric an alias or metric name stands for; `field` names the setting in errors.
inline std::string metric_of(const std::string& name, const std::string& field) {
  std::string known;
  for (const auto& m : metric_names) {
    if (name == m.alias || name == m.metric) return std::string(m.metric);
    known.append(known.empty() ? "" : ", ").append(m.alias);
  }
  throw input_error("", 0, field, "unknown objective \"" + name + "\" (logloss, " + known + ")");
}

/// "logloss,flops,...": the metric names of the objectives after logloss (the primary, first).
inline std::vector<std::string> parse_objectives(const std::string& s) {
  std::vector<std::string> o;
  std::stringstream ss(s);
  std::string item;
  bool first = true;
  while (std::getline(ss, item, ',')) {
    if (item == "logloss") {
      if (!first) throw input_error("", 0, "objectives", "logloss must come first (the primary)");
    } else {
      o.push_back(metric_of(item, "objectives"));
    }
    first = false;
  }
  return o;
}

/// A hard constraint: `metric` <= `max`.
struct constraint {
  std::string metric;
  double max = 0;
};

/// "NAME<=VALUE", NAME an objective alias or metric name.
inline constraint parse_constraint(const std::string& s) {
  const auto at = s.find("<=");
  if (at == std::string::npos)
    throw input_error("", 0, "constraint",
                      "\"" + s + "\" is not NAME<=VALUE (e.g. pim-energy<=5e5)");
  constraint c{metric_of(s.substr(0, at), "constraint"), 0};
  const std::string v = s.substr(at + 2);
  char* end = nullptr;
  c.max = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !std::isfinite(c.max))
    throw input_error("", 0, "constraint", "\"" + v + "\" is not a number in \"" + s + "\"");
  return c;
}

/// The PIM cost model of a named preset and mapping ("naive" or "pim-aware").
template <class S>
any_cost_model pim_cost_of(const std::string& preset, const std::string& mapping,
                           const supernet::data_shape& shape) {
  if (mapping != "naive" && mapping != "pim-aware")
    throw input_error("", 0, "pim mapping",
                      "unknown mapping \"" + mapping + "\" (naive, pim-aware)");
  return pim::visit_preset(preset, [&]<class Arch>(pim::pim_config cfg) {
    if (mapping == "pim-aware")
      return any_cost_model(pim_cost<S, Arch, pim::pim_aware_mapping>(shape, cfg));
    return any_cost_model(pim_cost<S, Arch, pim::naive_mapping>(shape, cfg));
  });
}

}  // namespace recnas::search
