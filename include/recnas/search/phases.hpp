#pragma once
// The phases every job of a search is made of: the dataset with its AutoCTR split, supernet
// training with a resumable checkpoint, and standalone training from scratch with the
// final-training protocol, cached so that a resumed job does not train a model twice. The
// search pipeline (search/pipeline.hpp), the ranking study and the co-design chain share them.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "recnas/core/error.hpp"
#include "recnas/core/rng.hpp"
#include "recnas/data/data.hpp"
#include "recnas/data/spec.hpp"
#include "recnas/search/observer.hpp"
#include "recnas/search/run_store.hpp"
#include "recnas/supernet/counting.hpp"
#include "recnas/supernet/supernet.hpp"
#include "recnas/train/fit.hpp"
#include "recnas/train/protocol.hpp"
#include "recnas/train/sampling.hpp"
#include "recnas/train/trainer.hpp"

namespace recnas::search {

/// A dataset with its AutoCTR 8:1:1 split (stratified 10-fold, seed 2018) and its shape.
struct split_data {
  data::dataset data;
  supernet::data_shape shape;
  std::vector<std::uint32_t> train, val, test;
  std::string tables;  // the table-sizing rule, for people
  std::int64_t table_rows = 0;
};

/// Opens a data spec ("criteo:PATH", "synthetic:rows=N", ...) and splits it. Text data without
/// `cap=` get tables sized from the training rows (data::open_split).
inline split_data load_split(const std::string& spec, observer& obs = silent_observer()) {
  auto sd = data::open_split(data::parse_data_spec(spec));
  if (sd.train.empty() || sd.val.empty() || sd.test.empty())
    throw input_error(spec, 0, "data", "too few rows for a train/val/test split");
  split_data d{std::move(sd.data),  {},
               std::move(sd.train), std::move(sd.val),
               std::move(sd.test),  std::move(sd.tables),
               sd.table_rows};
  d.shape = train::shape_of(d.data.features());
  char line[512];
  std::snprintf(line, sizeof line,
                "data: %zu train / %zu val / %zu test rows; %lld embedding rows (%.1f MB of "
                "weights, gradients and optimizer state); tables %s",
                d.train.size(), d.val.size(), d.test.size(), static_cast<long long>(d.table_rows),
                12.0 * 16.0 * static_cast<double>(d.table_rows) / 1e6, d.tables.c_str());
  obs.note(line);
  return d;
}

/// Small samples (e.g. the 10k-row Criteo sample) give a handful of steps per epoch, too few
/// for Adagrad at the reference's learning rate with a 10% warm-up (one step): training then
/// diverges. Below 40 steps per epoch, use batch 256 and enough epochs for >= 80 steps.
inline void adapt_recipe(train::fit_options& fo, std::size_t train_rows) {
  const auto per_epoch = static_cast<std::int64_t>(train_rows) / fo.batch_size;
  if (per_epoch >= 40) return;
  fo.batch_size = train::final_batch_size(fo.batch_size, train_rows);
  const auto steps =
      std::max<std::int64_t>(1, static_cast<std::int64_t>(train_rows) / fo.batch_size);
  fo.epochs = static_cast<int>(std::clamp<std::int64_t>((80 + steps - 1) / steps, 1, 16));
}

/// The reference's supernet learning rate (Adagrad, eps 1e-2, cosine with 10% warm-up).
inline constexpr double reference_supernet_lr = 0.12;

/// One supernet training pass: its recipe, its checkpoint and optional work around each step
/// (see train::fit_options::before_step).
struct supernet_pass {
  std::string label = "supernet";
  int epochs = 1;
  index batch_size = 512;
  train::path_strategy sampling = train::path_strategy::single_op_any_connection;
  double lr = reference_supernet_lr;
  int threads = 1;
  std::uint64_t seed = 0;
  std::filesystem::path checkpoint;  // resumed from and written every 500 steps
  std::function<void(std::int64_t, const supernet::architecture&)> before;
  std::function<void()> after;
};

/// What a supernet pass measured (this process's steps only when it resumed).
struct supernet_phase {
  double seconds = 0;
  double examples_per_s = 0;
  std::int64_t steps = 0;
};

/// The folder a job's state lives in, for the interruption message.
inline std::filesystem::path state_folder(const std::filesystem::path& file) {
  return file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
}

/// Phase 1: supernet training (the pass's path sampling, full-path warm-up over the first 20%
/// of steps), resumed from / checkpointed to `pass.checkpoint`. Throws interrupted_error when
/// the observer asks to stop (after a checkpoint).
template <class S>
supernet_phase train_supernet(supernet::supernet<S>& super, const split_data& d, supernet_pass pass,
                              observer& obs = silent_observer()) {
  train::fit_options fo;
  fo.before_step = std::move(pass.before);
  fo.after_step = std::move(pass.after);
  fo.epochs = pass.epochs;
  fo.batch_size = pass.batch_size;
  fo.lr = pass.lr;
  fo.threads = pass.threads;
  fo.seed = pass.seed;
  fo.checkpoint = pass.checkpoint;
  fo.checkpoint_every = 500;
  adapt_recipe(fo, d.train.size());
  const std::int64_t steps =
      fo.epochs * (static_cast<std::int64_t>(d.train.size()) / fo.batch_size);
  train::path_sampler<S> sampler({.strategy = pass.sampling, .warmup_steps = steps / 5});
  bool open = false;
  double ema = 0;
  fo.on_step = [&](std::int64_t step, std::int64_t total, const train::step_result& r) {
    if (!open) {
      obs.begin(pass.label, static_cast<double>(total * fo.batch_size), "ex");
      open = true;
    }
    ema = ema == 0 ? r.loss : 0.97 * ema + 0.03 * r.loss;
    char status[64];
    std::snprintf(status, sizeof status, "loss %.4f", ema);
    obs.advance(static_cast<double>(step * fo.batch_size), status);
    return !obs.stop_requested();
  };
  const auto fr = train::fit(
      super, d.data, d.train, [&](std::int64_t step, rng& g) { return sampler.sample(g, step); },
      fo);
  if (open) obs.end(static_cast<double>(fr.steps * fo.batch_size), "");
  if (fr.interrupted)
    throw interrupted_error(pass.label + " training", state_folder(fo.checkpoint));
  if (fr.resumed && fr.steps_this_run == 0)
    obs.note(pass.label + ": trained earlier (" + std::to_string(fr.steps) +
             " steps), loaded from " + fo.checkpoint.string());
  return {fr.seconds, fr.examples_per_s, fr.steps};
}

/// Records a supernet pass in a job's `phases` JSON.
inline void record_phase(nlohmann::json& phases, const supernet_phase& p) {
  phases["supernet_s"] = p.seconds;
  phases["supernet_examples_per_s"] = p.examples_per_s;
}

/// The protocol's choice and validation curve as JSON.
inline nlohmann::json protocol_json(const train::protocol_result& r,
                                    const train::protocol_options& o) {
  nlohmann::json curve = nlohmann::json::array();
  for (const auto& e : r.curve)
    curve.push_back({{"lr", e.lr},
                     {"epoch", e.epoch},
                     {"val_logloss", std::isfinite(e.val_logloss) ? nlohmann::json(e.val_logloss)
                                                                  : nlohmann::json(nullptr)},
                     {"val_auc", e.val_auc}});
  return {{"lr", r.lr},
          {"epochs", r.epochs},
          {"lr_grid", o.lr_grid},
          {"max_epochs", o.max_epochs},
          {"patience", o.patience},
          {"batch_size", o.fit.batch_size},
          {"curve", curve}};
}

/// Runs the final-training protocol on network factory `make`, reporting one task per
/// learning rate (its validation curve as the status) and the choice as a note; `label` names
/// the model. An interruption is the caller's to report (result.interrupted).
template <class MakeNet>
auto train_from_scratch(const std::string& label, MakeNet&& make, const supernet::architecture& a,
                        const data::dataset& data, const std::vector<std::uint32_t>& train_rows,
                        const std::vector<std::uint32_t>& val_rows, train::protocol_options p,
                        observer& obs = silent_observer()) {
  bool open = false;
  double best_run = INFINITY;
  int best_epoch = 0;
  std::string curve;
  double lr_now = 0;
  std::int64_t done_steps = 0;
  std::string status;  // rebuilt when a score arrives, not on every step
  const auto describe = [&] {
    char e[64];
    std::snprintf(e, sizeof e, "val best %.5f @ epoch %d:", best_run, best_epoch);
    status = e + curve;
  };
  const auto close = [&] {
    if (open) obs.end(static_cast<double>(done_steps * p.fit.batch_size), status);
    open = false;
  };
  p.on_run = [&](int, double lr) {
    close();
    best_run = INFINITY;
    best_epoch = 0;
    curve.clear();
    describe();
    lr_now = lr;
  };
  auto user_step = p.fit.on_step;
  p.fit.on_step = [&](std::int64_t step, std::int64_t total, const train::step_result& r) {
    if (!open) {
      char name[96];
      std::snprintf(name, sizeof name, "%s lr %.3g", label.c_str(), lr_now);
      obs.begin(name, static_cast<double>(total) * static_cast<double>(p.fit.batch_size), "ex");
      open = true;
    }
    done_steps = step;
    obs.advance(static_cast<double>(step * p.fit.batch_size), status);
    if (user_step && !user_step(step, total, r)) return false;
    return !obs.stop_requested();
  };
  p.on_score = [&](int, double, int epoch, const train::metric_values& m, bool) {
    if (m.logloss < best_run) {
      best_run = m.logloss;
      best_epoch = epoch;
    }
    char v[24];
    std::snprintf(v, sizeof v, " %.4f", m.logloss);
    curve += v;
    describe();
  };
  auto outcome =
      train::train_with_protocol(std::forward<MakeNet>(make), a, data, train_rows, val_rows, p);
  close();
  if (!outcome.result.interrupted && !outcome.result.curve.empty()) {
    std::string grid;
    for (double lr : p.lr_grid) {
      char s[24];
      std::snprintf(s, sizeof s, "%s%.3g", grid.empty() ? "" : ",", lr);
      grid += s;
    }
    char line[256];
    std::snprintf(line, sizeof line, "%s: chose lr %.3g, %d epoch(s): val logloss %.5f (grid %s)",
                  label.c_str(), outcome.result.lr, outcome.result.epochs,
                  outcome.result.val_logloss, grid.c_str());
    obs.note(line);
  }
  return outcome;
}

/// Standalone training from scratch with the final-training protocol (learning rate and
/// epochs chosen on val), measured on val and test; results are cached by key in a JSONL file
/// (and the protocol's state under `<file>.state/`) so a resumed job does not train the same
/// model twice.
class standalone_runs {
 public:
  standalone_runs(std::filesystem::path file, const split_data& d, train::protocol_options recipe,
                  int threads, std::uint64_t seed, observer& obs = silent_observer(),
                  supernet::init_scheme init = supernet::init_scheme::reference)
      : init_(init),
        file_(std::move(file)),
        d_(&d),
        recipe_(std::move(recipe)),
        threads_(threads),
        seed_(seed),
        obs_(&obs) {
    for (const auto& j : read_jsonl(file_)) done_[j.at("key").get<std::string>()] = j;
  }
  /// With `chosen` (an earlier result of this class), trains on train+val with its learning
  /// rate and epochs instead of choosing them.
  template <class S>
  nlohmann::json run(const supernet::architecture& a, const std::string& key,
                     const std::string& label, const nlohmann::json* chosen = nullptr) {
    if (auto it = done_.find(key); it != done_.end()) return it->second;
    const bool train_and_val = chosen != nullptr;
    std::vector<std::uint32_t> rows = d_->train;
    if (train_and_val) rows.insert(rows.end(), d_->val.begin(), d_->val.end());
    auto p = recipe_;
    p.fit.batch_size = train::final_batch_size(p.fit.batch_size, rows.size());
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
    p.state = std::filesystem::path(file_.string() + ".state") / name;
    const auto init = init_;
    const auto seed = seed_ + 1;
    auto outcome = train_from_scratch(
        label, [&] { return supernet::subnet<S>(a, d_->shape, {.init = init}, seed); }, a, d_->data,
        rows, train_and_val ? std::vector<std::uint32_t>{} : d_->val, p, *obs_);
    if (outcome.result.interrupted)
      throw interrupted_error("training " + label, state_folder(file_));
    const auto& net = outcome.net;
    const auto val = train::evaluate_rows(net, a, d_->data, d_->val, 4096, threads_);
    const auto test = train::evaluate_rows(net, a, d_->data, d_->test, 4096, threads_);
    const auto rep = supernet::analyze<S>(a, d_->shape);
    nlohmann::json j = {{"key", key},
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
    append_jsonl(file_, j);
    done_[key] = j;
    std::error_code ec;  // the result is in the JSONL now
    std::filesystem::remove(p.state, ec);
    return j;
  }

 private:
  supernet::init_scheme init_;
  std::filesystem::path file_;
  const split_data* d_;
  train::protocol_options recipe_;
  int threads_;
  std::uint64_t seed_;
  observer* obs_;
  std::map<std::string, nlohmann::json> done_;
};

}  // namespace recnas::search
