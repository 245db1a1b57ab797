// recnas train: a baseline or an architecture file trained from scratch on a dataset's AutoCTR
// split (8:1:1), with a progress bar, resumable checkpoints (Ctrl-C saves one) and a summary.
#include <cstdio>
#include <filesystem>
#include <string>

#include <recnas/data/data.hpp>
#include <recnas/data/spec.hpp>
#include <recnas/supernet/counting.hpp>
#include <recnas/supernet/json.hpp>
#include <recnas/supernet/supernet.hpp>
#include <recnas/train/baselines.hpp>
#include <recnas/train/fit.hpp>

#include "cli.hpp"

namespace {

namespace sn = recnas::supernet;
namespace tr = recnas::train;
namespace rd = recnas::data;

struct train_args {
  std::string model;
  std::string arch;
  std::string space = "nasrec-full";
  std::string data = "synthetic:rows=200000";
  int epochs = 1;
  long long max_steps = -1;
  long long batch = 512;
  double lr = 0.12;
  int threads = 1;
  std::string out;
  std::uint64_t seed = 0;
  bool layernorm = false;
  std::string init = "recnas";
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
    if (o.model == "dcnv2")
      throw recnas::input_error("", 0, "--model",
                                "dcnv2 needs a cross operator, which NASRec-Full does not have "
                                "(baselines are written with the search space's operators)");
    arch = tr::baseline(o.model);
    label = o.model;
  }
  const auto spec = rd::parse_data_spec(o.data);
  std::fprintf(stderr, "recnas train: loading %s\n", o.data.c_str());
  const rd::dataset data = rd::open_dataset(spec);
  const auto shape = tr::shape_of(data.features());  // table caps: the spec's cap=N
  const auto folds = rd::stratified_folds(data.labels());
  const auto rows = [&](rd::split_part p) { return rd::rows_of(folds, p); };
  const auto report = sn::analyze<S>(arch, shape);

  sn::subnet<S> net(
      arch, shape,
      {.layernorm = o.layernorm,
       .init = o.init == "recnas" ? sn::init_scheme::fan_in_uniform : sn::init_scheme::reference},
      o.seed);
  tr::fit_options fo;
  fo.epochs = o.epochs;
  fo.max_steps = o.max_steps;
  fo.batch_size = o.batch;
  fo.lr = o.lr;
  fo.threads = o.threads;
  fo.seed = o.seed;
  if (!o.out.empty()) {
    std::filesystem::create_directories(o.out);
    fo.checkpoint = std::filesystem::path(o.out) / "checkpoint.bin";
    fo.checkpoint_every = 1000;
  }
  double loss_ema = 0;
  std::optional<recnas_cli::progress> bar;
  fo.on_step = [&](std::int64_t step, std::int64_t total, const tr::step_result& r) {
    if (!bar) bar.emplace("train " + label, static_cast<double>(total) * o.batch, "ex");
    loss_ema = loss_ema == 0 ? r.loss : 0.98 * loss_ema + 0.02 * r.loss;
    char extra[96];
    std::snprintf(extra, sizeof extra, "loss %.4f lr %.3g", loss_ema, r.lr);
    bar->update(static_cast<double>(step) * o.batch, extra);
    return !recnas_cli::interrupted();
  };
  const auto fr = tr::fit(
      net, data, rows(rd::split_part::train), [&](std::int64_t, recnas::rng&) { return arch; }, fo);
  if (bar) bar->finish(static_cast<double>(fr.steps) * o.batch);
  if (fr.interrupted) {
    std::fprintf(stderr,
                 "recnas train: interrupted at step %lld; checkpoint %s written, run the same "
                 "command to resume\n",
                 static_cast<long long>(fr.steps),
                 fo.checkpoint.empty() ? "(none: no --out)" : fo.checkpoint.c_str());
    throw recnas::error("interrupted");
  }
  const auto val = tr::evaluate_rows(net, arch, data, rows(rd::split_part::val), 4096, o.threads);
  const auto test = tr::evaluate_rows(net, arch, data, rows(rd::split_part::test), 4096, o.threads);
  std::printf("\n%-10s %10s %8s %11s\n", "split", "logloss", "AUC", "calibration");
  std::printf("%-10s %10.5f %8.5f %11.3f\n", "val", val.logloss, val.auc, val.calibration);
  std::printf("%-10s %10.5f %8.5f %11.3f\n", "test", test.logloss, test.auc, test.calibration);
  std::printf(
      "model %s: %.3f MFLOPs, %lld parameters (%lld in embeddings); %lld steps, "
      "%.0f examples/s on %d thread(s)\n",
      label.c_str(), report.mflops(), static_cast<long long>(report.live_params),
      static_cast<long long>(report.embedding_params), static_cast<long long>(fr.steps),
      fr.examples_per_s, o.threads);
  nlohmann::json j = {{"model", label},
                      {"logloss", test.logloss},
                      {"auc", test.auc},
                      {"val_logloss", val.logloss},
                      {"val_auc", val.auc},
                      {"calibration", test.calibration},
                      {"examples_per_s", fr.examples_per_s},
                      {"steps", fr.steps},
                      {"params", report.live_params},
                      {"embedding_params", report.embedding_params},
                      {"mflops", report.mflops()},
                      {"threads", o.threads}};
  if (!o.out.empty()) {
    std::FILE* f = std::fopen((std::filesystem::path(o.out) / "result.json").c_str(), "wb");
    if (f != nullptr) {
      std::fprintf(f, "%s\n", j.dump(2).c_str());
      std::fclose(f);
    }
  }
  if (o.json) recnas_cli::print_json_last_line(j);
}

const recnas_cli::register_command reg{
    {"train", "train a baseline or an architecture from scratch (AutoCTR 8:1:1 split)",
     [](CLI::App& app) {
       auto a = std::make_shared<train_args>();
       auto* m = app.add_option("--model", a->model, "baseline: dnn, dlrm, deepfm, autoint");
       auto* f =
           app.add_option("--arch", a->arch, "architecture JSON (recnas's or the reference's)");
       m->excludes(f);
       app.add_option("--space", a->space, "space of --arch: nasrec-full or nasrec-small")
           ->check(CLI::IsMember({"nasrec-full", "nasrec-small"}));
       app.add_option("--data", a->data,
                      "criteo:PATH | avazu:PATH | kdd:PATH | cache:PATH | synthetic[:rows=N]")
           ->capture_default_str();
       app.add_option("--epochs", a->epochs, "epochs")
           ->check(CLI::Range(1, 1000))
           ->capture_default_str();
       app.add_option("--max-steps", a->max_steps, "stop after this many steps");
       app.add_option("--batch", a->batch, "batch size")
           ->check(CLI::Range(1, 1 << 20))
           ->capture_default_str();
       app.add_option("--lr", a->lr, "peak Adagrad learning rate (warm-up + cosine)")
           ->check(CLI::PositiveNumber)
           ->capture_default_str();
       app.add_option("--threads", a->threads, "threads")
           ->check(CLI::Range(1, 1024))
           ->capture_default_str();
       app.add_option("--out", a->out, "folder for the checkpoint and result.json");
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
         if (a->space == "nasrec-small" && !a->arch.empty())
           run<sn::nasrec_small>(*a);
         else
           run<sn::nasrec_full>(*a);
       });
     }}};

}  // namespace
