// recnas rank: how well does the supernet rank architectures? Trains a supernet with a path
// sampling strategy, scores N random subnets from it (with or without head fine-tuning), trains
// the same N from scratch, and reports Kendall's tau and Spearman's rho between the two
// loglosses (the reference's ablation). Resumable: supernet checkpoint + rank.jsonl.
#include <cstdio>
#include <string>
#include <vector>

#include <recnas/io/report.hpp>
#include <recnas/search/correlation.hpp>
#include <recnas/supernet/json.hpp>

#include "cli.hpp"
#include "pipeline.hpp"

namespace {

namespace sn = recnas::supernet;
namespace tr = recnas::train;
namespace rs = recnas::search;
namespace fs = std::filesystem;
using json = nlohmann::json;

struct rank_args {
  std::string space = "nasrec-full";
  std::string data = "synthetic:rows=100000";
  std::string budget = "small";
  std::string sampling = "default";
  double supernet_lr = rs::reference_supernet_lr;
  int subnets = 24;
  long long finetune_steps = -1;
  int threads = 2;
  std::uint64_t seed = 0;
  std::string out = "recnas-rank";
  bool json_out = false;
};

template <class S>
void run(const rank_args& o) {
  const fs::path out = fs::path(o.out) / o.sampling;
  fs::create_directories(out);
  auto bud = rs::budget_of(o.budget);
  if (o.finetune_steps >= 0) bud.eval.finetune_steps = o.finetune_steps;
  const auto sampling = tr::parse_path_strategy(o.sampling);
  recnas_cli::printing_observer obs;
  const auto d = rs::load_split(o.data, obs);
  json phases = json::object();
  sn::supernet<S> super(d.shape, {.layernorm = true}, o.seed);
  rs::record_phase(phases,
                   rs::train_supernet(super, d,
                                      rs::supernet_pass_of(bud, sampling, o.supernet_lr, o.threads,
                                                           o.seed, out / "supernet.ck"),
                                      obs));
  rs::architecture_domain<S> dom;
  recnas::rng g = recnas::rng::stream(o.seed, 0x4A4E);
  std::vector<sn::architecture> cands;
  for (int i = 0; i < o.subnets; ++i) cands.push_back(dom.random(g));
  rs::supernet_evaluator<S> ev(super, d.data, d.train, d.val, bud.eval);
  obs.note("scoring " + std::to_string(o.subnets) + " subnets from the supernet...");
  const auto est = ev.evaluate_all(cands, o.threads);
  rs::standalone_runs runs(out / "rank.jsonl", d, bud.final_training, o.threads, o.seed, obs);
  // The short standalone training of a search's screening stage, ranked the same way.
  rs::standalone_runs screen(out / "screen.jsonl", d, bud.screen_training, o.threads, o.seed, obs);
  std::vector<double> x, y, t, sc;
  json pairs = json::array();
  for (int i = 0; i < o.subnets; ++i) {
    const auto& a = cands[static_cast<std::size_t>(i)];
    const auto tag = std::to_string(i + 1) + "/" + std::to_string(o.subnets);
    const json j = runs.run<S>(a, rs::arch_key(a.hash()), "subnet " + tag);
    x.push_back(est[static_cast<std::size_t>(i)].logloss);
    y.push_back(j["val_logloss"].get<double>());
    t.push_back(j["test_logloss"].get<double>());
    const json k = screen.run<S>(a, rs::arch_key(a.hash()), "screen " + tag);
    sc.push_back(k["val_logloss"].get<double>());
    pairs.push_back({{"hash", a.hash()},
                     {"supernet_logloss", x.back()},
                     {"standalone_val_logloss", y.back()},
                     {"standalone_test_logloss", t.back()},
                     {"mflops", j["mflops"]}});
    pairs.back()["screen_val_logloss"] = sc.back();
  }
  const double tau = rs::kendall_tau(x, y), rho = rs::spearman(x, y);
  // The ceiling any proxy is judged against: how well validation ranks the fully trained
  // models on test (1,000 rows each on the real samples).
  const double tau_val_test = rs::kendall_tau(y, t);
  const double tau_screen = rs::kendall_tau(sc, y);
  std::printf("\nrecnas rank: %s, sampling %s, %d subnets, head fine-tuning %lld steps\n",
              std::string(S::name).c_str(), o.sampling.c_str(), o.subnets,
              static_cast<long long>(bud.eval.finetune_steps));
  std::printf("%-4s %18s %22s\n", "#", "supernet logloss", "standalone val logloss");
  for (std::size_t i = 0; i < x.size(); ++i)
    std::printf("%-4zu %18.6f %22.6f\n", i + 1, x[i], y[i]);
  std::printf("Kendall tau %.3f, Spearman rho %.3f (supernet vs standalone validation)\n", tau,
              rho);
  std::printf(
      "Kendall tau %.3f (short standalone training, the search's screening, vs "
      "standalone validation)\n",
      tau_screen);
  std::printf("Kendall tau %.3f (standalone validation vs standalone test: the noise ceiling)\n",
              tau_val_test);
  recnas::io::series pts{"subnets", {}, "#1f77b4", false, true};
  for (std::size_t i = 0; i < x.size(); ++i)
    pts.points.push_back({x[i], y[i], "#" + std::to_string(i + 1)});
  recnas_cli::write_file_atomic(
      out / "rank.html",
      recnas::io::render_page(
          "recnas rank: " + std::string(S::name) + ", " + o.sampling,
          {{"Ranking", "<p>Kendall tau " + recnas::io::num(tau, 3) + ", Spearman rho " +
                           recnas::io::num(rho, 3) + " over " + std::to_string(x.size()) +
                           " subnets</p>" +
                           recnas::io::render_svg({"supernet vs standalone",
                                                   "supernet logloss",
                                                   "standalone validation logloss",
                                                   {pts}})}}));
  json j = {{"kendall_tau", tau},
            {"spearman", rho},
            {"kendall_tau_val_test", tau_val_test},
            {"subnets", o.subnets},
            {"sampling", o.sampling},
            {"space", S::name},
            {"pairs", pairs},
            {"finetune_steps", bud.eval.finetune_steps}};
  j["kendall_tau_screen"] = tau_screen;
  recnas_cli::write_file_atomic(out / "rank.json", j.dump(2) + "\n");
  if (o.json_out) recnas_cli::print_json_last_line(j);
}

const recnas_cli::register_command reg{
    {"rank", "ranking quality of the supernet: Kendall tau / Spearman vs training from scratch",
     [](CLI::App& app) {
       auto a = std::make_shared<rank_args>();
       recnas_cli::add_space_option(app, a->space, "search space")->capture_default_str();
       recnas_cli::add_data_option(app, a->data)->capture_default_str();
       app.add_option("--budget", a->budget,
                      "tiny | small | paper | N (sets the evaluation recipe)")
           ->capture_default_str();
       recnas_cli::add_supernet_lr_option(app, a->supernet_lr);
       app.add_option("--sampling", a->sampling, "default, single-path or any-path")
           ->capture_default_str();
       app.add_option("--subnets", a->subnets, "random subnets to compare")
           ->check(CLI::Range(3, 100000))
           ->capture_default_str();
       app.add_option("--finetune-steps", a->finetune_steps,
                      "head fine-tuning steps (default: budget's; 0: none)");
       app.add_option("--threads", a->threads, "threads")
           ->check(CLI::Range(1, 1024))
           ->capture_default_str();
       app.add_option("--seed", a->seed, "seed")->capture_default_str();
       app.add_option("--out", a->out, "output folder (one subfolder per sampling)")
           ->capture_default_str();
       app.add_flag("--json", a->json_out, "print one JSON object as the last line of stdout");
       app.callback([a] {
         recnas_cli::install_interrupt_handler();
         recnas_cli::with_option_names(
             [&] { sn::visit_space(a->space, [&]<class S>() { run<S>(*a); }); });
       });
     }}};

}  // namespace
