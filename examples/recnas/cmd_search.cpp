// recnas search: the project's main job (recnas::search::run_pipeline) with its options,
// progress on stderr, and the outputs: best.json, best_arch.json, pareto.json, report.html,
// a summary table and (--json) one JSON line. The run store (history.jsonl, retrain.jsonl,
// supernet.ck, settings.json) is the library's, so a killed run resumes.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <recnas/io/report.hpp>
#include <recnas/search/pipeline.hpp>
#include <recnas/supernet/json.hpp>
#include <recnas/supernet/supernet.hpp>

#include "cli.hpp"
#include "pipeline.hpp"

namespace {

namespace sn = recnas::supernet;
namespace rs = recnas::search;
namespace fs = std::filesystem;
using json = nlohmann::json;

/// The job's settings plus what only the tool has: the space's name and --json.
struct search_args {
  std::string space = "nasrec-full";
  rs::search_settings job;
  bool json_out = false;
};

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
void run(const search_args& args) {
  const auto& o = args.job;
  std::fprintf(stderr, "recnas search: space %s, data %s, budget %s, %d thread(s), out %s\n",
               std::string(S::name).c_str(), o.data.c_str(), o.budget.c_str(), o.threads,
               o.out.c_str());
  recnas_cli::printing_observer obs;
  const rs::search_result r =
      recnas_cli::with_option_names([&] { return rs::run_pipeline<S>(o, obs); });
  const fs::path& out = o.out;
  rs::write_outputs<S>(r, out);
  const auto& wj = r.winner_run;
  const auto& baseline_rows = r.baseline_runs;
  const auto& obj_names = r.objectives;
  const auto& points = r.points;
  const auto winner_metrics = r.metrics.at(r.winner.hash);

  // report.html
  {
    namespace io = recnas::io;
    io::series all{"candidates", {}, "#9aa", false, true},
        best_line{"best so far", {}, "#d62728", true, false};
    double b = INFINITY;
    for (const auto& h : r.history) {
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
      for (auto k : r.front) fp.emplace_back(points[k][m], points[k][0]);
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
    for (const auto& j : r.finalists)
      frows.push_back(
          {std::to_string(j["id"].get<long long>()), io::num(j["search_logloss"].get<double>(), 6),
           io::num(j["val_logloss"].get<double>(), 6), io::num(j["test_logloss"].get<double>(), 6),
           io::num(j["mflops"].get<double>(), 4)});
    const std::string page = io::render_page(
        "recnas search: " + std::string(S::name) + " on " + o.data,
        {{"Summary", "<p>" + std::to_string(r.history.size()) + " candidates (" +
                         std::to_string(r.evaluated) + " evaluated in this run), budget " +
                         io::escape(o.budget) + ", winner test logloss " +
                         io::num(wj["test_logloss"].get<double>(), 6) + "</p>"},
         {"Search progress", io::render_svg(progress_chart)},
         {"Pareto front", pareto_html},
         {"Best architecture", draw_architecture<S>(r.winner.candidate, r.shape)},
         {"Against the baselines (test split, same recipe)",
          io::render_table({"model", "test logloss", "test AUC", "MFLOPs", "params"}, rows)},
         {"Top-k re-training",
          io::render_table(
              {"candidate", "supernet logloss", "val logloss", "test logloss", "MFLOPs"}, frows)}});
    recnas_cli::write_file_atomic(out / "report.html", page);
  }

  std::printf("\nrecnas search: %s, %zu candidates, winner #%lld\n", std::string(S::name).c_str(),
              r.history.size(), static_cast<long long>(r.winner.id));
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
      out.c_str(), r.seconds);
  json j = {{"best_logloss", wj["test_logloss"]},
            {"best_auc", wj["test_auc"]},
            {"best_val_logloss", wj["val_logloss"]},
            {"best_mflops", wj["mflops"]},
            {"best_params", wj["params"]},
            {"best_lr", wj["lr"]},
            {"best_epochs", wj["epochs"]},
            {"best_metrics", winner_metrics},
            {"baselines", r.baselines},
            {"evaluations", r.history.size()},
            {"evaluated_this_run", r.evaluated},
            {"pareto_size", r.front.size()},
            {"screened", r.screened},
            {"phases", r.phases},
            {"seconds", r.seconds},
            {"out", out.string()}};
  if (args.json_out) recnas_cli::print_json_last_line(j);
}

const recnas_cli::register_command reg{
    {"search", "the main job: supernet training, evolution, top-k re-training, report",
     [](CLI::App& app) {
       auto a = std::make_shared<search_args>();
       recnas_cli::add_space_option(app, a->space, "search space")->capture_default_str();
       recnas_cli::add_data_option(app, a->job.data)->capture_default_str();
       app.add_option("--budget", a->job.budget, "tiny | small | paper | N (candidate evaluations)")
           ->capture_default_str();
       app.add_option("--objectives", a->job.objectives,
                      "logloss[,flops][,params][,latency][,pim-energy][,pim-latency][,pim-area]")
           ->capture_default_str();
       recnas_cli::add_supernet_lr_option(app, a->job.supernet_lr);
       app.add_option("--sampling", a->job.sampling,
                      "supernet path sampling: default, single-path, any-path")
           ->capture_default_str();
       app.add_option("--strategy", a->job.strategy, "evolution or random")->capture_default_str();
       app.add_option("--start-from", a->job.start_from,
                      "evolution's first population: none (random) or baselines (the baselines "
                      "that are members of the space, then random ones)")
           ->check(CLI::IsMember({"none", "baselines"}))
           ->capture_default_str();
       app.add_option("--max-mflops", a->job.max_mflops, "hard constraint on MFLOPs per example");
       app.add_option("--max-params", a->job.max_params,
                      "hard constraint on (non-embedding) parameters");
       app.add_option("--constraint", a->job.constraints,
                      "hard constraint NAME<=VALUE, repeatable; NAME: flops, params, latency, "
                      "pim-energy, pim-latency, pim-area");
       app.add_option("--pim-preset", a->job.pim_preset, "PIM chip of the pim-* metrics")
           ->check(recnas_cli::pim_preset_names())
           ->capture_default_str();
       app.add_option("--pim-mapping", a->job.pim_mapping, "mapping of the pim-* metrics")
           ->check(CLI::IsMember({"naive", "pim-aware"}))
           ->capture_default_str();
       app.add_option(
              "--init", a->job.init,
              "initialisation of the re-trained models: reference (Xavier; learns on the real "
              "samples, docs/search.md) or recnas (fan-in uniform)")
           ->check(CLI::IsMember({"recnas", "reference"}))
           ->capture_default_str();
       app.add_option("--final", a->job.final_fit,
                      "what the reported winner and baselines train on: train (their ranking "
                      "run) or train+val (the reference; trained again)")
           ->check(CLI::IsMember({"train", "train+val"}))
           ->capture_default_str();
       app.add_option("--top-k", a->job.top_k,
                      "candidates re-trained from scratch (default: budget's)");
       app.add_option("--screen", a->job.screen,
                      "best networks by supernet score given a short standalone training, whose "
                      "top-k become the finalists (0: off; default: budget's)")
           ->check(CLI::Range(0, 1000));
       app.add_option("--threads", a->job.threads, "threads")
           ->check(CLI::Range(1, 1024))
           ->capture_default_str();
       app.add_option("--seed", a->job.seed, "seed of the whole run")->capture_default_str();
       app.add_option("--out", a->job.out, "output folder (resumes the run it holds)")
           ->capture_default_str();
       app.add_option("--baselines", a->job.baselines,
                      "all, none, or a list of dnn,dlrm,deepfm,autoint")
           ->capture_default_str();
       app.add_option("--stop-after", a->job.stop_after,
                      "stop as Ctrl-C would after this many evaluations (resume tests)")
           ->group("");
       app.add_flag("--json", a->json_out, "print one JSON object as the last line of stdout");
       app.callback([a] {
         recnas_cli::install_interrupt_handler();
         std::string b = a->job.budget;
         std::transform(b.begin(), b.end(), b.begin(),
                        [](unsigned char c) { return std::tolower(c); });
         a->job.budget = b;
         sn::visit_space(a->space, [&]<class S>() { run<S>(*a); });
       });
     }}};

}  // namespace
