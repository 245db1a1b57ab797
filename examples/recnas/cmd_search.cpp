// recnas search: the project's main job. Supernet training (single-operator any-connection
// paths), regularized evolution scored from the supernet (head fine-tuning, validation
// logloss), top-k re-training from scratch, the hand-designed baselines trained with the same
// recipe, and the outputs: best.json, pareto.json, history.jsonl, report.html (+ --json).
// Every phase resumes: the supernet from its checkpoint, the evolution from history.jsonl
// (replayed without re-evaluation), re-training from retrain.jsonl.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <recnas/data/data.hpp>
#include <recnas/data/spec.hpp>
#include <recnas/io/report.hpp>
#include <recnas/search/correlation.hpp>
#include <recnas/search/cost.hpp>
#include <recnas/search/driver.hpp>
#include <recnas/search/nas.hpp>
#include <recnas/search/pareto.hpp>
#include <recnas/search/strategies.hpp>
#include <recnas/supernet/counting.hpp>
#include <recnas/supernet/json.hpp>
#include <recnas/supernet/supernet.hpp>
#include <recnas/train/baselines.hpp>
#include <recnas/train/fit.hpp>
#include <recnas/train/sampling.hpp>

#include "cli.hpp"
#include "pipeline.hpp"

namespace {

using recnas_cli::append_line;
using recnas_cli::budget;
using recnas_cli::budget_of;
using recnas_cli::load_split;
using recnas_cli::read_jsonl;
using recnas_cli::run_context;
using recnas_cli::split_data;
using recnas_cli::standalone_runs;
using recnas_cli::train_supernet;
using recnas_cli::write_file_atomic;
namespace sn = recnas::supernet;
namespace tr = recnas::train;
namespace rd = recnas::data;
namespace rs = recnas::search;
namespace pim = recnas::pim;
namespace fs = std::filesystem;
using json = nlohmann::json;
using recnas::index;

struct search_args {
  std::string space = "nasrec-full";
  std::string data = "synthetic:rows=100000";
  std::string budget = "small";
  std::string objectives = "logloss,flops";
  std::string start_from = "none";
  std::string sampling = "default";
  double supernet_lr = recnas_cli::reference_supernet_lr;
  std::string strategy = "evolution";
  std::string out = "recnas-search";
  double max_mflops = 0;
  double max_params = 0;
  int threads = 2;
  int top_k = -1;
  int screen = -1;
  std::uint64_t seed = 0;
  bool json_out = false;
  std::string baselines = "all";
  std::vector<std::string> constraints;
  std::string pim_preset = "isaac";
  std::string pim_mapping = "naive";
  // Xavier (the reference): with fan-in uniform the DNN, DeepFM and AutoInt+ baselines stay at
  // the constant predictor on the Avazu sample at every learning rate of the grid.
  std::string init = "reference";
  std::string final_fit = "train";
  long long stop_after = -1;  // tests: behave as if interrupted after this many evaluations
};

/// What `--objectives` and `--constraint` may name: a user-facing alias and the metric (as
/// logged in history.jsonl) it stands for.
struct metric_name {
  std::string_view alias, metric, what;
};
constexpr std::array<metric_name, 6> metric_names{{
    {"flops", "mflops", "MFLOPs per example"},
    {"params", "params", "non-embedding parameters of the pruned model"},
    {"latency", "cpu_ms", "measured 1-thread CPU forward latency, ms per batch of 512"},
    {"pim-energy", "pim_energy_pj", "PIM energy per example, pJ"},
    {"pim-latency", "pim_latency_ns", "PIM latency per example, ns"},
    {"pim-area", "pim_area_mm2", "PIM chip area, mm^2"},
}};
std::string metric_of(const std::string& name, const std::string& field) {
  std::string known;
  for (const auto& m : metric_names) {
    if (name == m.alias || name == m.metric) return std::string(m.metric);
    known.append(known.empty() ? "" : ", ").append(m.alias);
  }
  throw recnas::input_error("", 0, field,
                            "unknown objective \"" + name + "\" (logloss, " + known + ")");
}

/// Metric names of the objectives after logloss (the primary, first).
std::vector<std::string> parse_objectives(const std::string& s) {
  std::vector<std::string> o;
  std::stringstream ss(s);
  std::string item;
  bool first = true;
  while (std::getline(ss, item, ',')) {
    if (item == "logloss") {
      if (!first)
        throw recnas::input_error("", 0, "--objectives", "logloss must come first (the primary)");
    } else {
      o.push_back(metric_of(item, "--objectives"));
    }
    first = false;
  }
  return o;
}

struct constraint {
  std::string metric;
  double max = 0;
};
/// "NAME<=VALUE", NAME an objective alias or metric name.
constraint parse_constraint(const std::string& s) {
  const auto at = s.find("<=");
  if (at == std::string::npos)
    throw recnas::input_error("", 0, "--constraint",
                              "\"" + s + "\" is not NAME<=VALUE (e.g. pim-energy<=5e5)");
  constraint c{metric_of(s.substr(0, at), "--constraint"), 0};
  const std::string v = s.substr(at + 2);
  char* end = nullptr;
  c.max = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !std::isfinite(c.max))
    throw recnas::input_error("", 0, "--constraint",
                              "\"" + v + "\" is not a number in \"" + s + "\"");
  return c;
}

/// The PIM cost model of a preset and mapping, with the preset's architecture policies.
template <class S>
rs::any_cost_model pim_cost_of(const std::string& preset, const std::string& mapping,
                               const sn::data_shape& shape) {
  return recnas_cli::visit_preset(preset, [&]<class Arch>(pim::pim_config cfg) {
    if (mapping == "pim-aware")
      return rs::any_cost_model(rs::pim_cost<S, Arch, pim::pim_aware_mapping>(shape, cfg));
    return rs::any_cost_model(rs::pim_cost<S, Arch, pim::naive_mapping>(shape, cfg));
  });
}

template <class S>
std::string draw_architecture(const sn::architecture& a, const sn::data_shape& ds) {
  const auto plan = sn::make_plan<S>(a, ds, false);
  std::vector<recnas::io::graph_node> nodes{{"s0", "stem", "dense + embeddings", 0, true}};
  std::vector<recnas::io::graph_edge> edges;
  for (int i = 0; i < S::num_blocks; ++i) {
    const auto& b = a.blocks[static_cast<std::size_t>(i)];
    const auto& p = plan.blocks[static_cast<std::size_t>(i)];
    // Built by appending: GCC 12 warns falsely (-Wrestrict) on operator+ chains here.
    std::string label = "B", detail = "d=", mergers;
    label.append(std::to_string(i)).append(" ").append(S::dense_op_name(b.dense_op));
    label.append("/").append(S::sparse_op_name(b.sparse_op));
    detail.append(std::to_string(b.d)).append(" s=").append(std::to_string(b.s));
    for (int m = 0; m < S::num_mergers; ++m)
      if (b.merger(m)) detail.append(" +").append(S::merger_name(m));
    std::string id = "s";
    id.append(std::to_string(i + 1));
    nodes.push_back({id, label, detail, i + 1, p.live()});
    for (int j = 0; j <= i; ++j) {
      std::string from = "s";
      from.append(std::to_string(j));
      if (recnas::connect::contains(b.dense_in, j)) edges.push_back({from, id, "#1f77b4", false});
      if (recnas::connect::contains(b.sparse_in, j)) edges.push_back({from, id, "#d62728", true});
    }
  }
  nodes.push_back({"head", "head", "logit", S::num_blocks + 1, true});
  edges.push_back({"s" + std::to_string(S::num_blocks), "head", "#555", false});
  return recnas::io::render_graph_svg(nodes, edges, "best architecture") +
         "<p>blue: dense inputs, red dashed: sparse inputs; grey blocks are dead (pruned).</p>";
}

template <class S>
void run(const search_args& o) {
  const auto t_start = std::chrono::steady_clock::now();
  const budget bud = budget_of(o.budget);
  const int top_k = o.top_k >= 0 ? o.top_k : bud.top_k;
  const int screen = o.screen >= 0 ? o.screen : bud.screen;
  std::vector<std::string> obj_names{"logloss"};
  for (auto& m : parse_objectives(o.objectives)) obj_names.push_back(m);
  std::vector<constraint> cons;
  for (const auto& c : o.constraints) cons.push_back(parse_constraint(c));
  if (o.max_mflops > 0) cons.push_back({"mflops", o.max_mflops});
  if (o.max_params > 0) cons.push_back({"params", o.max_params});
  bool need_latency = std::find(obj_names.begin(), obj_names.end(), "cpu_ms") != obj_names.end();
  for (const auto& c : cons) need_latency = need_latency || c.metric == "cpu_ms";
  const auto sampling = tr::parse_path_strategy(o.sampling);
  if (o.strategy != "evolution" && o.strategy != "random")
    throw recnas::input_error("", 0, "--strategy",
                              "unknown strategy \"" + o.strategy + "\" (evolution, random)");
  const fs::path out = o.out;
  fs::create_directories(out);
  {  // the settings a resumed run must share
    json settings = {{"space", S::name},
                     {"data", o.data},
                     {"budget", o.budget},
                     {"objectives", o.objectives},
                     {"sampling", o.sampling},
                     {"strategy", o.strategy},
                     {"start_from", o.start_from},
                     {"seed", o.seed},
                     {"constraints", o.constraints},
                     {"max_mflops", o.max_mflops},
                     {"max_params", o.max_params},
                     {"pim_preset", o.pim_preset},
                     {"pim_mapping", o.pim_mapping},
                     {"init", o.init},
                     {"final", o.final_fit},
                     {"supernet_lr", o.supernet_lr}};
    recnas_cli::check_settings(out, settings);
  }

  std::fprintf(stderr, "recnas search: space %s, data %s, budget %s, %d thread(s), out %s\n",
               std::string(S::name).c_str(), o.data.c_str(), o.budget.c_str(), o.threads,
               out.c_str());
  const split_data d = load_split(o.data);
  const auto& data = d.data;
  const auto& shape = d.shape;
  const auto& train_rows = d.train;
  const auto& val_rows = d.val;
  json phases = json::object();
  const run_context ctx{"recnas search", out};
  auto stop_requested = [] { return recnas_cli::interrupted().load(); };
  auto interrupted_exit = [&](const std::string& what) { ctx.interrupted_exit(what); };

  // ---- 1. supernet training ---------------------------------------------------------------
  sn::supernet<S> super(d.shape, {.layernorm = true}, o.seed);
  train_supernet(super, d, bud.supernet_epochs, bud.supernet_batch, sampling, o.threads, o.seed,
                 out / "supernet.ck", phases, ctx, o.supernet_lr);

  // ---- 2. evolution ------------------------------------------------------------------------
  rs::architecture_domain<S> domain;
  rs::supernet_evaluator<S> evaluator(super, data, train_rows, val_rows, bud.eval);
  const fs::path hist_path = out / "history.jsonl";
  const std::vector<rs::logged_result> replay = recnas_cli::replay_of(hist_path);
  std::map<std::uint64_t, json> metrics;  // by architecture hash: every cost model's values
  for (const auto& j : read_jsonl(hist_path))
    if (j.contains("metrics")) metrics[j.at("hash").get<std::uint64_t>()] = j["metrics"];
  // Costs run after each batch of concurrent evaluations, on this thread alone, so the
  // measured CPU latency sees an otherwise idle process.
  std::vector<rs::any_cost_model> cost_models{rs::any_cost_model(rs::flops_cost<S>(shape)),
                                              rs::any_cost_model(rs::params_cost<S>(shape)),
                                              pim_cost_of<S>(o.pim_preset, o.pim_mapping, shape)};
  if (need_latency) cost_models.emplace_back(rs::cpu_latency_cost<S>(shape, {.seed = o.seed}));
  auto metrics_of = [&](const sn::architecture& a) {
    json m = json::object();
    for (auto& cm : cost_models) {
      const auto v = cm.measure(a);
      for (std::size_t k = 0; k < v.size(); ++k) m[cm.names()[k]] = v[k];
    }
    return m;
  };
  const std::int64_t total_evals =
      bud.evo.population + std::int64_t{bud.evo.generations} * bud.evo.children;
  recnas_cli::progress ebar("evolution", static_cast<double>(total_evals), "cand");
  double best_so_far = INFINITY;
  rs::driver_hooks<sn::architecture> hooks;
  // Encodings that prune to one network (dead blocks, unread inputs, idle operators) are
  // that network: scored once, the later ones reuse its score and costs (also after a resume,
  // from the history).
  struct network_score {
    rs::evaluation eval;
    json metrics;
  };
  std::map<std::uint64_t, network_score> by_network;
  const auto network_of = [&](const sn::architecture& a) { return sn::pruned_hash<S>(a, shape); };
  for (const auto& j : read_jsonl(hist_path)) {
    rs::evaluation e;
    e.objectives = j.at("objectives").get<std::vector<double>>();
    e.feasible = j.at("feasible").get<bool>();
    by_network.emplace(network_of(sn::from_json<S>(j.at("arch"), hist_path.string())),
                       network_score{e, j.value("metrics", json::object())});
  }
  std::int64_t reused = 0;
  hooks.evaluate = [&](const std::vector<sn::architecture>& cands) {
    std::vector<sn::architecture> fresh;
    std::map<std::uint64_t, std::size_t> fresh_of;  // network -> index in fresh
    std::vector<std::uint64_t> nets(cands.size());
    for (std::size_t i = 0; i < cands.size(); ++i) {
      nets[i] = network_of(cands[i]);
      if (!by_network.count(nets[i]) && fresh_of.emplace(nets[i], fresh.size()).second)
        fresh.push_back(cands[i]);
    }
    const auto ms = evaluator.evaluate_all(fresh, o.threads);
    for (std::size_t f = 0; f < fresh.size(); ++f) {
      const json m = metrics_of(fresh[f]);
      rs::evaluation e;
      e.objectives.push_back(std::isfinite(ms[f].logloss) ? ms[f].logloss : 1e9);
      for (std::size_t k = 1; k < obj_names.size(); ++k)
        e.objectives.push_back(m.at(obj_names[k]).get<double>());
      for (const auto& c : cons) e.feasible = e.feasible && m.at(c.metric).get<double>() <= c.max;
      by_network[network_of(fresh[f])] = {e, m};
    }
    std::vector<rs::evaluation> ev(cands.size());
    for (std::size_t i = 0; i < cands.size(); ++i) {
      const auto& known = by_network.at(nets[i]);
      ev[i] = known.eval;
      metrics[domain.hash(cands[i])] = known.metrics;
    }
    reused += static_cast<std::int64_t>(cands.size() - fresh.size());
    return ev;
  };
  hooks.on_result = [&](const rs::scored<sn::architecture>& r) {
    append_line(hist_path, {{"id", r.id},
                            {"generation", r.generation},
                            {"hash", r.hash},
                            {"objectives", r.eval.objectives},
                            {"feasible", r.eval.feasible},
                            {"metrics", metrics[r.hash]},
                            {"arch", sn::to_json<S>(r.candidate)}});
  };
  hooks.on_batch = [&](std::int64_t done) {
    char extra[64];
    std::snprintf(extra, sizeof extra, "best %.5f", best_so_far);
    ebar.update(static_cast<double>(done), extra);
    if (o.stop_after >= 0 && done >= o.stop_after) recnas_cli::interrupted().store(true);
    return !stop_requested();
  };
  auto track_best = hooks.on_result;
  hooks.on_result = [&](const rs::scored<sn::architecture>& r) {
    track_best(r);
    if (r.eval.feasible) best_so_far = std::min(best_so_far, r.eval.primary());
  };
  const auto t_evo = std::chrono::steady_clock::now();
  rs::driver_outcome<sn::architecture> outcome;
  if (o.strategy == "random") {
    rs::random_search<rs::architecture_domain<S>> strat(domain, total_evals, bud.evo.children,
                                                        o.seed);
    outcome = rs::run_search(strat, domain, hooks, replay);
  } else {
    std::vector<sn::architecture> initial;
    if (o.start_from == "baselines")
      for (auto n : tr::baselines_in<S>())
        if (initial.size() < static_cast<std::size_t>(bud.evo.population))
          initial.push_back(tr::baseline(n));
    rs::regularized_evolution<rs::architecture_domain<S>> strat(domain, bud.evo, o.seed,
                                                                std::move(initial));
    outcome = rs::run_search(strat, domain, hooks, replay);
  }
  for (const auto& r : outcome.history)
    if (r.eval.feasible) best_so_far = std::min(best_so_far, r.eval.primary());
  ebar.finish(static_cast<double>(outcome.history.size()));
  if (!outcome.completed) interrupted_exit("evolution");
  const double evo_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_evo).count();
  phases["evolution_s"] = evo_s;
  phases["evaluations_per_s"] = outcome.evaluated > 0 ? outcome.evaluated / evo_s : 0.0;
  phases["evaluations_reused"] = reused;  // pruned to a network scored before
  if (reused > 0)
    std::fprintf(stderr,
                 "evolution: %lld candidate(s) pruned to a network scored before and "
                 "reused its score\n",
                 static_cast<long long>(reused));

  // ---- 3. top-k re-training and baselines ---------------------------------------------------
  std::vector<std::size_t> order;
  {
    // One entry per pruned network (the first encoding of it), so the top-k are distinct.
    std::map<std::uint64_t, std::size_t> seen;
    for (std::size_t i = 0; i < outcome.history.size(); ++i)
      if (outcome.history[i].eval.feasible)
        seen.emplace(network_of(outcome.history[i].candidate), i);
    for (const auto& [h, i] : seen) order.push_back(i);
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return outcome.history[a].eval.primary() < outcome.history[b].eval.primary();
    });
    const auto keep = static_cast<std::size_t>(std::max(top_k, screen));
    if (order.size() > keep) order.resize(keep);
  }
  if (order.empty())
    throw recnas::input_error("", 0, "--max-mflops",
                              "no evaluated candidate satisfies the constraints");
  const auto init_scheme =
      o.init == "reference" ? sn::init_scheme::reference : sn::init_scheme::fan_in_uniform;
  json screened = json::array();
  if (screen > top_k && order.size() > static_cast<std::size_t>(top_k)) {
    // Short standalone training ranks the supernet's best better than the supernet does on
    // small samples (docs/search.md, "Screening"); the finalists are its top_k.
    standalone_runs screener(out / "screen.jsonl", d, bud.screen_training, o.threads, o.seed, ctx,
                             init_scheme);
    const auto t_sc = std::chrono::steady_clock::now();
    std::vector<double> sup, val;
    for (std::size_t r = 0; r < order.size(); ++r) {
      const auto& c = outcome.history[order[r]];
      json j =
          screener.run<S>(c.candidate, recnas_cli::arch_key(c.hash),
                          "screen " + std::to_string(r + 1) + "/" + std::to_string(order.size()));
      sup.push_back(c.eval.primary());
      val.push_back(j["val_logloss"].get<double>());
      screened.push_back({{"id", c.id},
                          {"search_logloss", c.eval.primary()},
                          {"screen_val_logloss", j["val_logloss"]},
                          {"mflops", j["mflops"]}});
    }
    std::vector<std::size_t> by(order.size());
    for (std::size_t i = 0; i < by.size(); ++i) by[i] = i;
    std::stable_sort(by.begin(), by.end(),
                     [&](std::size_t a, std::size_t b) { return val[a] < val[b]; });
    std::vector<std::size_t> next;
    for (std::size_t i = 0; i < static_cast<std::size_t>(top_k) && i < by.size(); ++i)
      next.push_back(order[by[i]]);
    const double tau = rs::kendall_tau(sup, val);
    phases["screen_s"] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t_sc).count();
    phases["screen_kendall_tau"] = tau;  // supernet score vs short standalone training
    std::fprintf(stderr,
                 "screening: %zu networks trained briefly; Kendall tau (supernet vs standalone) "
                 "%.3f; finalists: the %zu best\n",
                 order.size(), tau, next.size());
    order = std::move(next);
  } else if (order.size() > static_cast<std::size_t>(top_k)) {
    order.resize(static_cast<std::size_t>(top_k));
  }
  standalone_runs retrain(out / "retrain.jsonl", d, bud.final_training, o.threads, o.seed, ctx,
                          init_scheme);
  const auto t_re = std::chrono::steady_clock::now();
  std::vector<json> finalists;
  for (std::size_t r = 0; r < order.size(); ++r) {
    const auto& c = outcome.history[order[r]];
    const auto key = recnas_cli::arch_key(c.hash);
    json j = retrain.run<S>(
        c.candidate, key, "retrain " + std::to_string(r + 1) + "/" + std::to_string(order.size()));
    j["search_logloss"] = c.eval.primary();
    j["id"] = c.id;
    finalists.push_back(j);
  }
  std::size_t win = 0;
  for (std::size_t i = 1; i < finalists.size(); ++i)
    if (finalists[i]["val_logloss"].get<double>() < finalists[win]["val_logloss"].get<double>())
      win = i;
  const auto& winner = outcome.history[order[win]];
  // Ranked on validation after training on train. With --final train+val (the reference,
  // nasrec-spec 4.2) the winner and the baselines are then trained again on train+val and
  // reported on test; by default the winner's re-training run is reported (docs/search.md:
  // the train+val runs of the README job were unstable).
  const bool train_val = o.final_fit == "train+val";
  const json final_run =
      train_val ? retrain.run<S>(winner.candidate, "final:" + recnas_cli::arch_key(winner.hash),
                                 "final: winner on train+val", &finalists[win])
                : finalists[win];
  json baselines = json::object();
  std::vector<json> baseline_rows;
  std::vector<std::string> baseline_list;
  if (o.baselines == "all") {
    for (auto n : tr::baseline_names) baseline_list.emplace_back(n);
  } else if (o.baselines != "none") {
    std::stringstream bs(o.baselines);
    for (std::string n; std::getline(bs, n, ',');) {
      (void)tr::baseline(n);  // names the bad one
      baseline_list.push_back(n);
    }
  }
  {
    for (const auto& n : baseline_list) {
      const auto name = n;
      json j = tr::visit_baseline_space(name, [&]<class B>() {
        json r = retrain.template run<B>(tr::baseline(name), "baseline:" + n, "baseline " + n);
        if (train_val) {
          const json chosen = r;
          r = retrain.template run<B>(tr::baseline(name), "final-baseline:" + n,
                                      "final: baseline " + n + " on train+val", &chosen);
        }
        return r;
      });
      j["label"] = "baseline " + n;
      baselines[n] = j["test_logloss"];
      baseline_rows.push_back(j);
    }
  }
  phases["retrain_s"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_re).count();

  // ---- 4. outputs ----------------------------------------------------------------------------
  std::vector<std::vector<double>> points;
  std::vector<std::size_t> feasible_idx;
  for (std::size_t i = 0; i < outcome.history.size(); ++i)
    if (outcome.history[i].eval.feasible) {
      points.push_back(outcome.history[i].eval.objectives);
      feasible_idx.push_back(i);
    }
  const auto front = rs::pareto_front(points);
  json pareto = json::array();
  for (auto k : front) {
    const auto& h = outcome.history[feasible_idx[k]];
    json p = {{"id", h.id}, {"hash", h.hash}, {"arch", sn::to_json<S>(h.candidate)}};
    for (std::size_t m = 0; m < obj_names.size(); ++m) p[obj_names[m]] = h.eval.objectives[m];
    pareto.push_back(p);
  }
  write_file_atomic(out / "pareto.json",
                    json{{"objectives", obj_names}, {"front", pareto}}.dump(2) + "\n");
  json wj = finalists[win];  // val: trained on train; test: the final run
  wj["test_logloss"] = final_run["test_logloss"];
  wj["test_auc"] = final_run["test_auc"];
  json best = {{"arch", sn::to_json<S>(winner.candidate)},
               {"test_logloss", wj["test_logloss"]},
               {"test_auc", wj["test_auc"]},
               {"val_logloss", wj["val_logloss"]},
               {"search_logloss", winner.eval.primary()},
               {"mflops", wj["mflops"]},
               {"params", wj["params"]},
               {"metrics", metrics[winner.hash]},
               {"trained_on", final_run["trained_on"]}};
  write_file_atomic(out / "best.json", best.dump(2) + "\n");
  write_file_atomic(out / "best_arch.json", sn::to_json<S>(winner.candidate).dump(2) + "\n");

  // report.html
  {
    namespace io = recnas::io;
    io::series all{"candidates", {}, "#9aa", false, true},
        best_line{"best so far", {}, "#d62728", true, false};
    double b = INFINITY;
    for (const auto& h : outcome.history) {
      const double v = h.eval.primary();
      all.points.push_back({static_cast<double>(h.id), v, "#" + std::to_string(h.id)});
      if (h.eval.feasible) b = std::min(b, v);
      if (std::isfinite(b)) best_line.points.push_back({static_cast<double>(h.id), b, ""});
    }
    io::chart progress_chart{
        "Search progress", "evaluation", "validation logloss (supernet)", {all, best_line}};
    std::string pareto_html;
    // One projection per secondary objective: logloss against it, the front's points marked.
    for (std::size_t m = 1; m < obj_names.size(); ++m) {
      io::series pts{"candidates", {}, "#9aa", false, true},
          fr{"Pareto front", {}, "#2ca02c", obj_names.size() == 2, true};
      for (std::size_t k = 0; k < points.size(); ++k)
        pts.points.push_back({points[k][m], points[k][0], ""});
      std::vector<std::pair<double, double>> fp;
      for (auto k : front) fp.emplace_back(points[k][m], points[k][0]);
      std::sort(fp.begin(), fp.end());
      for (auto [x, y] : fp) fr.points.push_back({x, y, ""});
      pareto_html += io::render_svg(
          {"Pareto front: logloss vs " + obj_names[m], obj_names[m], "logloss", {pts, fr}});
    }
    if (obj_names.size() < 2) {
      pareto_html = "<p>single objective: no front (add --objectives logloss,flops)</p>";
    }
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"searched (winner)", io::num(wj["test_logloss"].get<double>(), 6),
                    io::num(wj["test_auc"].get<double>(), 5),
                    io::num(wj["mflops"].get<double>(), 4),
                    std::to_string(wj["params"].get<long long>())});
    for (const auto& j : baseline_rows)
      rows.push_back({j["label"].get<std::string>(), io::num(j["test_logloss"].get<double>(), 6),
                      io::num(j["test_auc"].get<double>(), 5),
                      io::num(j["mflops"].get<double>(), 4),
                      std::to_string(j["params"].get<long long>())});
    std::vector<std::vector<std::string>> frows;
    for (const auto& j : finalists)
      frows.push_back(
          {std::to_string(j["id"].get<long long>()), io::num(j["search_logloss"].get<double>(), 6),
           io::num(j["val_logloss"].get<double>(), 6), io::num(j["test_logloss"].get<double>(), 6),
           io::num(j["mflops"].get<double>(), 4)});
    const std::string page = io::render_page(
        "recnas search: " + std::string(S::name) + " on " + o.data,
        {{"Summary", "<p>" + std::to_string(outcome.history.size()) + " candidates (" +
                         std::to_string(outcome.evaluated) + " evaluated in this run), budget " +
                         io::escape(o.budget) + ", winner test logloss " +
                         io::num(wj["test_logloss"].get<double>(), 6) + "</p>"},
         {"Search progress", io::render_svg(progress_chart)},
         {"Pareto front", pareto_html},
         {"Best architecture", draw_architecture<S>(winner.candidate, shape)},
         {"Against the baselines (test split, same recipe)",
          io::render_table({"model", "test logloss", "test AUC", "MFLOPs", "params"}, rows)},
         {"Top-k re-training",
          io::render_table(
              {"candidate", "supernet logloss", "val logloss", "test logloss", "MFLOPs"}, frows)}});
    write_file_atomic(out / "report.html", page);
  }

  const double total_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  std::printf("\nrecnas search: %s, %zu candidates, winner #%lld\n", std::string(S::name).c_str(),
              outcome.history.size(), static_cast<long long>(winner.id));
  std::printf("%-22s %12s %10s %9s %10s\n", "model", "test logloss", "test AUC", "MFLOPs",
              "params");
  std::printf("%-22s %12.6f %10.5f %9.4f %10lld\n", "searched (winner)",
              wj["test_logloss"].get<double>(), wj["test_auc"].get<double>(),
              wj["mflops"].get<double>(), wj["params"].get<long long>());
  for (const auto& j : baseline_rows)
    std::printf("%-22s %12.6f %10.5f %9.4f %10lld\n", j["label"].get<std::string>().c_str(),
                j["test_logloss"].get<double>(), j["test_auc"].get<double>(),
                j["mflops"].get<double>(), j["params"].get<long long>());
  std::printf(
      "outputs: %s/{best.json,best_arch.json,pareto.json,history.jsonl,report.html}; "
      "%.1f s in all\n",
      out.c_str(), total_s);
  json j = {{"best_logloss", wj["test_logloss"]},
            {"best_auc", wj["test_auc"]},
            {"best_val_logloss", wj["val_logloss"]},
            {"best_mflops", wj["mflops"]},
            {"best_params", wj["params"]},
            {"best_lr", wj["lr"]},
            {"best_epochs", wj["epochs"]},
            {"best_metrics", metrics[winner.hash]},
            {"baselines", baselines},
            {"evaluations", outcome.history.size()},
            {"evaluated_this_run", outcome.evaluated},
            {"pareto_size", front.size()},
            {"screened", screened},
            {"phases", phases},
            {"seconds", total_s},
            {"out", out.string()}};
  if (o.json_out) recnas_cli::print_json_last_line(j);
}

const recnas_cli::register_command reg{
    {"search", "the main job: supernet training, evolution, top-k re-training, report",
     [](CLI::App& app) {
       auto a = std::make_shared<search_args>();
       recnas_cli::add_space_option(app, a->space, "search space")->capture_default_str();
       app.add_option("--data", a->data,
                      "criteo:PATH | avazu:PATH | kdd:PATH | cache:PATH | synthetic[:rows=N]")
           ->capture_default_str();
       app.add_option("--budget", a->budget, "tiny | small | paper | N (candidate evaluations)")
           ->capture_default_str();
       app.add_option("--objectives", a->objectives,
                      "logloss[,flops][,params][,latency][,pim-energy][,pim-latency][,pim-area]")
           ->capture_default_str();
       recnas_cli::add_supernet_lr_option(app, a->supernet_lr);
       app.add_option("--sampling", a->sampling,
                      "supernet path sampling: default, single-path, any-path")
           ->capture_default_str();
       app.add_option("--strategy", a->strategy, "evolution or random")->capture_default_str();
       app.add_option("--start-from", a->start_from,
                      "evolution's first population: none (random) or baselines (the baselines "
                      "that are members of the space, then random ones)")
           ->check(CLI::IsMember({"none", "baselines"}))
           ->capture_default_str();
       app.add_option("--max-mflops", a->max_mflops, "hard constraint on MFLOPs per example");
       app.add_option("--max-params", a->max_params,
                      "hard constraint on (non-embedding) parameters");
       app.add_option("--constraint", a->constraints,
                      "hard constraint NAME<=VALUE, repeatable; NAME: flops, params, latency, "
                      "pim-energy, pim-latency, pim-area");
       app.add_option("--pim-preset", a->pim_preset, "PIM chip of the pim-* metrics")
           ->check(CLI::IsMember({"isaac", "neurosim", "mnsim", "puma"}))
           ->capture_default_str();
       app.add_option("--pim-mapping", a->pim_mapping, "mapping of the pim-* metrics")
           ->check(CLI::IsMember({"naive", "pim-aware"}))
           ->capture_default_str();
       app.add_option(
              "--init", a->init,
              "initialisation of the re-trained models: reference (Xavier; learns on the real "
              "samples, docs/search.md) or recnas (fan-in uniform)")
           ->check(CLI::IsMember({"recnas", "reference"}))
           ->capture_default_str();
       app.add_option("--final", a->final_fit,
                      "what the reported winner and baselines train on: train (their ranking "
                      "run) or train+val (the reference; trained again)")
           ->check(CLI::IsMember({"train", "train+val"}))
           ->capture_default_str();
       app.add_option("--top-k", a->top_k,
                      "candidates re-trained from scratch (default: budget's)");
       app.add_option("--screen", a->screen,
                      "best networks by supernet score given a short standalone training, whose "
                      "top-k become the finalists (0: off; default: budget's)")
           ->check(CLI::Range(0, 1000));
       app.add_option("--threads", a->threads, "threads")
           ->check(CLI::Range(1, 1024))
           ->capture_default_str();
       app.add_option("--seed", a->seed, "seed of the whole run")->capture_default_str();
       app.add_option("--out", a->out, "output folder (resumes the run it holds)")
           ->capture_default_str();
       app.add_option("--baselines", a->baselines,
                      "all, none, or a list of dnn,dlrm,deepfm,autoint")
           ->capture_default_str();
       app.add_option("--stop-after", a->stop_after,
                      "stop as Ctrl-C would after this many evaluations (resume tests)")
           ->group("");
       app.add_flag("--json", a->json_out, "print one JSON object as the last line of stdout");
       app.callback([a] {
         recnas_cli::install_interrupt_handler();
         std::string b = a->budget;
         std::transform(b.begin(), b.end(), b.begin(),
                        [](unsigned char c) { return std::tolower(c); });
         a->budget = b;
         sn::visit_space(a->space, [&]<class S>() { run<S>(*a); });
       });
     }}};

}  // namespace
