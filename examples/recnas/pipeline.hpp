#pragma once
// The phases shared by `recnas search`, `recnas rank` and `recnas codesign`: budgets, the
// dataset and its AutoCTR split, supernet training with a resumable checkpoint, standalone
// (re-)training with a JSONL cache, and small file helpers (JSON lines, atomic writes).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <recnas/data/data.hpp>
#include <recnas/data/spec.hpp>
#include <recnas/pim/config.hpp>
#include <recnas/pim/policies.hpp>
#include <recnas/search/driver.hpp>
#include <recnas/search/nas.hpp>
#include <recnas/search/strategies.hpp>
#include <recnas/supernet/counting.hpp>
#include <recnas/supernet/supernet.hpp>
#include <recnas/train/fit.hpp>
#include <recnas/train/protocol.hpp>
#include <recnas/train/sampling.hpp>

#include "cli.hpp"
#include "final_training.hpp"

namespace recnas_cli {

namespace sn = recnas::supernet;
namespace tr = recnas::train;
namespace rd = recnas::data;
namespace rs = recnas::search;
namespace fs = std::filesystem;
using json = nlohmann::json;

struct budget {
  rs::evolution_settings evo;
  int supernet_epochs = 1;
  recnas::index supernet_batch = 512;
  /// How the finalists and the baselines are trained from scratch: the same protocol for all.
  tr::protocol_options final_training;
  rs::evaluator_options eval;
  int top_k = 3;
  /// Screening (0: off; on in `tiny` only, so that the tests cover it): the `screen` best
  /// distinct networks by supernet score are trained
  /// standalone with the short `screen_training` recipe, and the top_k of those by validation
  /// logloss become the finalists. It is the fallback the supernet's weak ranking on small
  /// samples needs (docs/search.md, "Screening").
  int screen = 0;
  tr::protocol_options screen_training;
};

inline budget budget_of(const std::string& name) {
  budget b;
  b.final_training.fit.batch_size = 512;
  b.screen_training.lr_grid = {0.03};  // two epochs at the grid's middle rate
  b.screen_training.max_epochs = 2;
  if (name == "tiny") {  // tests: seconds
    b.final_training.lr_grid = {0.03, 0.1};
    b.final_training.max_epochs = 2;
    b.final_training.patience = 1;
    b.evo = {.population = 8, .tournament = 4, .children = 4, .generations = 3};
    b.eval = {.batch_size = 512,
              .finetune_steps = 5,
              .finetune_warmup = 1,
              .val_batch_size = 2048,
              .val_batches = 1};
    b.top_k = 2;
    b.screen = 3;
    b.screen_training.lr_grid = {0.1};
    b.screen_training.max_epochs = 1;
  } else if (name == "small") {  // the README's main job: a few minutes on 2 cores
    b.evo = {.population = 32, .tournament = 16, .children = 8, .generations = 12};
    b.eval = {.batch_size = 512,
              .finetune_steps = 20,
              .finetune_warmup = 2,
              .val_batch_size = 4096,
              .val_batches = 3};
    b.top_k = 3;
    // Screening measured worse on both real samples (docs/benchmarks.md): off; --screen N
    // turns it on with this recipe.
    b.screen = 0;
  } else if (name == "paper") {  // nasrec-spec section 4
    b.evo = {};
    b.eval = {};
    b.top_k = 15;
  } else {
    char* end = nullptr;
    const long long n = std::strtoll(name.c_str(), &end, 10);
    if (end == name.c_str() || *end != '\0' || n < 8)
      throw recnas::input_error("", 0, "--budget",
                                "\"" + name +
                                    "\" is not SMALL, PAPER, TINY or a number >= 8 of "
                                    "candidate evaluations");
    const int pop = static_cast<int>(std::clamp<long long>(n / 4, 8, 128));
    b.evo = {.population = pop,
             .tournament = std::max(2, pop / 2),
             .children = 8,
             .generations = static_cast<int>((n - pop + 7) / 8)};
    b.eval = {.batch_size = 512,
              .finetune_steps = 50,
              .finetune_warmup = 5,
              .val_batch_size = 4096,
              .val_batches = 8};
    b.top_k = 5;
    b.screen = 0;
  }
  b.screen_training.patience = 0;  // a fixed short schedule: its last epoch is the score
  b.screen_training.fit.batch_size = 512;
  return b;
}

inline std::vector<json> read_jsonl(const fs::path& p) {
  std::vector<json> v;
  std::ifstream in(p);
  std::string line;
  long long n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    try {
      v.push_back(json::parse(line));
    } catch (const json::exception&) {
      // A line cut by a kill is the only legitimate damage: it must be the last one.
      if (in.peek() == EOF) break;
      throw recnas::input_error(p.string(), n, "", "not a JSON line (history damaged?)");
    }
  }
  return v;
}
inline void append_line(const fs::path& p, const json& j) {
  std::ofstream out(p, std::ios::app);
  out << j.dump() << '\n';
  out.flush();
}
/// The results logged in a search history (JSONL), for run_search to replay.
inline std::vector<rs::logged_result> replay_of(const fs::path& p) {
  std::vector<rs::logged_result> v;
  for (const auto& j : read_jsonl(p)) {
    rs::logged_result r;
    r.hash = j.at("hash").get<std::uint64_t>();
    r.eval.objectives = j.at("objectives").get<std::vector<double>>();
    r.eval.feasible = j.at("feasible").get<bool>();
    v.push_back(std::move(r));
  }
  return v;
}
/// Records a run's settings in `out`/settings.json, or, when the folder holds a run already,
/// refuses different settings (naming the first that differs) so a resume cannot mix runs.
inline void check_settings(const fs::path& out, const json& settings) {
  const fs::path sp = out / "settings.json";
  if (!fs::exists(sp)) {
    write_file_atomic(sp, settings.dump(2) + "\n");
    return;
  }
  const json old = sn::read_json_file(sp.string());
  for (const auto& [k, v] : settings.items())
    if (!old.contains(k) || old[k] != v)
      throw recnas::input_error(sp.string(), 0, k,
                                "this folder holds a run with " + k + " = " +
                                    (old.contains(k) ? old[k].dump() : "(not set)") + ", not " +
                                    v.dump() + "; use another --out or the same settings");
}

/// A dataset with its AutoCTR 8:1:1 split (stratified 10-fold, seed 2018) and its shape.
struct split_data {
  rd::dataset data;
  sn::data_shape shape;
  std::vector<std::uint32_t> train, val, test;
  std::string tables;
  std::int64_t table_rows = 0;
};
/// Text data without `cap=` get tables sized from the training rows (data::open_split).
inline split_data load_split(const std::string& spec) {
  auto sd = rd::open_split(rd::parse_data_spec(spec));
  if (sd.train.empty() || sd.val.empty() || sd.test.empty())
    throw recnas::input_error(spec, 0, "--data", "too few rows for a train/val/test split");
  split_data d{std::move(sd.data),  {},
               std::move(sd.train), std::move(sd.val),
               std::move(sd.test),  std::move(sd.tables),
               sd.table_rows};
  d.shape = tr::shape_of(d.data.features());
  std::fprintf(stderr,
               "data: %zu train / %zu val / %zu test rows; %lld embedding rows (%.1f MB of "
               "weights, gradients and optimizer state); tables %s\n",
               d.train.size(), d.val.size(), d.test.size(), static_cast<long long>(d.table_rows),
               12.0 * 16.0 * static_cast<double>(d.table_rows) / 1e6, d.tables.c_str());
  return d;
}

/// Small samples (e.g. the 10k-row Criteo sample) give a handful of steps per epoch, too few
/// for Adagrad at the reference's learning rate with a 10% warm-up (one step): training then
/// diverges. Below 40 steps per epoch, use batch 256 and enough epochs for >= 80 steps.
inline void adapt_recipe(tr::fit_options& fo, std::size_t train_rows) {
  const auto per_epoch = static_cast<std::int64_t>(train_rows) / fo.batch_size;
  if (per_epoch >= 40) return;
  fo.batch_size = final_batch_size(fo.batch_size, train_rows);
  const auto steps =
      std::max<std::int64_t>(1, static_cast<std::int64_t>(train_rows) / fo.batch_size);
  fo.epochs = static_cast<int>(std::clamp<std::int64_t>((80 + steps - 1) / steps, 1, 16));
}

/// Who is running and where its resumable state lives (for the interruption message).
struct run_context {
  std::string tool;
  fs::path out;
  [[noreturn]] void interrupted_exit(const std::string& what) const {
    std::fprintf(stderr,
                 "%s: interrupted during %s; progress saved in %s, run the same command to "
                 "resume\n",
                 tool.c_str(), what.c_str(), out.c_str());
    throw recnas::error("interrupted");
  }
};

/// The reference's supernet learning rate (Adagrad, eps 1e-2, cosine with 10% warm-up).
inline constexpr double reference_supernet_lr = 0.12;

/// `--supernet-lr` (search, rank, codesign).
inline void add_supernet_lr_option(CLI::App& app, double& lr) {
  app.add_option("--supernet-lr", lr,
                 "peak Adagrad learning rate of supernet training (reference: 0.12)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

/// fn.template operator()<Arch>(config) with the named PIM preset's architecture policies
/// (a type) and its configuration: isaac, neurosim, mnsim or puma.
template <class F>
decltype(auto) visit_preset(const std::string& name, F&& fn) {
  namespace pim = recnas::pim;
  if (name == "isaac") return fn.template operator()<pim::isaac_architecture>(pim::isaac_preset());
  if (name == "neurosim")
    return fn.template operator()<pim::neurosim_architecture>(pim::neurosim_preset());
  if (name == "mnsim") return fn.template operator()<pim::mnsim_architecture>(pim::mnsim_preset());
  if (name == "puma") return fn.template operator()<pim::puma_architecture>(pim::puma_preset());
  throw recnas::input_error("", 0, "--pim-preset",
                            "unknown preset \"" + name + "\" (isaac, neurosim, mnsim, puma)");
}

/// A supernet training pass's progress label and optional work around each step (see
/// train::fit_options::before_step).
struct supernet_pass {
  std::string label = "supernet";
  std::function<void(std::int64_t, const sn::architecture&)> before;
  std::function<void()> after;
};

/// Phase 1: supernet training (LayerNorm on, the chosen path sampling, full-path warm-up over
/// the first 20% of steps), resumed from / checkpointed to `ck`.
template <class S>
void train_supernet(sn::supernet<S>& super, const split_data& d, int epochs,
                    recnas::index batch_size, tr::path_strategy sampling, int threads,
                    std::uint64_t seed, const fs::path& ck, json& phases, const run_context& ctx,
                    double lr = reference_supernet_lr, supernet_pass pass = {}) {
  tr::fit_options fo;
  fo.before_step = std::move(pass.before);
  fo.after_step = std::move(pass.after);
  fo.epochs = epochs;
  fo.batch_size = batch_size;
  fo.lr = lr;
  fo.threads = threads;
  fo.seed = seed;
  fo.checkpoint = ck;
  fo.checkpoint_every = 500;
  adapt_recipe(fo, d.train.size());
  const std::int64_t steps =
      fo.epochs * (static_cast<std::int64_t>(d.train.size()) / fo.batch_size);
  tr::path_sampler<S> sampler({.strategy = sampling, .warmup_steps = steps / 5});
  std::optional<progress> bar;
  double ema = 0;
  fo.on_step = [&](std::int64_t step, std::int64_t total, const tr::step_result& r) {
    if (!bar) bar.emplace(pass.label, static_cast<double>(total * fo.batch_size), "ex");
    ema = ema == 0 ? r.loss : 0.97 * ema + 0.03 * r.loss;
    char extra[64];
    std::snprintf(extra, sizeof extra, "loss %.4f", ema);
    bar->update(static_cast<double>(step * fo.batch_size), extra);
    return !interrupted().load();
  };
  const auto fr = tr::fit(
      super, d.data, d.train,
      [&](std::int64_t step, recnas::rng& g) { return sampler.sample(g, step); }, fo);
  if (bar) bar->finish(static_cast<double>(fr.steps * fo.batch_size));
  if (fr.interrupted) ctx.interrupted_exit(pass.label + " training");
  phases["supernet_s"] = fr.seconds;
  phases["supernet_examples_per_s"] = fr.examples_per_s;
  if (fr.resumed && fr.steps_this_run == 0)
    std::fprintf(stderr, "%s: trained earlier (%lld steps), loaded from %s\n", pass.label.c_str(),
                 static_cast<long long>(fr.steps), ck.c_str());
}

/// Standalone training from scratch with the final-training protocol (learning rate and
/// epochs chosen on val), measured on val and test; results are cached by key in a JSONL file
/// (and the protocol's state under `<file>.state/`) so a resumed run does not train the same
/// model twice.
class standalone_runs {
 public:
  standalone_runs(fs::path file, const split_data& d, tr::protocol_options recipe, int threads,
                  std::uint64_t seed, run_context ctx,
                  sn::init_scheme init = sn::init_scheme::reference)
      : init_(init),
        file_(std::move(file)),
        d_(&d),
        recipe_(std::move(recipe)),
        threads_(threads),
        seed_(seed),
        ctx_(std::move(ctx)) {
    for (const auto& j : read_jsonl(file_)) done_[j.at("key").get<std::string>()] = j;
  }
  /// With `chosen` (an earlier result of this class), trains on train+val with its learning
  /// rate and epochs instead of choosing them.
  template <class S>
  json run(const sn::architecture& a, const std::string& key, const std::string& label,
           const json* chosen = nullptr) {
    if (auto it = done_.find(key); it != done_.end()) return it->second;
    const bool train_and_val = chosen != nullptr;
    std::vector<std::uint32_t> rows = d_->train;
    if (train_and_val) rows.insert(rows.end(), d_->val.begin(), d_->val.end());
    auto p = recipe_;
    p.fit.batch_size = final_batch_size(p.fit.batch_size, rows.size());
    p.fit.threads = threads_;
    p.fit.seed = seed_;
    if (train_and_val) {
      p.lr_grid = {chosen->at("lr").get<double>()};
      p.max_epochs = chosen->at("epochs").get<int>();
      p.patience = 0;
    }
    std::string name = key;
    for (char& c : name)
      if (c == ':' || c == '/') c = '_';
    p.state = fs::path(file_.string() + ".state") / name;
    const auto init = init_;
    const auto seed = seed_ + 1;
    auto outcome = run_protocol(
        label, [&] { return sn::subnet<S>(a, d_->shape, {.init = init}, seed); }, a, d_->data, rows,
        train_and_val ? std::vector<std::uint32_t>{} : d_->val, p);
    if (outcome.result.interrupted) ctx_.interrupted_exit("training " + label);
    const auto& net = outcome.net;
    const auto val = tr::evaluate_rows(net, a, d_->data, d_->val, 4096, threads_);
    const auto test = tr::evaluate_rows(net, a, d_->data, d_->test, 4096, threads_);
    const auto rep = sn::analyze<S>(a, d_->shape);
    json j = {{"key", key},
              {"label", label},
              {"val_logloss", val.logloss},
              {"val_auc", val.auc},
              {"test_logloss", test.logloss},
              {"test_auc", test.auc},
              {"trained_on", train_and_val ? "train+val" : "train"},
              {"lr", outcome.result.lr},
              {"epochs", outcome.result.epochs},
              {"protocol", protocol_json(outcome.result, p)},
              {"mflops", rep.mflops()},
              {"params", rep.live_params},
              {"examples_per_s", outcome.result.examples_per_s}};
    append_line(file_, j);
    done_[key] = j;
    std::error_code ec;  // the result is in the JSONL now
    fs::remove(p.state, ec);
    return j;
  }

 private:
  sn::init_scheme init_;
  fs::path file_;
  const split_data* d_;
  tr::protocol_options recipe_;
  int threads_;
  std::uint64_t seed_;
  run_context ctx_;
  std::map<std::string, json> done_;
};

/// "arch:<16 hex digits of the hash>", the key of an architecture in the JSONL files.
inline std::string arch_key(std::uint64_t hash) {
  char key[40];
  std::snprintf(key, sizeof key, "arch:%016llx", static_cast<unsigned long long>(hash));
  return key;
}

}  // namespace recnas_cli
