// recnas codesign: architecture + PIM configuration co-search and the measured gain over the
// architecture-only design (recnas::codesign::run_codesign, docs/codesign.md), with its options,
// progress on stderr and the outputs: DIR/{report.html, codesign.json, pareto.json}, --json.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <recnas/codesign/pipeline.hpp>
#include <recnas/io/report.hpp>
#include <recnas/supernet/spaces.hpp>

#include "cli.hpp"
#include "pipeline.hpp"

namespace {

namespace sn = recnas::supernet;
namespace cd = recnas::codesign;
namespace fs = std::filesystem;

struct codesign_args {
  std::string space = "nasrec-full";
  cd::codesign_settings job;
  bool json_out = false;
};

template <class S>
void run(const codesign_args& args) {
  const auto& o = args.job;
  std::fprintf(stderr, "recnas codesign: space %s, preset %s, data %s, budget %s, out %s\n",
               std::string(S::name).c_str(), o.preset.c_str(), o.data.c_str(), o.budget.c_str(),
               o.out.c_str());
  recnas_cli::printing_observer obs;
  const cd::codesign_result r = cd::run_codesign<S>(o, obs);
  const fs::path& out = o.out;
  cd::write_outputs(r, out);
  {
    namespace io = recnas::io;
    auto front_chart = [&](std::size_t m, const std::string& xl) {
      io::series all{"candidates", {}, "#9aa", false, true},
          fr{"Pareto front (5 objectives)", {}, "#2ca02c", false, true},
          base{"baseline",
               {{r.base_cost.energy_pj, r.base_q_loss, "baseline"}},
               "#d62728",
               false,
               true},
          w{"winner", {}, "#1f77b4", false, true};
      if (m == 3) base.points[0].x = r.base_cost.latency_ns;
      for (const auto& h : r.history)
        if (h.eval.objectives[1] < 1e8)
          all.points.push_back(
              {h.eval.objectives[m], h.eval.objectives[1], "#" + std::to_string(h.id)});
      for (auto k : r.front) fr.points.push_back({r.points[k][m - 1], r.points[k][0], ""});
      w.points.push_back({r.winner.eval.objectives[m], r.winner.eval.objectives[1], "winner"});
      return io::render_svg(
          {"logloss vs " + xl, xl, "supernet validation logloss (quantized)", {all, fr, base, w}});
    };
    const auto& wh = r.winner.candidate.hw;
    std::string bits;
    for (int b : wh.weight_bits) bits += std::to_string(b) + " ";
    const std::vector<std::vector<std::string>> rows = {
        {"baseline (arch-only, naive, " + std::to_string(o.baseline_weight_bits) + "/" +
             std::to_string(o.baseline_act_bits) + " b)",
         io::num(r.base_test, 6), io::num(r.base_cost.mflops, 4), io::num(r.base_cost.energy_pj, 5),
         io::num(r.base_cost.latency_ns, 5), io::num(r.base_cost.area_mm2, 4)},
        {"co-designed", io::num(r.co_test, 6), io::num(r.co_cost.mflops, 4),
         io::num(r.co_cost.energy_pj, 5), io::num(r.co_cost.latency_ns, 5),
         io::num(r.co_cost.area_mm2, 4)},
        {"gain", io::num(r.co_test - r.base_test, 3), io::num(r.flops_gain, 3) + "x",
         io::num(r.energy_gain, 3) + "x", io::num(r.latency_gain, 3) + "x", ""}};
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
    recnas_cli::write_file_atomic(out / "report.html", page);
  }
  std::printf("\nrecnas codesign: %s on %s, %zu co-search candidates\n",
              std::string(S::name).c_str(), o.data.c_str(), r.history.size());
  std::printf("%-14s %12s %9s %12s %11s\n", "model", "test logloss", "MFLOPs", "energy pJ",
              "latency ns");
  std::printf("%-14s %12.6f %9.4f %12.4g %11.4g\n", "baseline", r.base_test, r.base_cost.mflops,
              r.base_cost.energy_pj, r.base_cost.latency_ns);
  std::printf("%-14s %12.6f %9.4f %12.4g %11.4g\n", "co-designed", r.co_test, r.co_cost.mflops,
              r.co_cost.energy_pj, r.co_cost.latency_ns);
  std::printf("gains: FLOPs %.2fx, energy %.2fx, latency %.2fx; test logloss %+.5f (%d seed%s)\n",
              r.flops_gain, r.energy_gain, r.latency_gain, r.co_test - r.base_test, o.seeds,
              o.seeds > 1 ? "s" : "");
  std::printf("outputs: %s/{codesign.json,pareto.json,history.jsonl,report.html}\n", out.c_str());
  if (args.json_out) recnas_cli::print_json_last_line(r.document);
}

const recnas_cli::register_command reg{
    {"codesign", "co-search of architecture and PIM configuration; gain over the arch-only model",
     [](CLI::App& app) {
       auto a = std::make_shared<codesign_args>();
       recnas_cli::add_space_option(app, a->space, "search space")->capture_default_str();
       app.add_option("--pim-preset", a->job.preset, "PIM chip: isaac, neurosim, mnsim or puma")
           ->check(recnas_cli::pim_preset_names())
           ->capture_default_str();
       recnas_cli::add_data_option(app, a->job.data)->capture_default_str();
       app.add_option("--budget", a->job.budget, "tiny | small | N (co-search evaluations)")
           ->capture_default_str();
       app.add_option("--baseline-arch", a->job.baseline_arch,
                      "best_arch.json of `recnas search` (default: run the arch-only search)");
       app.add_option("--baseline-weight-bits", a->job.baseline_weight_bits,
                      "weight precision of the baseline deployment")
           ->check(CLI::Range(2, 16))
           ->capture_default_str();
       app.add_option("--baseline-act-bits", a->job.baseline_act_bits,
                      "activation precision of the baseline deployment")
           ->check(CLI::Range(2, 16))
           ->capture_default_str();
       recnas_cli::add_supernet_lr_option(app, a->job.supernet_lr);
       app.add_option("--supernet-float-share", a->job.supernet_float_share,
                      "share of supernet training steps in float; the others fake-quantize the "
                      "sampled path's weights at sampled precisions (1: float only)")
           ->check(CLI::Range(0.0, 1.0))
           ->capture_default_str();
       app.add_option("--supernet-activations", a->job.supernet_activations,
                      "in the quantized supernet steps, also fake-quantize the activations "
                      "(dense inputs, embedding rows, head input) at a sampled precision "
                      "(quantized), or keep them float (float: weights only)")
           ->check(CLI::IsMember({"quantized", "float"}))
           ->capture_default_str();
       app.add_option("--validate-top", a->job.validate_top,
                      "feasible candidates re-trained and checked on validation before the "
                      "winner is chosen (default: 2 at tiny, 4 otherwise; 0 or 1: the best "
                      "search score)")
           ->check(CLI::NonNegativeNumber);
       app.add_option("--tolerance", a->job.tolerance,
                      "feasible: supernet logloss <= baseline's + this")
           ->check(CLI::Range(0.0, 1.0))
           ->capture_default_str();
       app.add_option("--objective-weights", a->job.objective_weights,
                      "weights of log energy, log latency and log FLOPs (relative to the "
                      "baseline) in the co-search's score, e.g. 1,0.5,0.5")
           ->expected(3)
           ->delimiter(',')
           ->check(CLI::NonNegativeNumber)
           ->capture_default_str();
       app.add_option("--seeds", a->job.seeds, "re-training seeds (test logloss is their mean)")
           ->check(CLI::Range(1, 10))
           ->capture_default_str();
       app.add_option("--threads", a->job.threads, "threads")
           ->check(CLI::Range(1, 1024))
           ->capture_default_str();
       app.add_option("--seed", a->job.seed, "seed of the whole run")->capture_default_str();
       app.add_option("--out", a->job.out, "output folder (resumes the run it holds)")
           ->capture_default_str();
       app.add_flag("--json", a->json_out, "print one JSON object as the last line of stdout");
       app.callback([a] {
         recnas_cli::install_interrupt_handler();
         std::transform(a->job.budget.begin(), a->job.budget.end(), a->job.budget.begin(),
                        [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
         recnas_cli::with_option_names(
             [&] { sn::visit_space(a->space, [&]<class S>() { run<S>(*a); }); });
       });
     }}};

}  // namespace
