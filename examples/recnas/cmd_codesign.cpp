// recnas codesign: architecture + PIM configuration co-search, and the measured gain over the
// architecture-only design (docs/codesign.md).
//
//  1. supernet training (as `recnas search`; resumes from DIR/supernet.ck);
//  2. the baseline: the architecture-only winner (evolution on supernet logloss alone, as
//     `recnas search` does, or --baseline-arch FILE), deployed on the preset with the naive
//     mapping at --baseline-weight-bits / --baseline-act-bits, on a chip sized to its mapping
//     (the rule the candidates follow);
//  3. co-search with regularized evolution over codesign::space (arch + crossbar, cells, rows,
//     ADC, mux, mapping, spare tiles, per-block weight bits, activation bits): quantization-aware
//     supernet logloss and the analytic PIM model; criterion = weighted log energy, latency and
//     FLOPs relative to the baseline, feasible when logloss <= baseline + tolerance; the initial
//     population holds the baseline itself, its hardware-only neighbours and smaller arch-only
//     candidates within the tolerance;
//  4. both winners re-trained from scratch (the co-designed one quantization-aware, with its
//     precisions) for --seeds seeds; test logloss; the PIM model again;
//  5. DIR/{report.html, codesign.json, pareto.json, history.jsonl, arch_history.jsonl}, --json.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <recnas/codesign/evaluate.hpp>
#include <recnas/codesign/space.hpp>
#include <recnas/codesign/supernet_qat.hpp>
#include <recnas/data/data.hpp>
#include <recnas/data/spec.hpp>
#include <recnas/io/report.hpp>
#include <recnas/pim/pim.hpp>
#include <recnas/pim/presets.hpp>
#include <recnas/search/driver.hpp>
#include <recnas/search/nas.hpp>
#include <recnas/search/pareto.hpp>
#include <recnas/search/strategies.hpp>
#include <recnas/supernet/json.hpp>
#include <recnas/supernet/supernet.hpp>
#include <recnas/train/fit.hpp>
#include <recnas/train/sampling.hpp>

#include "cli.hpp"
#include "pipeline.hpp"

namespace {

namespace sn = recnas::supernet;
namespace tr = recnas::train;
namespace rd = recnas::data;
namespace rs = recnas::search;
namespace cd = recnas::codesign;
namespace pim = recnas::pim;
namespace fs = std::filesystem;
using json = nlohmann::json;
using recnas::index;
using rs::append_jsonl;
using rs::replay_of;
using rs::write_file_atomic;

struct codesign_args {
  std::string space = "nasrec-full";
  std::string preset = "isaac";
  std::string data = "synthetic:rows=200000";
  std::string budget = "small";
  std::string out = "recnas-codesign";
  std::string baseline_arch;
  int baseline_weight_bits = 8;
  int baseline_act_bits = 8;
  double tolerance = 0.002;
  std::vector<double> objective_weights{1.0, 0.5, 0.5};  // energy, latency, FLOPs
  double supernet_lr = rs::reference_supernet_lr;
  double supernet_float_share = 0.25;              // 1: the supernet trains in float only
  std::string supernet_activations = "quantized";  // or "float": weights-only QAT
  int threads = 2;
  int seeds = 1;
  int validate_top = -1;  // -1: the budget's
  std::uint64_t seed = 0;
  bool json_out = false;
};

struct budget {
  int validate_top = 4;  // feasible candidates re-trained and checked on validation
  rs::evolution_settings arch_evo, co_evo;
  rs::evaluator_options eval;
  tr::fit_options retrain;
};

budget budget_of(const std::string& name) {
  budget b;
  b.retrain.epochs = 1;
  b.retrain.batch_size = 512;
  b.retrain.lr = 0.12;
  if (name == "tiny") {  // tests: seconds
    b.validate_top = 2;
    b.arch_evo = {.population = 8, .tournament = 4, .children = 4, .generations = 2};
    b.co_evo = {.population = 8, .tournament = 4, .children = 4, .generations = 3};
    b.eval = {.batch_size = 512,
              .finetune_steps = 5,
              .finetune_warmup = 1,
              .val_batch_size = 2048,
              .val_batches = 1};
  } else if (name == "small") {  // the documented run: a few minutes on 2 cores
    b.arch_evo = {.population = 24, .tournament = 12, .children = 8, .generations = 6};
    b.co_evo = {.population = 32, .tournament = 16, .children = 8, .generations = 16};
    b.eval = {.batch_size = 512,
              .finetune_steps = 20,
              .finetune_warmup = 2,
              .val_batch_size = 4096,
              .val_batches = 3};
  } else {
    char* end = nullptr;
    const long long n = std::strtoll(name.c_str(), &end, 10);
    if (end == name.c_str() || *end != '\0' || n < 16)
      throw recnas::input_error("", 0, "--budget",
                                "\"" + name +
                                    "\" is not TINY, SMALL or a number >= 16 of co-search "
                                    "candidate evaluations");
    const int pop = static_cast<int>(std::clamp<long long>(n / 4, 8, 128));
    b.co_evo = {.population = pop,
                .tournament = std::max(2, pop / 2),
                .children = 8,
                .generations = static_cast<int>((n - pop + 7) / 8)};
    b.arch_evo = {.population = std::max(8, pop / 2),
                  .tournament = std::max(2, pop / 4),
                  .children = 8,
                  .generations = std::max(1, b.co_evo.generations / 2)};
    b.eval = {.batch_size = 512,
              .finetune_steps = 50,
              .finetune_warmup = 5,
              .val_batch_size = 4096,
              .val_batches = 8};
  }
  return b;
}

json cost_json(const cd::pim_cost& c, double logloss) {
  return {{"logloss", logloss},         {"mflops", c.mflops},     {"energy_pj", c.energy_pj},
          {"latency_ns", c.latency_ns}, {"area_mm2", c.area_mm2}, {"tiles", c.tiles}};
}

/// The PIM cost model of a preset: its architecture family is a type (the policies of
/// pim::*_architecture), chosen here by name at run time.
class preset_costs {
 public:
  pim::pim_config config;
  template <class CS, class Arch>
  static preset_costs make(pim::pim_config base) {
    auto p = std::make_shared<cd::pim_evaluator<CS, Arch>>(base);
    preset_costs r;
    r.config = std::move(base);
    r.fn_ = [p](const cd::candidate& c, const sn::data_shape& s, bool keep_chip) {
      return p->cost(c, s, keep_chip);
    };
    return r;
  }
  [[nodiscard]] cd::pim_cost cost(const cd::candidate& c, const sn::data_shape& s,
                                  bool keep_chip = false) const {
    return fn_(c, s, keep_chip);
  }

 private:
  std::function<cd::pim_cost(const cd::candidate&, const sn::data_shape&, bool)> fn_;
};

template <class CS>
preset_costs preset_costs_of(const std::string& name) {
  return pim::visit_preset(name, []<class Arch>(pim::pim_config cfg) {
    return preset_costs::make<CS, Arch>(std::move(cfg));
  });
}

template <class S>
void run(const codesign_args& o) {
  using CS = cd::space<S>;
  const auto t_start = std::chrono::steady_clock::now();
  const budget bud = budget_of(o.budget);
  const preset_costs pe = preset_costs_of<CS>(o.preset);
  const pim::pim_config& preset = pe.config;
  const fs::path out = o.out;
  fs::create_directories(out);
  {  // the settings a resumed run must share
    json settings = {{"space", S::name},
                     {"data", o.data},
                     {"budget", o.budget},
                     {"preset", o.preset},
                     {"baseline_arch", o.baseline_arch},
                     {"baseline_bits", {o.baseline_weight_bits, o.baseline_act_bits}},
                     {"tolerance", o.tolerance},
                     {"objective_weights", o.objective_weights},
                     {"seed", o.seed},
                     {"supernet_lr", o.supernet_lr},
                     {"supernet_float_share", o.supernet_float_share},
                     {"supernet_activations", o.supernet_activations}};
    rs::check_settings(out, settings);
  }
  std::fprintf(stderr, "recnas codesign: space %s, preset %s, data %s, budget %s, out %s\n",
               std::string(S::name).c_str(), o.preset.c_str(), o.data.c_str(), o.budget.c_str(),
               out.c_str());
  recnas_cli::printing_observer obs;
  const rs::split_data d = rs::load_split(o.data, obs);
  const auto& data = d.data;
  const auto& shape = d.shape;
  const auto& train_rows = d.train;
  const auto& val_rows = d.val;
  const auto& test_rows = d.test;
  json phases = json::object();
  auto stop_requested = [&] { return obs.stop_requested(); };
  auto interrupted_exit = [&](const std::string& what) { throw rs::interrupted_error(what, out); };
  auto seconds_since = [](auto t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };

  // ---- 1. supernet ---------------------------------------------------------------------------
  // The architecture-only baseline is what `recnas search` finds, on a supernet trained in
  // float. The co-search then scores candidates at their precisions on a second supernet,
  // trained the same way but quantization-aware (built once the first is released).
  auto super =
      std::make_unique<sn::supernet<S>>(shape, sn::model_options{.layernorm = true}, o.seed);
  rs::record_phase(phases, rs::train_supernet(*super, d,
                                              {.batch_size = bud.retrain.batch_size,
                                               .lr = o.supernet_lr,
                                               .threads = o.threads,
                                               .seed = o.seed,
                                               .checkpoint = out / "supernet.ck"},
                                              obs));

  // ---- 2. the architecture-only baseline ------------------------------------------------------
  const auto t_arch = std::chrono::steady_clock::now();
  sn::architecture base_arch;
  double base_search_loss = 0;
  std::int64_t arch_evals = 0;
  std::vector<std::pair<sn::architecture, double>> arch_seen;  // arch-only history: logloss
  if (rs::supernet_evaluator<S> aev(*super, data, train_rows, val_rows, bud.eval);
      !o.baseline_arch.empty()) {
    base_arch = sn::read_architecture<S>(o.baseline_arch);
    base_search_loss = aev.evaluate(base_arch).logloss;
  } else {
    rs::architecture_domain<S> adom;
    rs::regularized_evolution<rs::architecture_domain<S>> strat(adom, bud.arch_evo, o.seed);
    const fs::path hp = out / "arch_history.jsonl";
    const std::int64_t total =
        bud.arch_evo.population + std::int64_t{bud.arch_evo.generations} * bud.arch_evo.children;
    recnas_cli::progress bar("arch-only", static_cast<double>(total), "cand");
    rs::driver_hooks<sn::architecture> h;
    h.evaluate = [&](const std::vector<sn::architecture>& cs) {
      const auto ms = aev.evaluate_all(cs, o.threads);
      std::vector<rs::evaluation> ev;
      for (const auto& m : ms) ev.push_back({{std::isfinite(m.logloss) ? m.logloss : 1e9}, true});
      return ev;
    };
    h.on_result = [&](const rs::scored<sn::architecture>& r) {
      append_jsonl(hp, {{"id", r.id},
                        {"hash", r.hash},
                        {"objectives", r.eval.objectives},
                        {"feasible", r.eval.feasible},
                        {"arch", sn::to_json<S>(r.candidate)}});
    };
    h.on_batch = [&](std::int64_t done) {
      bar.update(static_cast<double>(done));
      return !stop_requested();
    };
    const auto res = rs::run_search(strat, adom, h, replay_of(hp));
    bar.finish(static_cast<double>(res.history.size()));
    if (!res.completed) interrupted_exit("the architecture-only search");
    const auto* best = &res.history.front();
    for (const auto& r : res.history)
      if (rs::better(r.eval, best->eval)) best = &r;
    base_arch = best->candidate;
    base_search_loss = best->eval.primary();
    arch_evals = static_cast<std::int64_t>(res.history.size());
    for (const auto& r : res.history) arch_seen.emplace_back(r.candidate, r.eval.primary());
  }
  phases["arch_search_s"] = seconds_since(t_arch);
  const cd::candidate baseline{
      base_arch, cd::baseline_knobs<CS>(preset, o.baseline_weight_bits, o.baseline_act_bits)};
  // The baseline runs on the preset's chip (ISAAC: 168 tiles), which the naive mapping fills
  // with replicas; on a chip sized to its mapping like the candidates' (also reported) it is as
  // costly in energy but about 5x slower, which would inflate the latency gain (codesign.md).
  const auto base_cost = pe.cost(baseline, shape, /*keep_chip=*/true);
  const auto base_sized_chip = pe.cost(baseline, shape);

  // ---- 3. the quantization-aware supernet (most steps at sampled weight precisions) ----------
  if (o.supernet_float_share < 1.0) {
    super.reset();
    super = std::make_unique<sn::supernet<S>>(shape, sn::model_options{.layernorm = true}, o.seed);
    cd::supernet_quantizer<CS> squant(*super);
    const cd::precision_sampling psample{.float_share = o.supernet_float_share,
                                         .seed = o.seed,
                                         .activations = o.supernet_activations == "quantized"};
    std::int64_t quantized_steps = 0;
    rs::supernet_pass pass{.label = "supernet-qat",
                           .batch_size = bud.retrain.batch_size,
                           .lr = o.supernet_lr,
                           .threads = o.threads,
                           .seed = o.seed,
                           .checkpoint = out / "supernet_qat.ck"};
    pass.before = [&](std::int64_t step, const sn::architecture& a) {
      const auto p = cd::sample_precisions<CS>(psample, step);
      if (p.is_float()) return;
      squant.quantize(a, p);
      ++quantized_steps;
    };
    pass.after = [&] { squant.restore(); };
    phases["supernet_qat_s"] = rs::train_supernet(*super, d, std::move(pass), obs).seconds;
    phases["supernet_qat_quantized_steps"] = quantized_steps;
  }

  // ---- 4. co-search ---------------------------------------------------------------------------
  const auto t_co = std::chrono::steady_clock::now();
  cd::domain<CS> dom;
  dom.anchor = base_arch;  // after the seeds, half the draws start near the arch-only winner
  cd::quantized_evaluator<CS> qev(*super, data, train_rows, val_rows, bud.eval);
  // the reference logloss is the baseline's under the same (quantized) evaluation as the
  // candidates, so the baseline seed is feasible by construction
  const double base_q_loss = [&] {
    double v = 0;
    recnas::parallel::with_threads(1, [&] { v = qev.evaluate(baseline).logloss; });
    return v;
  }();
  {  // seeds: the baseline, its hardware-only neighbours, and arch-only candidates within the
     // tolerance that need fewer FLOPs (the FLOPs gain), at the most promising knobs
    const auto hwn = cd::hardware_neighbours<CS>(baseline);
    std::vector<std::pair<double, sn::architecture>> small;
    for (const auto& [a, ll] : arch_seen) {
      const double mf = sn::analyze<S>(a, shape).mflops();
      if (ll <= base_search_loss + o.tolerance && mf < base_cost.mflops &&
          std::none_of(small.begin(), small.end(), [&](const auto& p) { return p.second == a; }))
        small.emplace_back(mf, a);
    }
    std::sort(small.begin(), small.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
    std::vector<cd::candidate> seeds{baseline};
    std::size_t ih = 0, is = 0;
    const auto cap = static_cast<std::size_t>(bud.co_evo.population - bud.co_evo.population / 4);
    while (seeds.size() < cap && (ih < hwn.size() || is < small.size())) {
      if (ih < hwn.size()) seeds.push_back(hwn[ih++]);
      if (seeds.size() < cap && is < small.size()) {
        cd::candidate c = hwn.empty() ? baseline : hwn.front();
        c.arch = small[is++].second;
        seeds.push_back(std::move(c));
      }
    }
    dom.seeds = std::move(seeds);
  }
  const cd::objective_settings obj{.ref_logloss = base_q_loss,
                                   .ref_energy_pj = base_cost.energy_pj,
                                   .ref_latency_ns = base_cost.latency_ns,
                                   .ref_mflops = base_cost.mflops,
                                   .tolerance = o.tolerance,
                                   .w_energy = o.objective_weights[0],
                                   .w_latency = o.objective_weights[1],
                                   .w_flops = o.objective_weights[2]};
  const std::vector<std::string> names{"score",      "logloss",  "energy_pj",
                                       "latency_ns", "area_mm2", "mflops"};
  const fs::path hist = out / "history.jsonl";
  const std::int64_t co_total =
      bud.co_evo.population + std::int64_t{bud.co_evo.generations} * bud.co_evo.children;
  recnas_cli::progress cbar("co-search", static_cast<double>(co_total), "cand");
  double best_energy = INFINITY;
  rs::driver_hooks<cd::candidate> h;
  h.evaluate = [&](const std::vector<cd::candidate>& cs) {
    const auto ms = qev.evaluate_all(cs, o.threads);
    std::vector<rs::evaluation> ev(cs.size());
    for (std::size_t i = 0; i < cs.size(); ++i) {
      const double ll = std::isfinite(ms[i].logloss) ? ms[i].logloss : 1e9;
      const auto c = pe.cost(cs[i], shape);
      ev[i].objectives = {obj.score(ll, c), ll, c.energy_pj, c.latency_ns, c.area_mm2, c.mflops};
      ev[i].feasible = obj.feasible(ll, c);
    }
    return ev;
  };
  h.on_result = [&](const rs::scored<cd::candidate>& r) {
    if (r.eval.feasible) best_energy = std::min(best_energy, r.eval.objectives[2]);
    append_jsonl(hist, {{"id", r.id},
                        {"generation", r.generation},
                        {"hash", r.hash},
                        {"objectives", r.eval.objectives},
                        {"feasible", r.eval.feasible},
                        {"candidate", cd::to_json<CS>(r.candidate)}});
  };
  h.on_batch = [&](std::int64_t done) {
    char extra[64];
    std::snprintf(extra, sizeof extra, "best feasible %.4g pJ", best_energy);
    cbar.update(static_cast<double>(done), extra);
    return !stop_requested();
  };
  rs::regularized_evolution<cd::domain<CS>> strat(dom, bud.co_evo, o.seed + 1);
  const auto outcome = rs::run_search(strat, dom, h, replay_of(hist));
  cbar.finish(static_cast<double>(outcome.history.size()));
  if (!outcome.completed) interrupted_exit("the co-search");
  phases["co_search_s"] = seconds_since(t_co);
  const rs::scored<cd::candidate>* win = nullptr;
  for (const auto& r : outcome.history)
    if (win == nullptr || rs::better(r.eval, win->eval)) win = &r;
  if (!win->eval.feasible)
    std::fprintf(stderr,
                 "recnas codesign: no candidate met logloss <= %.5f + %.4f; reporting the best "
                 "infeasible one\n",
                 base_q_loss, o.tolerance);

  // ---- 4. re-training from scratch ------------------------------------------------------------
  const auto t_re = std::chrono::steady_clock::now();
  auto retrain = [&](const cd::candidate& c, bool quantized, std::uint64_t seed,
                     const std::string& label, const std::vector<std::uint32_t>& eval_rows) {
    // LayerNorm as in the supernet that scored the candidates: without it the float baseline
    // diverged on the Avazu sample at this learning rate (test logloss > 1000)
    sn::subnet<S> net(c.arch, shape, {.layernorm = true}, seed + 1);
    auto fo = bud.retrain;
    // as `recnas search` re-trains: on small samples (the Criteo and Avazu ones give 12-15
    // steps of 512) batch 256 and enough epochs for >= 80 steps; at 15 steps the test logloss
    // of one model varied by 0.05 between re-training seeds
    rs::adapt_recipe(fo, train_rows.size());
    fo.threads = o.threads;
    fo.seed = seed;
    cd::qat_shadow<CS, sn::subnet<S>> qat(net, c.hw);
    if (quantized) qat.begin();
    std::optional<recnas_cli::progress> bar;
    fo.on_step = [&](std::int64_t step, std::int64_t total, const tr::step_result&) {
      if (quantized) qat.after_step();
      if (!bar) bar.emplace(label, static_cast<double>(total * fo.batch_size), "ex");
      bar->update(static_cast<double>(step * fo.batch_size));
      return !stop_requested();
    };
    const auto fr = tr::fit(
        net, data, train_rows, [&](std::int64_t, recnas::rng&) { return c.arch; }, fo);
    if (bar) bar->finish(static_cast<double>(fr.steps * fo.batch_size));
    if (fr.interrupted) interrupted_exit("re-training " + label);
    // the quantized model sees its activation precision at its inputs too (dense features;
    // the embedding rows are already on the grid)
    if (!quantized) return tr::evaluate_rows(net, c.arch, data, eval_rows, 4096, o.threads);
    rd::stream_options so;
    so.batch_size = 4096;
    so.drop_last = false;
    rd::batch_stream stream(data, so, eval_rows);
    tr::streaming_metrics m;
    sn::workspace<float> ws;
    std::vector<float> logits;
    cd::quantized_dense qd;
    recnas::parallel::with_threads(o.threads, [&] {
      while (auto b = stream.next()) {
        qd.make(*b, c.hw.act_bits);
        logits.resize(static_cast<std::size_t>(b->size()));
        net.forward(qd.batch, ws, std::span<float>(logits));
        m.add(logits.data(), b->labels.data(), b->size());
      }
    });
    return m.compute();
  };
  // Validated selection: the supernet estimate is optimistic for low precisions (a 3-bit
  // block scores within the tolerance there and loses more once re-trained from scratch), so
  // the best-scoring feasible candidates are re-trained (QAT, train split) and the winner is
  // the best-scoring one whose validation logloss stays within the tolerance of the baseline's,
  // re-trained the same way. The test split is only read after this choice.
  json validation = json::array();
  double base_val = NAN;
  {
    // One per model: candidates that differ only in knobs accuracy does not see (crossbar,
    // ADC, mapping, spare tiles), or only in blocks that do not reach the head, would re-train
    // to the same logloss; keep the best-scoring one. Such candidates have the same search
    // logloss to the last bit (a pure function of the model), distinct models practically never.
    auto same_model = [](const rs::scored<cd::candidate>& x, const rs::scored<cd::candidate>& y) {
      return x.eval.objectives[1] == y.eval.objectives[1] ||
             (x.candidate.arch == y.candidate.arch &&
              x.candidate.hw.weight_bits == y.candidate.hw.weight_bits &&
              x.candidate.hw.act_bits == y.candidate.hw.act_bits);
    };
    std::vector<const rs::scored<cd::candidate>*> feasible, top;
    for (const auto& r : outcome.history)
      if (r.eval.feasible) feasible.push_back(&r);
    std::stable_sort(feasible.begin(), feasible.end(),
                     [](const auto* x, const auto* y) { return rs::better(x->eval, y->eval); });
    for (const auto* r : feasible)
      if (std::none_of(top.begin(), top.end(), [&](const auto* t) { return same_model(*t, *r); }))
        top.push_back(r);
    const auto k =
        static_cast<std::size_t>(o.validate_top >= 0 ? o.validate_top : bud.validate_top);
    if (top.size() > k) top.resize(k);
    if (top.size() > 1) {
      base_val = retrain(baseline, false, o.seed, "baseline (val)", val_rows).logloss;
      const rs::scored<cd::candidate>* pick = nullptr;
      const rs::scored<cd::candidate>* closest = nullptr;
      double closest_val = INFINITY;
      for (std::size_t i = 0; i < top.size(); ++i) {
        const std::string label =
            "validate " + std::to_string(i + 1) + "/" + std::to_string(top.size());
        const double v = retrain(top[i]->candidate, true, o.seed, label, val_rows).logloss;
        const bool ok = v <= base_val + o.tolerance;
        validation.push_back({{"id", top[i]->id},
                              {"score", top[i]->eval.objectives[0]},
                              {"search_logloss", top[i]->eval.objectives[1]},
                              {"val_logloss", v},
                              {"within_tolerance", ok}});
        std::fprintf(stderr, "  candidate #%lld: validation logloss %.5f (baseline %.5f)%s\n",
                     static_cast<long long>(top[i]->id), v, base_val,
                     ok ? "" : ", over the tolerance");
        if (ok && pick == nullptr) pick = top[i];
        if (v < closest_val) closest_val = v, closest = top[i];
      }
      if (pick == nullptr) {
        std::fprintf(stderr,
                     "recnas codesign: none of the %zu best candidates kept validation logloss "
                     "<= %.5f + %.4f once re-trained; taking the closest (%.5f)\n",
                     top.size(), base_val, o.tolerance, closest_val);
        pick = closest;
      }
      win = pick;
    }
  }
  std::vector<double> base_ll, co_ll;
  for (int s = 0; s < o.seeds; ++s) {
    const auto seed = o.seed + 1000 * static_cast<std::uint64_t>(s);
    const std::string sfx = " " + std::to_string(s + 1) + "/" + std::to_string(o.seeds);
    base_ll.push_back(retrain(baseline, false, seed, "baseline" + sfx, test_rows).logloss);
    co_ll.push_back(retrain(win->candidate, true, seed, "co-designed" + sfx, test_rows).logloss);
  }
  phases["retrain_s"] = seconds_since(t_re);
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / static_cast<double>(v.size());
  };
  const double base_test = mean(base_ll), co_test = mean(co_ll);
  const auto co_cost = pe.cost(win->candidate, shape);
  // for reference: the baseline at the preset's own precision (ISAAC: 16-bit W/A)
  const cd::candidate native{base_arch,
                             cd::baseline_knobs<CS>(preset, preset.weight_bits, preset.act_bits)};
  const auto native_cost = pe.cost(native, shape, /*keep_chip=*/true);
  const double flops_gain = base_cost.mflops / co_cost.mflops;
  const double energy_gain = base_cost.energy_pj / co_cost.energy_pj;
  const double latency_gain = base_cost.latency_ns / co_cost.latency_ns;

  // ---- 5. outputs -------------------------------------------------------------------------------
  std::vector<std::vector<double>> pts;  // logloss, energy, latency, area, mflops
  std::vector<std::size_t> idx;
  for (std::size_t i = 0; i < outcome.history.size(); ++i)
    if (outcome.history[i].eval.feasible) {
      const auto& ob = outcome.history[i].eval.objectives;
      pts.push_back(std::vector<double>(ob.begin() + 1, ob.end()));
      idx.push_back(i);
    }
  const auto front = rs::pareto_front(pts);
  json pareto = json::array();
  for (auto k : front) {
    const auto& r = outcome.history[idx[k]];
    json p = {{"id", r.id}, {"candidate", cd::to_json<CS>(r.candidate)}};
    for (std::size_t m = 1; m < names.size(); ++m) p[names[m]] = r.eval.objectives[m];
    pareto.push_back(p);
  }
  write_file_atomic(out / "pareto.json", json{{"front", pareto}}.dump(2) + "\n");
  json result = {{"baseline", cost_json(base_cost, base_test)},
                 {"codesigned", cost_json(co_cost, co_test)},
                 {"flops_gain", flops_gain},
                 {"energy_gain", energy_gain},
                 {"latency_gain", latency_gain},
                 {"logloss_delta", co_test - base_test},
                 {"seeds", o.seeds},
                 {"baseline_test_logloss_per_seed", base_ll},
                 {"codesigned_test_logloss_per_seed", co_ll},
                 {"baseline_search_logloss", base_search_loss},
                 {"baseline_quantized_search_logloss", base_q_loss},
                 {"baseline_sized_chip",
                  {{"tiles", base_sized_chip.tiles},
                   {"energy_pj", base_sized_chip.energy_pj},
                   {"latency_ns", base_sized_chip.latency_ns},
                   {"area_mm2", base_sized_chip.area_mm2}}},
                 {"codesigned_search_logloss", win->eval.objectives[1]},
                 {"baseline_val_logloss", std::isfinite(base_val) ? json(base_val) : json()},
                 {"validation", validation},
                 {"winner_feasible", win->eval.feasible},
                 {"winner_id", win->id},
                 {"baseline_native_precision",
                  {{"weight_bits", preset.weight_bits},
                   {"act_bits", preset.act_bits},
                   {"energy_pj", native_cost.energy_pj},
                   {"latency_ns", native_cost.latency_ns}}},
                 {"winner", cd::to_json<CS>(win->candidate)},
                 {"arch_evaluations", arch_evals},
                 {"evaluations", outcome.history.size()},
                 {"evaluated_this_run", outcome.evaluated},
                 {"pareto_size", front.size()},
                 {"phases", phases},
                 {"seconds", seconds_since(t_start)},
                 {"out", out.string()}};
  result["baseline"]["weight_bits"] = o.baseline_weight_bits;
  result["baseline"]["act_bits"] = o.baseline_act_bits;
  result["baseline"]["mapping"] = "naive";
  result["baseline"]["arch"] = sn::to_json<S>(base_arch);
  write_file_atomic(out / "codesign.json", result.dump(2) + "\n");
  {
    namespace io = recnas::io;
    auto front_chart = [&](std::size_t m, const std::string& xl) {
      io::series all{"candidates", {}, "#9aa", false, true},
          fr{"Pareto front (5 objectives)", {}, "#2ca02c", false, true},
          base{
              "baseline", {{base_cost.energy_pj, base_q_loss, "baseline"}}, "#d62728", false, true},
          w{"winner", {}, "#1f77b4", false, true};
      if (m == 3) base.points[0].x = base_cost.latency_ns;
      for (const auto& r : outcome.history)
        if (r.eval.objectives[1] < 1e8)
          all.points.push_back(
              {r.eval.objectives[m], r.eval.objectives[1], "#" + std::to_string(r.id)});
      for (auto k : front) fr.points.push_back({pts[k][m - 1], pts[k][0], ""});
      w.points.push_back({win->eval.objectives[m], win->eval.objectives[1], "winner"});
      return io::render_svg(
          {"logloss vs " + xl, xl, "supernet validation logloss (quantized)", {all, fr, base, w}});
    };
    const auto& wh = win->candidate.hw;
    std::string bits;
    for (int b : wh.weight_bits) bits += std::to_string(b) + " ";
    const std::vector<std::vector<std::string>> rows = {
        {"baseline (arch-only, naive, " + std::to_string(o.baseline_weight_bits) + "/" +
             std::to_string(o.baseline_act_bits) + " b)",
         io::num(base_test, 6), io::num(base_cost.mflops, 4), io::num(base_cost.energy_pj, 5),
         io::num(base_cost.latency_ns, 5), io::num(base_cost.area_mm2, 4)},
        {"co-designed", io::num(co_test, 6), io::num(co_cost.mflops, 4),
         io::num(co_cost.energy_pj, 5), io::num(co_cost.latency_ns, 5),
         io::num(co_cost.area_mm2, 4)},
        {"gain", io::num(co_test - base_test, 3), io::num(flops_gain, 3) + "x",
         io::num(energy_gain, 3) + "x", io::num(latency_gain, 3) + "x", ""}};
    const std::string knobs =
        "<p>winner: crossbar " + std::to_string(wh.xbar) + "², " + std::to_string(wh.cell_bits) +
        "-bit cells, " + std::to_string(wh.rows_parallel) + " rows per read, " +
        std::to_string(wh.adc_bits) + "-bit ADC per " + std::to_string(wh.cols_per_adc) +
        " columns, " + std::string(cd::to_string(wh.mapping)) + " mapping, " +
        std::to_string(wh.spare_tiles) + " spare tiles, activations " +
        std::to_string(wh.act_bits) + " b, weight bits per block (last: head) " + bits + "</p>";
    const std::string page = io::render_page(
        "recnas codesign: " + std::string(S::name) + " on " + o.data,
        {{"Result (test split, mean of " + std::to_string(o.seeds) + " seed(s))",
          io::render_table(
              {"model", "test logloss", "MFLOPs", "energy pJ/ex", "latency ns", "area mm²"}, rows) +
              knobs},
         {"Accuracy / energy front", front_chart(2, "energy per example (pJ)")},
         {"Accuracy / latency front", front_chart(3, "latency (ns)")}});
    write_file_atomic(out / "report.html", page);
  }
  std::printf("\nrecnas codesign: %s on %s, %zu co-search candidates\n",
              std::string(S::name).c_str(), o.data.c_str(), outcome.history.size());
  std::printf("%-14s %12s %9s %12s %11s\n", "model", "test logloss", "MFLOPs", "energy pJ",
              "latency ns");
  std::printf("%-14s %12.6f %9.4f %12.4g %11.4g\n", "baseline", base_test, base_cost.mflops,
              base_cost.energy_pj, base_cost.latency_ns);
  std::printf("%-14s %12.6f %9.4f %12.4g %11.4g\n", "co-designed", co_test, co_cost.mflops,
              co_cost.energy_pj, co_cost.latency_ns);
  std::printf("gains: FLOPs %.2fx, energy %.2fx, latency %.2fx; test logloss %+.5f (%d seed%s)\n",
              flops_gain, energy_gain, latency_gain, co_test - base_test, o.seeds,
              o.seeds > 1 ? "s" : "");
  std::printf("outputs: %s/{codesign.json,pareto.json,history.jsonl,report.html}\n", out.c_str());
  if (o.json_out) recnas_cli::print_json_last_line(result);
}

const recnas_cli::register_command reg{
    {"codesign", "co-search of architecture and PIM configuration; gain over the arch-only model",
     [](CLI::App& app) {
       auto a = std::make_shared<codesign_args>();
       recnas_cli::add_space_option(app, a->space, "search space")->capture_default_str();
       app.add_option("--pim-preset", a->preset, "PIM chip: isaac, neurosim, mnsim or puma")
           ->check(recnas_cli::pim_preset_names())
           ->capture_default_str();
       recnas_cli::add_data_option(app, a->data)->capture_default_str();
       app.add_option("--budget", a->budget, "tiny | small | N (co-search evaluations)")
           ->capture_default_str();
       app.add_option("--baseline-arch", a->baseline_arch,
                      "best_arch.json of `recnas search` (default: run the arch-only search)");
       app.add_option("--baseline-weight-bits", a->baseline_weight_bits,
                      "weight precision of the baseline deployment")
           ->check(CLI::Range(2, 16))
           ->capture_default_str();
       app.add_option("--baseline-act-bits", a->baseline_act_bits,
                      "activation precision of the baseline deployment")
           ->check(CLI::Range(2, 16))
           ->capture_default_str();
       recnas_cli::add_supernet_lr_option(app, a->supernet_lr);
       app.add_option("--supernet-float-share", a->supernet_float_share,
                      "share of supernet training steps in float; the others fake-quantize the "
                      "sampled path's weights at sampled precisions (1: float only)")
           ->check(CLI::Range(0.0, 1.0))
           ->capture_default_str();
       app.add_option("--supernet-activations", a->supernet_activations,
                      "in the quantized supernet steps, also fake-quantize the activations "
                      "(dense inputs, embedding rows, head input) at a sampled precision "
                      "(quantized), or keep them float (float: weights only)")
           ->check(CLI::IsMember({"quantized", "float"}))
           ->capture_default_str();
       app.add_option("--validate-top", a->validate_top,
                      "feasible candidates re-trained and checked on validation before the "
                      "winner is chosen (default: 2 at tiny, 4 otherwise; 0 or 1: the best "
                      "search score)")
           ->check(CLI::NonNegativeNumber);
       app.add_option("--tolerance", a->tolerance,
                      "feasible: supernet logloss <= baseline's + this")
           ->check(CLI::Range(0.0, 1.0))
           ->capture_default_str();
       app.add_option("--objective-weights", a->objective_weights,
                      "weights of log energy, log latency and log FLOPs (relative to the "
                      "baseline) in the co-search's score, e.g. 1,0.5,0.5")
           ->expected(3)
           ->delimiter(',')
           ->check(CLI::NonNegativeNumber)
           ->capture_default_str();
       app.add_option("--seeds", a->seeds, "re-training seeds (test logloss is their mean)")
           ->check(CLI::Range(1, 10))
           ->capture_default_str();
       app.add_option("--threads", a->threads, "threads")
           ->check(CLI::Range(1, 1024))
           ->capture_default_str();
       app.add_option("--seed", a->seed, "seed of the whole run")->capture_default_str();
       app.add_option("--out", a->out, "output folder (resumes the run it holds)")
           ->capture_default_str();
       app.add_flag("--json", a->json_out, "print one JSON object as the last line of stdout");
       app.callback([a] {
         recnas_cli::install_interrupt_handler();
         std::transform(a->budget.begin(), a->budget.end(), a->budget.begin(),
                        [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
         recnas_cli::with_option_names(
             [&] { sn::visit_space(a->space, [&]<class S>() { run<S>(*a); }); });
       });
     }}};

}  // namespace
