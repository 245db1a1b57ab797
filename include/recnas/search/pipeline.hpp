#pragma once
// The main job of recnas as a library call: supernet training (single-operator any-connection
// paths), evolution scored from the supernet (head fine-tuning, validation logloss), optional
// screening, top-k re-training from scratch, the hand-designed baselines trained with the same
// protocol, and the Pareto front. Every phase resumes from the run folder: the supernet from
// its checkpoint, the evolution from history.jsonl (replayed without re-evaluation),
// re-training from retrain.jsonl; settings.json refuses a resume with other settings.
//
//   recnas::search::search_settings s;
//   s.data = "criteo:train_examples.txt";
//   s.out = "run";
//   auto r = recnas::search::run_pipeline<recnas::supernet::nasrec_full>(s);
//   recnas::search::write_outputs<recnas::supernet::nasrec_full>(r, s.out);  // best.json, ...

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "recnas/core/error.hpp"
#include "recnas/search/budget.hpp"
#include "recnas/search/correlation.hpp"
#include "recnas/search/cost.hpp"
#include "recnas/search/domain.hpp"
#include "recnas/search/driver.hpp"
#include "recnas/search/nas.hpp"
#include "recnas/search/observer.hpp"
#include "recnas/search/pareto.hpp"
#include "recnas/search/phases.hpp"
#include "recnas/search/run_store.hpp"
#include "recnas/search/strategies.hpp"
#include "recnas/supernet/counting.hpp"
#include "recnas/supernet/json.hpp"
#include "recnas/supernet/supernet.hpp"
#include "recnas/train/baselines.hpp"
#include "recnas/train/sampling.hpp"

namespace recnas::search {

/// What a search job does. Named choices are the strings settings.json records, so that a
/// resumed job can be checked against the one that started the folder.
struct search_settings {
  /// A data spec: "criteo:PATH", "avazu:PATH", "kdd:PATH", "cache:PATH", "synthetic[:rows=N]".
  std::string data = "synthetic:rows=100000";
  /// tiny | small | paper | N candidate evaluations (budget_of).
  std::string budget = "small";
  /// "logloss[,flops][,params][,latency][,pim-energy][,pim-latency][,pim-area]".
  std::string objectives = "logloss,flops";
  /// Hard constraints "NAME<=VALUE" (NAME as in objectives), and two shorthands (0: none).
  std::vector<std::string> constraints;
  double max_mflops = 0;
  double max_params = 0;
  /// Supernet path sampling: default, single-path, any-path.
  std::string sampling = "default";
  double supernet_lr = reference_supernet_lr;
  /// evolution | random.
  std::string strategy = "evolution";
  /// Evolution's first population: none (random) or baselines (those members of the space).
  std::string start_from = "none";
  /// Initialisation of re-trained models: reference (Xavier) or recnas (fan-in uniform).
  std::string init = "reference";
  /// What the reported winner and baselines train on: train, or train+val (trained again).
  std::string final_fit = "train";
  /// PIM chip and mapping of the pim-* metrics (pim::preset_names; naive or pim-aware).
  std::string pim_preset = "isaac";
  std::string pim_mapping = "naive";
  /// Finalists re-trained from scratch and networks screened (-1: the budget's).
  int top_k = -1;
  int screen = -1;
  /// all, none, or a comma-separated list of train::baseline_names.
  std::string baselines = "all";
  int threads = 2;
  std::uint64_t seed = 0;
  /// The run folder (resumes the run it holds).
  std::filesystem::path out = "recnas-search";
  /// Tests: stop as an interruption would after this many evaluations (-1: never).
  long long stop_after = -1;

  /// The settings a resumed job must share, as settings.json records them.
  [[nodiscard]] nlohmann::json guard(std::string_view space) const {
    return {{"space", space},
            {"data", data},
            {"budget", budget},
            {"objectives", objectives},
            {"sampling", sampling},
            {"strategy", strategy},
            {"start_from", start_from},
            {"seed", seed},
            {"constraints", constraints},
            {"max_mflops", max_mflops},
            {"max_params", max_params},
            {"pim_preset", pim_preset},
            {"pim_mapping", pim_mapping},
            {"init", init},
            {"final", final_fit},
            {"supernet_lr", supernet_lr}};
  }
};

/// What a search job found. JSON rows are those of retrain.jsonl (val/test logloss and AUC,
/// chosen lr and epochs, protocol curve, MFLOPs, params).
struct search_result {
  std::string space;
  supernet::data_shape shape;
  /// "logloss" then the secondary objectives' metric names.
  std::vector<std::string> objectives;
  /// Every scored candidate, in order (replayed ones included).
  std::vector<scored<supernet::architecture>> history;
  std::int64_t evaluated = 0;  // in this process
  /// The finalists (id and supernet logloss added), the index of the winner among them, and
  /// the winner's entry in the history.
  std::vector<nlohmann::json> finalists;
  std::size_t winner_finalist = 0;
  scored<supernet::architecture> winner;
  /// The winner's reported row: val from its ranking run, test from the final run.
  nlohmann::json winner_run;
  /// Each baseline's row ("label" set), and name -> test logloss.
  std::vector<nlohmann::json> baseline_runs;
  nlohmann::json baselines = nlohmann::json::object();
  /// Every cost model's values by architecture hash.
  std::map<std::uint64_t, nlohmann::json> metrics;
  /// Pareto front over the feasible candidates: `points[k]` are the objectives of
  /// `history[feasible[k]]`, `front` indexes into them.
  std::vector<std::vector<double>> points;
  std::vector<std::size_t> feasible, front;
  /// The screening stage's rows (empty when off) and the phases' times and rates.
  nlohmann::json screened = nlohmann::json::array();
  nlohmann::json phases = nlohmann::json::object();
  double seconds = 0;
};

namespace detail {

inline std::vector<std::string> parse_baselines(const std::string& s) {
  std::vector<std::string> list;
  if (s == "all") {
    for (auto n : train::baseline_names) list.emplace_back(n);
  } else if (s != "none") {
    std::stringstream bs(s);
    for (std::string n; std::getline(bs, n, ',');) {
      (void)train::baseline(n);  // names the bad one
      list.push_back(n);
    }
  }
  return list;
}

inline void check_choice(const std::string& v, std::initializer_list<std::string_view> known,
                         const char* field) {
  std::string names;
  for (auto k : known) {
    if (v == k) return;
    names.append(names.empty() ? "" : ", ").append(k);
  }
  throw input_error("", 0, field, "unknown value \"" + v + "\" (" + names + ")");
}

}  // namespace detail

/// Runs (or resumes) the search job of `o` in space S; progress goes to `obs`, which may also
/// ask it to stop (interrupted_error, the state saved in o.out). The run store lives in o.out;
/// the outputs are the caller's (write_outputs).
template <class S>
search_result run_pipeline(const search_settings& o, observer& obs = silent_observer()) {
  namespace sn = supernet;
  namespace fs = std::filesystem;
  using nlohmann::json;
  const auto t_start = std::chrono::steady_clock::now();
  const budget bud = budget_of(o.budget);
  const int top_k = o.top_k >= 0 ? o.top_k : bud.top_k;
  const int screen = o.screen >= 0 ? o.screen : bud.screen;
  search_result res;
  res.space = std::string(S::name);
  auto& obj_names = res.objectives;
  obj_names.push_back("logloss");
  for (auto& m : parse_objectives(o.objectives)) obj_names.push_back(m);
  std::vector<constraint> cons;
  for (const auto& c : o.constraints) cons.push_back(parse_constraint(c));
  if (o.max_mflops > 0) cons.push_back({"mflops", o.max_mflops});
  if (o.max_params > 0) cons.push_back({"params", o.max_params});
  bool need_latency = std::find(obj_names.begin(), obj_names.end(), "cpu_ms") != obj_names.end();
  for (const auto& c : cons) need_latency = need_latency || c.metric == "cpu_ms";
  const auto sampling = train::parse_path_strategy(o.sampling);
  detail::check_choice(o.strategy, {"evolution", "random"}, "strategy");
  detail::check_choice(o.start_from, {"none", "baselines"}, "start_from");
  detail::check_choice(o.init, {"reference", "recnas"}, "init");
  detail::check_choice(o.final_fit, {"train", "train+val"}, "final");
  detail::check_choice(o.pim_mapping, {"naive", "pim-aware"}, "pim_mapping");
  const std::vector<std::string> baseline_list = detail::parse_baselines(o.baselines);
  const fs::path out = o.out;
  fs::create_directories(out);
  check_settings(out, o.guard(S::name));

  const split_data d = load_split(o.data, obs);
  const auto& data = d.data;
  const auto& shape = d.shape;
  res.shape = d.shape;
  json& phases = res.phases;

  // ---- 1. supernet training ---------------------------------------------------------------
  sn::supernet<S> super(d.shape, {.layernorm = true}, o.seed);
  record_phase(phases, train_supernet(super, d,
                                      supernet_pass_of(bud, sampling, o.supernet_lr, o.threads,
                                                       o.seed, out / "supernet.ck"),
                                      obs));

  // ---- 2. evolution ------------------------------------------------------------------------
  architecture_domain<S> domain;
  supernet_evaluator<S> evaluator(super, data, d.train, d.val, bud.eval);
  const fs::path hist_path = out / "history.jsonl";
  const auto logged = read_jsonl(hist_path);
  const std::vector<logged_result> replay = replay_of(logged);
  auto& metrics = res.metrics;
  for (const auto& j : logged)
    if (j.contains("metrics")) metrics[j.at("hash").get<std::uint64_t>()] = j["metrics"];
  // Costs run after each batch of concurrent evaluations, on this thread alone, so the
  // measured CPU latency sees an otherwise idle process.
  std::vector<any_cost_model> cost_models{any_cost_model(flops_cost<S>(shape)),
                                          any_cost_model(params_cost<S>(shape)),
                                          pim_cost_of<S>(o.pim_preset, o.pim_mapping, shape)};
  if (need_latency) cost_models.emplace_back(cpu_latency_cost<S>(shape, {.seed = o.seed}));
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
  obs.begin("evolution", static_cast<double>(total_evals), "cand");
  double best_so_far = INFINITY;
  driver_hooks<sn::architecture> hooks;
  // Encodings that prune to one network (dead blocks, unread inputs, idle operators) are
  // that network: scored once, the later ones reuse its score and costs (also after a resume,
  // from the history).
  struct network_score {
    evaluation eval;
    json metrics;
  };
  std::map<std::uint64_t, network_score> by_network;
  const auto network_of = [&](const sn::architecture& a) { return sn::pruned_hash<S>(a, shape); };
  for (const auto& j : logged) {
    evaluation e;
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
      evaluation e;
      e.objectives.push_back(std::isfinite(ms[f].logloss) ? ms[f].logloss : 1e9);
      for (std::size_t k = 1; k < obj_names.size(); ++k)
        e.objectives.push_back(m.at(obj_names[k]).get<double>());
      for (const auto& c : cons) e.feasible = e.feasible && m.at(c.metric).get<double>() <= c.max;
      by_network[network_of(fresh[f])] = {e, m};
    }
    std::vector<evaluation> ev(cands.size());
    for (std::size_t i = 0; i < cands.size(); ++i) {
      const auto& known = by_network.at(nets[i]);
      ev[i] = known.eval;
      metrics[domain.hash(cands[i])] = known.metrics;
    }
    reused += static_cast<std::int64_t>(cands.size() - fresh.size());
    return ev;
  };
  hooks.on_result = [&](const scored<sn::architecture>& r) {
    append_jsonl(hist_path, {{"id", r.id},
                             {"generation", r.generation},
                             {"hash", r.hash},
                             {"objectives", r.eval.objectives},
                             {"feasible", r.eval.feasible},
                             {"metrics", metrics[r.hash]},
                             {"arch", sn::to_json<S>(r.candidate)}});
    if (r.eval.feasible) best_so_far = std::min(best_so_far, r.eval.primary());
  };
  bool stopped_for_test = false;
  hooks.on_batch = [&](std::int64_t done) {
    char status[64];
    std::snprintf(status, sizeof status, "best %.5f", best_so_far);
    obs.advance(static_cast<double>(done), status);
    if (o.stop_after >= 0 && done >= o.stop_after) stopped_for_test = true;
    return !stopped_for_test && !obs.stop_requested();
  };
  const auto t_evo = std::chrono::steady_clock::now();
  driver_outcome<sn::architecture> outcome;
  if (o.strategy == "random") {
    random_search<architecture_domain<S>> strat(domain, total_evals, bud.evo.children, o.seed);
    outcome = run_search(strat, domain, hooks, replay);
  } else {
    std::vector<sn::architecture> initial;
    if (o.start_from == "baselines")
      for (auto n : train::baselines_in<S>())
        if (initial.size() < static_cast<std::size_t>(bud.evo.population))
          initial.push_back(train::baseline(n));
    regularized_evolution<architecture_domain<S>> strat(domain, bud.evo, o.seed,
                                                        std::move(initial));
    outcome = run_search(strat, domain, hooks, replay);
  }
  obs.end(static_cast<double>(outcome.history.size()), "");
  if (!outcome.completed) throw interrupted_error("evolution", out);
  const double evo_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_evo).count();
  phases["evolution_s"] = evo_s;
  phases["evaluations_per_s"] = outcome.evaluated > 0 ? outcome.evaluated / evo_s : 0.0;
  phases["evaluations_reused"] = reused;  // pruned to a network scored before
  if (reused > 0)
    obs.note("evolution: " + std::to_string(reused) +
             " candidate(s) pruned to a network scored before and reused its score");

  // ---- 3. top-k re-training and baselines ---------------------------------------------------
  const auto& history = outcome.history;
  std::vector<std::size_t> order;
  {
    // One entry per pruned network (the first encoding of it), so the top-k are distinct.
    std::map<std::uint64_t, std::size_t> seen;
    for (std::size_t i = 0; i < history.size(); ++i)
      if (history[i].eval.feasible) seen.emplace(network_of(history[i].candidate), i);
    for (const auto& [h, i] : seen) order.push_back(i);
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return history[a].eval.primary() < history[b].eval.primary();
    });
    const auto keep = static_cast<std::size_t>(std::max(top_k, screen));
    if (order.size() > keep) order.resize(keep);
  }
  if (order.empty())
    throw input_error("", 0, "constraints", "no evaluated candidate satisfies the constraints");
  const auto init_scheme =
      o.init == "reference" ? sn::init_scheme::reference : sn::init_scheme::fan_in_uniform;
  if (screen > top_k && order.size() > static_cast<std::size_t>(top_k)) {
    // Short standalone training ranks the supernet's best better than the supernet does on
    // small samples (docs/search.md, "Screening"); the finalists are its top_k.
    standalone_runs screener(out / "screen.jsonl", d, bud.screen_training, o.threads, o.seed, obs,
                             init_scheme);
    const auto t_sc = std::chrono::steady_clock::now();
    std::vector<double> sup, val;
    for (std::size_t r = 0; r < order.size(); ++r) {
      const auto& c = history[order[r]];
      json j =
          screener.run<S>(c.candidate, arch_key(c.hash),
                          "screen " + std::to_string(r + 1) + "/" + std::to_string(order.size()));
      sup.push_back(c.eval.primary());
      val.push_back(j["val_logloss"].get<double>());
      res.screened.push_back({{"id", c.id},
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
    const double tau = kendall_tau(sup, val);
    phases["screen_s"] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t_sc).count();
    phases["screen_kendall_tau"] = tau;  // supernet score vs short standalone training
    char line[160];
    std::snprintf(line, sizeof line,
                  "screening: %zu networks trained briefly; Kendall tau (supernet vs standalone) "
                  "%.3f; finalists: the %zu best",
                  order.size(), tau, next.size());
    obs.note(line);
    order = std::move(next);
  } else if (order.size() > static_cast<std::size_t>(top_k)) {
    order.resize(static_cast<std::size_t>(top_k));
  }
  standalone_runs retrain(out / "retrain.jsonl", d, bud.final_training, o.threads, o.seed, obs,
                          init_scheme);
  const auto t_re = std::chrono::steady_clock::now();
  auto& finalists = res.finalists;
  for (std::size_t r = 0; r < order.size(); ++r) {
    const auto& c = history[order[r]];
    json j =
        retrain.run<S>(c.candidate, arch_key(c.hash),
                       "retrain " + std::to_string(r + 1) + "/" + std::to_string(order.size()));
    j["search_logloss"] = c.eval.primary();
    j["id"] = c.id;
    finalists.push_back(j);
  }
  std::size_t win = 0;
  for (std::size_t i = 1; i < finalists.size(); ++i)
    if (finalists[i]["val_logloss"].get<double>() < finalists[win]["val_logloss"].get<double>())
      win = i;
  const auto& winner = history[order[win]];
  // Ranked on validation after training on train. With final_fit "train+val" (the reference,
  // nasrec-spec 4.2) the winner and the baselines are then trained again on train+val and
  // reported on test; by default the winner's re-training run is reported (docs/search.md:
  // the train+val runs of the README job were unstable).
  const bool train_val = o.final_fit == "train+val";
  const json final_run = train_val
                             ? retrain.run<S>(winner.candidate, "final:" + arch_key(winner.hash),
                                              "final: winner on train+val", &finalists[win])
                             : finalists[win];
  for (const auto& n : baseline_list) {
    json j = train::visit_baseline_space(n, [&]<class B>() {
      json r = retrain.template run<B>(train::baseline(n), "baseline:" + n, "baseline " + n);
      if (train_val) {
        const json chosen = r;
        r = retrain.template run<B>(train::baseline(n), "final-baseline:" + n,
                                    "final: baseline " + n + " on train+val", &chosen);
      }
      return r;
    });
    j["label"] = "baseline " + n;
    res.baselines[n] = j["test_logloss"];
    res.baseline_runs.push_back(j);
  }
  phases["retrain_s"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_re).count();

  // ---- 4. the front and the winner's row ----------------------------------------------------
  for (std::size_t i = 0; i < history.size(); ++i)
    if (history[i].eval.feasible) {
      res.points.push_back(history[i].eval.objectives);
      res.feasible.push_back(i);
    }
  res.front = pareto_front(res.points);
  res.winner_finalist = win;
  res.winner = winner;
  res.winner_run = finalists[win];  // val: trained on train; test: the final run
  res.winner_run["test_logloss"] = final_run["test_logloss"];
  res.winner_run["test_auc"] = final_run["test_auc"];
  res.winner_run["trained_on"] = final_run["trained_on"];
  res.evaluated = outcome.evaluated;
  res.history = std::move(outcome.history);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return res;
}

/// pareto.json: the objectives and the front's candidates with their objective values.
template <class S>
nlohmann::json pareto_json(const search_result& r) {
  nlohmann::json front = nlohmann::json::array();
  for (auto k : r.front) {
    const auto& h = r.history[r.feasible[k]];
    nlohmann::json p = {
        {"id", h.id}, {"hash", h.hash}, {"arch", supernet::to_json<S>(h.candidate)}};
    for (std::size_t m = 0; m < r.objectives.size(); ++m) p[r.objectives[m]] = h.eval.objectives[m];
    front.push_back(p);
  }
  return {{"objectives", r.objectives}, {"front", front}};
}

/// best.json: the winner's architecture, its test and validation figures and its costs.
template <class S>
nlohmann::json best_json(const search_result& r) {
  const auto& w = r.winner_run;
  const auto m = r.metrics.find(r.winner.hash);
  return {{"arch", supernet::to_json<S>(r.winner.candidate)},
          {"test_logloss", w["test_logloss"]},
          {"test_auc", w["test_auc"]},
          {"val_logloss", w["val_logloss"]},
          {"search_logloss", r.winner.eval.primary()},
          {"mflops", w["mflops"]},
          {"params", w["params"]},
          {"metrics", m != r.metrics.end() ? m->second : nlohmann::json(nullptr)},
          {"trained_on", w["trained_on"]}};
}

/// Writes pareto.json, best.json and best_arch.json into `folder`, each atomically.
template <class S>
void write_outputs(const search_result& r, const std::filesystem::path& folder) {
  write_file_atomic(folder / "pareto.json", pareto_json<S>(r).dump(2) + "\n");
  write_file_atomic(folder / "best.json", best_json<S>(r).dump(2) + "\n");
  write_file_atomic(folder / "best_arch.json",
                    supernet::to_json<S>(r.winner.candidate).dump(2) + "\n");
}

}  // namespace recnas::search
