// recnas train: a baseline or an architecture file trained from scratch on a dataset's AutoCTR
// split (8:1:1), with a progress bar, resumable checkpoints (Ctrl-C saves one) and a summary.
#include <cstdio>
#include <filesystem>
#include <string>

#include <recnas/data/data.hpp>
#include <recnas/data/spec.hpp>
#include <recnas/search/phases.hpp>
#include <recnas/supernet/counting.hpp>
#include <recnas/supernet/json.hpp>
#include <recnas/supernet/supernet.hpp>
#include <recnas/train/baselines.hpp>
#include <recnas/train/fit.hpp>
#include <recnas/train/protocol.hpp>

#include "cli.hpp"
#include "final_training.hpp"

namespace {

namespace sn = recnas::supernet;
namespace tr = recnas::train;
namespace rd = recnas::data;

struct train_args {
  std::string model;
  std::string arch;
  std::string space = "nasrec-full";
  std::string data = "synthetic:rows=200000";
  std::string epochs = "auto";
  int max_epochs = 6;
  int patience = 2;
  long long max_steps = -1;
  long long batch = 0;  // 0: 512, or 256 when an epoch would have fewer than 40 steps
  std::string lr = "auto";
  int threads = 1;
  std::string out;
  std::uint64_t seed = 0;
  bool layernorm = false;
  // The reference's initialisation: with it DLRM on the Criteo sample trains to PyTorch's
  // level (docs/benchmarks.md, final training).
  std::string init = "reference";
  bool json = false;
};

template <class S>
void run(const train_args& o) {
  sn::architecture arch;
  std::string label;
  if (!o.arch.empty()) {
    arch = sn::read_architecture<S>(o.arch);
    label = std::filesystem::path(o.arch).filename().string();
  } else {
    arch = tr::baseline(o.model);
    label = o.model;
  }
  tr::protocol_options p;
  p.patience = o.patience;
  recnas_cli::parse_protocol_choice(o.lr, o.epochs, o.max_epochs, p);
  const auto spec = rd::parse_data_spec(o.data);
  std::fprintf(stderr, "recnas train: loading %s\n", o.data.c_str());
  const auto d = rd::open_split(spec);
  const auto shape = tr::shape_of(d.data.features());
  const auto report = sn::analyze<S>(arch, shape);
  // Weights, gradients and Adagrad's accumulator: 12 bytes per parameter (fp32).
  std::fprintf(stderr,
               "recnas train: %s: %lld parameters (%lld in %lld embedding rows; tables %s), "
               "~%.1f MB for weights, gradients and optimizer state\n",
               label.c_str(), static_cast<long long>(report.live_params),
               static_cast<long long>(report.embedding_params),
               static_cast<long long>(d.table_rows), d.tables.c_str(),
               12.0 * static_cast<double>(report.live_params) / 1e6);

  const sn::model_options mo{
      .layernorm = o.layernorm,
      .init = o.init == "recnas" ? sn::init_scheme::fan_in_uniform : sn::init_scheme::reference};
  p.fit.max_steps = o.max_steps;
  p.fit.batch_size =
      o.batch > 0 ? static_cast<recnas::index>(o.batch) : tr::final_batch_size(512, d.train.size());
  p.fit.threads = o.threads;
  p.fit.seed = o.seed;
  if (!o.out.empty()) {
    std::filesystem::create_directories(o.out);
    p.state = std::filesystem::path(o.out) / "protocol.state";
  }
  recnas_cli::printing_observer obs;
  auto outcome = recnas::search::train_from_scratch(
      "train " + label, [&] { return sn::subnet<S>(arch, shape, mo, o.seed); }, arch, d.data,
      d.train, d.val, p, obs);
  const auto& pr = outcome.result;
  if (pr.interrupted) {
    std::fprintf(stderr, "recnas train: interrupted; %s, run the same command to resume\n",
                 p.state.empty() ? "nothing saved (no --out)"
                                 : ("state saved in " + p.state.string()).c_str());
    throw recnas::error("interrupted");
  }
  const auto& net = outcome.net;
  const auto val = tr::evaluate_rows(net, arch, d.data, d.val, 4096, o.threads);
  const auto test = tr::evaluate_rows(net, arch, d.data, d.test, 4096, o.threads);
  std::printf("\n%-10s %10s %8s %11s\n", "split", "logloss", "AUC", "calibration");
  std::printf("%-10s %10.5f %8.5f %11.3f\n", "val", val.logloss, val.auc, val.calibration);
  std::printf("%-10s %10.5f %8.5f %11.3f\n", "test", test.logloss, test.auc, test.calibration);
  std::printf(
      "model %s: %.3f MFLOPs, %lld parameters (%lld in embeddings); lr %.3g and %d epoch(s) "
      "chosen on val (grid of %zu, up to %d epochs), batch %lld; %lld steps, %.0f examples/s "
      "on %d thread(s)\n",
      label.c_str(), report.mflops(), static_cast<long long>(report.live_params),
      static_cast<long long>(report.embedding_params), pr.lr, pr.epochs, p.lr_grid.size(),
      p.max_epochs, static_cast<long long>(p.fit.batch_size), static_cast<long long>(pr.steps),
      pr.examples_per_s, o.threads);
  nlohmann::json j = {{"model", label},
                      {"logloss", test.logloss},
                      {"auc", test.auc},
                      {"val_logloss", val.logloss},
                      {"val_auc", val.auc},
                      {"calibration", test.calibration},
                      {"lr", pr.lr},
                      {"epochs", pr.epochs},
                      {"protocol", recnas::search::protocol_json(pr, p)},
                      {"tables", d.tables},
                      {"table_rows", d.table_rows},
                      {"examples_per_s", pr.examples_per_s},
                      {"steps", pr.steps},
                      {"seed", o.seed},
                      {"params", report.live_params},
                      {"embedding_params", report.embedding_params},
                      {"mflops", report.mflops()},
                      {"threads", o.threads}};
  if (!o.out.empty())
    recnas_cli::write_file_atomic(std::filesystem::path(o.out) / "result.json", j.dump(2) + "\n");
  if (o.json) recnas_cli::print_json_last_line(j);
}

const recnas_cli::register_command reg{
    {"train", "train a baseline or an architecture from scratch (AutoCTR 8:1:1 split)",
     [](CLI::App& app) {
       auto a = std::make_shared<train_args>();
       auto* m = app.add_option("--model", a->model,
                                "baseline: dnn, dlrm, deepfm, autoint, dcnv2, dlrm-ref "
                                "(docs/search.md: what each one is)");
       auto* f =
           app.add_option("--arch", a->arch, "architecture JSON (recnas's or the reference's)");
       m->excludes(f);
       recnas_cli::add_space_option(app, a->space, "space of --arch");
       recnas_cli::add_data_option(app, a->data)->capture_default_str();
       app.add_option("--epochs", a->epochs,
                      "auto (early stopping on validation logloss, best epoch kept) or a fixed "
                      "number of epochs")
           ->capture_default_str();
       app.add_option("--max-epochs", a->max_epochs,
                      "with --epochs auto: epochs of the schedule (warm-up + cosine)")
           ->check(CLI::Range(1, 1000))
           ->capture_default_str();
       app.add_option("--patience", a->patience,
                      "with --epochs auto: stop after this many epochs without a better "
                      "validation logloss")
           ->check(CLI::Range(1, 1000))
           ->capture_default_str();
       app.add_option("--max-steps", a->max_steps, "stop each run after this many steps")
           ->check(CLI::Range(1LL, 1LL << 40));
       app.add_option("--batch", a->batch,
                      "batch size (default 512, or 256 when an epoch would have < 40 steps)")
           ->check(CLI::Range(1, 1 << 20));
       app.add_option("--lr", a->lr,
                      "peak Adagrad learning rate (warm-up + cosine): auto (best of 0.01, 0.03, "
                      "0.1 on validation), a number, or a comma-separated grid")
           ->capture_default_str();
       app.add_option("--threads", a->threads, "threads")
           ->check(CLI::Range(1, 1024))
           ->capture_default_str();
       app.add_option("--out", a->out, "folder for the resumable training state and result.json");
       app.add_option("--seed", a->seed, "initialisation seed")->capture_default_str();
       app.add_flag("--layernorm", a->layernorm, "LayerNorm after projections (supernet style)");
       app.add_option("--init", a->init,
                      "reference (Xavier weights, zero biases, Xavier-normal embeddings) or "
                      "recnas (U(+-1/sqrt(fan_in)), embeddings U(+-0.05))")
           ->check(CLI::IsMember({"reference", "recnas"}))
           ->capture_default_str();
       app.add_flag("--json", a->json, "print one JSON object as the last line of stdout");
       app.callback([a] {
         if (a->model.empty() && a->arch.empty())
           throw recnas::input_error("", 0, "--model", "give --model NAME or --arch FILE.json");
         recnas_cli::install_interrupt_handler();
         if (!a->model.empty()) {
           (void)tr::baseline(a->model);  // names an unknown one
           tr::visit_baseline_space(a->model, [&]<class S>() { run<S>(*a); });
         } else {
           sn::visit_space(a->space, [&]<class S>() { run<S>(*a); });
         }
       });
     }}};

}  // namespace
