#pragma once
// The final-training protocol: how a model is trained from scratch once its architecture is
// chosen, the same for a search's winner, its finalists and every baseline. The learning rate
// comes from a small log-spaced grid and the number of epochs from early stopping, both judged
// on validation logloss only (the test split is never looked at); the weights of the best
// (learning rate, epoch) are the result. Every run uses warm-up + cosine over `max_epochs`, so
// an epoch's weights do not depend on whether training went on after it. Resumable: with a
// state file, every epoch's scores and the best weights so far are checkpointed atomically
// beside fit's own checkpoint of the current run.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "recnas/core/error.hpp"
#include "recnas/data/dataset.hpp"
#include "recnas/data/stream.hpp"
#include "recnas/train/checkpoint.hpp"
#include "recnas/train/fit.hpp"
#include "recnas/train/trainer.hpp"

namespace recnas::train {

/// The default grid: Adagrad learning rates a factor ~3 apart around the two that work on CTR
/// data (0.01 for the NASRec subnets on small samples, 0.1 for DLRM; pytorch-comparison.md).
/// Small samples give a handful of steps per epoch; below 40 steps of the given batch per epoch
/// the protocol uses batch 256 (the PyTorch reference's recipe on the Criteo sample).
[[nodiscard]] inline index final_batch_size(index batch, std::size_t train_rows) {
  if (static_cast<std::int64_t>(train_rows) / batch >= 40) return batch;
  return std::min<index>(batch, 256);
}

inline const std::vector<double>& default_lr_grid() {
  static const std::vector<double> g = {0.01, 0.03, 0.1};
  return g;
}

struct protocol_options {
  /// Learning rates tried (one value: fixed). Each gets its own run from the same initial
  /// weights.
  std::vector<double> lr_grid = default_lr_grid();
  /// Epochs of the schedule; the best epoch by validation logloss is kept.
  int max_epochs = 6;
  /// Stop a run after this many epochs without a better validation logloss than the run's
  /// best (0: no early stopping; every run trains max_epochs and its last epoch is its result,
  /// which is what a fixed --epochs means).
  int patience = 2;
  /// Batch, clipping, schedule shape, threads and seed; lr, epochs, on_epoch and checkpoint
  /// are the protocol's. on_step still reports progress (and can interrupt).
  fit_options fit;
  index eval_batch = 4096;
  /// Resumable state (empty: none): `state` holds the scores and best weights, `state`.runN
  /// the current run's checkpoint.
  std::filesystem::path state;
  /// Called when a run starts (run index, its learning rate) and after every evaluated epoch.
  std::function<void(int, double)> on_run;
  std::function<void(int, double, int, const metric_values&, bool)> on_score;
};

/// One evaluated epoch of one run.
struct epoch_score {
  int run = 0;
  double lr = 0.0;
  int epoch = 0;
  double val_logloss = 0.0;
  double val_auc = 0.0;
};

struct protocol_result {
  double lr = 0.0;  // chosen
  int epochs = 0;   // chosen (epochs trained for the kept weights)
  double val_logloss = std::numeric_limits<double>::infinity();
  double val_auc = 0.0;
  std::vector<epoch_score> curve;  // every evaluated epoch, runs in grid order
  std::int64_t steps = 0;          // over all runs
  double seconds = 0.0;
  double examples_per_s = 0.0;
  bool interrupted = false;
};

/// A trained network and how it was chosen.
template <class Net>
struct protocol_outcome {
  Net net;
  protocol_result result;
};

/// Trains `make()` (a fresh network of architecture `a`, same initial weights at every call) on
/// `train_rows` with every learning rate of the grid, scores each epoch on `val_rows`, and
/// returns the network holding the best weights.
template <class MakeNet>
[[nodiscard]] auto train_with_protocol(MakeNet&& make, const supernet::architecture& a,
                                       const data::dataset& data,
                                       const std::vector<std::uint32_t>& train_rows,
                                       const std::vector<std::uint32_t>& val_rows,
                                       const protocol_options& o)
    -> protocol_outcome<decltype(make())> {
  using Net = decltype(make());
  if (o.lr_grid.empty()) throw input_error("", 0, "lr", "the learning-rate grid is empty");
  for (double lr : o.lr_grid)
    if (!std::isfinite(lr) || lr <= 0)
      throw input_error("", 0, "lr",
                        "learning rates must be finite and > 0, got " + std::to_string(lr));
  if (o.max_epochs < 1) throw input_error("", 0, "epochs", "at least one epoch is needed");
  if (val_rows.empty() && (o.lr_grid.size() > 1 || o.patience > 0))
    throw input_error("", 0, "val", "choosing the learning rate or epochs needs validation rows");
  const int runs = static_cast<int>(o.lr_grid.size());

  // Saved state: scores of every evaluated epoch, runs finished, the best weights.
  protocol_result res;
  std::vector<char> run_done(static_cast<std::size_t>(runs), 0);
  std::vector<float> best;
  int best_run = -1, best_epoch = 0;
  double best_val = std::numeric_limits<double>::infinity();
  const auto run_ck = [&](int run) {
    return std::filesystem::path(o.state.string() + ".run" + std::to_string(run));
  };
  const auto save_state = [&] {
    if (o.state.empty()) return;
    checkpoint ck;
    std::vector<double> rows;
    for (const auto& e : res.curve)
      rows.insert(rows.end(), {static_cast<double>(e.run), e.lr, static_cast<double>(e.epoch),
                               e.val_logloss, e.val_auc});
    ck.put<double>("curve", rows);
    ck.put<char>("run_done", run_done);
    ck.put<float>("best", best);
    ck.put_value("best_run", best_run);
    ck.put_value("best_epoch", best_epoch);
    ck.put_value("best_val", best_val);
    ck.put<double>("lr_grid", o.lr_grid);
    ck.put_value("max_epochs", o.max_epochs);
    ck.put_value("patience", o.patience);
    if (!o.state.parent_path().empty()) std::filesystem::create_directories(o.state.parent_path());
    ck.save(o.state);
  };
  const auto record = [&](const epoch_score& e) {
    for (auto& c : res.curve)
      if (c.run == e.run && c.epoch == e.epoch) {
        c = e;  // re-done after a resume: the same value
        return;
      }
    res.curve.push_back(e);
  };
  if (!o.state.empty() && std::filesystem::exists(o.state)) {
    const auto ck = checkpoint::load(o.state);
    std::vector<double> grid(ck.bytes("lr_grid").size() / sizeof(double));
    ck.get<double>("lr_grid", grid);
    if (grid != o.lr_grid || ck.get_value<int>("max_epochs") != o.max_epochs ||
        ck.get_value<int>("patience") != o.patience)
      throw input_error(o.state.string(), 0, "lr_grid",
                        "this training state was written with another learning-rate grid, "
                        "epoch count or patience; remove it or use the same settings");
    std::vector<double> rows(ck.bytes("curve").size() / sizeof(double));
    ck.get<double>("curve", rows);
    for (std::size_t i = 0; i + 5 <= rows.size(); i += 5)
      res.curve.push_back({static_cast<int>(rows[i]), rows[i + 1], static_cast<int>(rows[i + 2]),
                           rows[i + 3], rows[i + 4]});
    ck.get<char>("run_done", run_done);
    best.resize(ck.bytes("best").size() / sizeof(float));
    ck.get<float>("best", best);
    best_run = ck.get_value<int>("best_run");
    best_epoch = ck.get_value<int>("best_epoch");
    best_val = ck.get_value<double>("best_val");
  }

  const auto t0 = std::chrono::steady_clock::now();
  for (int run = 0; run < runs; ++run) {
    if (run_done[static_cast<std::size_t>(run)] != 0) continue;
    const double lr = o.lr_grid[static_cast<std::size_t>(run)];
    if (o.on_run) o.on_run(run, lr);
    Net net = make();
    double run_best = std::numeric_limits<double>::infinity();
    int since_best = 0;
    for (const auto& c : res.curve)  // epochs of this run scored before an interruption
      if (c.run == run) {
        if (c.val_logloss < run_best) {
          run_best = c.val_logloss;
          since_best = 0;
        } else {
          ++since_best;
        }
      }
    fit_options fo = o.fit;
    fo.lr = lr;
    fo.epochs = o.max_epochs;
    fo.checkpoint = o.state.empty() ? std::filesystem::path{} : run_ck(run);
    fo.checkpoint_each_epoch = !o.state.empty();
    const auto score = [&](int epoch, bool last) {
      const auto m = val_rows.empty() ? metric_values{}
                                      : evaluate_in_arena(net, a, data, val_rows, o.eval_batch);
      record({run, lr, epoch, m.logloss, m.auc});
      // Without early stopping a run's result is its last epoch; with it, its best one.
      bool candidate = last;
      if (o.patience > 0) {
        candidate = m.logloss < run_best;  // NaN (diverged) never is
        if (candidate) {
          run_best = m.logloss;
          since_best = 0;
        } else {
          ++since_best;
        }
      }
      const bool overall = candidate && (best_run < 0 || m.logloss < best_val || val_rows.empty());
      if (overall) {
        const auto v = net.params().values();
        best.assign(v.begin(), v.end());
        best_run = run;
        best_epoch = epoch;
        best_val = m.logloss;
      }
      const bool stop = last || (o.patience > 0 && since_best >= o.patience);
      if (stop) run_done[static_cast<std::size_t>(run)] = 1;
      save_state();
      if (o.on_score) o.on_score(run, lr, epoch, m, overall);
      return !stop;
    };
    fo.on_epoch = [&](int epoch) { return score(epoch, epoch == o.max_epochs); };
    const auto fr = fit(
        net, data, train_rows,
        [&](std::int64_t, rng&) -> const supernet::architecture& { return a; }, fo);
    res.steps += fr.steps_this_run;
    if (fr.interrupted) {
      res.interrupted = true;
      break;
    }
    if (run_done[static_cast<std::size_t>(run)] == 0) {  // max_steps ended it inside an epoch
      const auto per_epoch = std::max<std::int64_t>(
          1, static_cast<std::int64_t>(train_rows.size()) / std::max<index>(1, o.fit.batch_size));
      score(static_cast<int>((fr.steps + per_epoch - 1) / per_epoch), true);
    }
    if (!o.state.empty()) std::filesystem::remove(run_ck(run));
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  res.examples_per_s =
      res.seconds > 0 ? static_cast<double>(res.steps * o.fit.batch_size) / res.seconds : 0.0;
  Net out = make();
  if (!res.interrupted) {
    if (best_run < 0)
      throw error(
          "training diverged at every learning rate of the grid (validation logloss "
          "not finite); try smaller learning rates");
    auto v = out.params().values();
    expects(v.size() == best.size(), "protocol: best weights match the network");
    std::copy(best.begin(), best.end(), v.begin());
    res.lr = o.lr_grid[static_cast<std::size_t>(best_run)];
    res.epochs = best_epoch;
    res.val_logloss = best_val;
    for (const auto& c : res.curve)
      if (c.run == best_run && c.epoch == best_epoch) res.val_auc = c.val_auc;
  }
  return {std::move(out), std::move(res)};
}

}  // namespace recnas::train
