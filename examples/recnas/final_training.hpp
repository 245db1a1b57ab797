#pragma once
// The final-training protocol (recnas/train/protocol.hpp) as the commands run it: one progress
// bar per learning rate, a line per run with its validation curve, and the choice as JSON.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <recnas/data/dataset.hpp>
#include <recnas/supernet/supernet.hpp>
#include <recnas/train/protocol.hpp>

#include "cli.hpp"

namespace recnas_cli {

/// Small samples give a handful of steps per epoch; below 40 steps of the given batch per epoch
/// the protocol uses batch 256 (the PyTorch reference's recipe on the Criteo sample).
inline recnas::index final_batch_size(recnas::index batch, std::size_t train_rows) {
  if (static_cast<std::int64_t>(train_rows) / batch >= 40) return batch;
  return std::min<recnas::index>(batch, 256);
}

/// `--lr auto|X|X,Y,...` and `--epochs auto|N` into the protocol's grid, epochs and patience.
inline void parse_protocol_choice(const std::string& lr, const std::string& epochs, int max_epochs,
                                  recnas::train::protocol_options& p) {
  if (lr == "auto") {
    p.lr_grid = recnas::train::default_lr_grid();
  } else {
    p.lr_grid.clear();
    std::stringstream ss(lr);
    for (std::string item; std::getline(ss, item, ',');) {
      char* end = nullptr;
      const double v = std::strtod(item.c_str(), &end);
      if (item.empty() || *end != '\0' || !std::isfinite(v) || v <= 0)
        throw recnas::input_error("", 0, "--lr",
                                  "\"" + item +
                                      "\" is not a positive number (--lr auto, a "
                                      "number, or a comma-separated grid)");
      p.lr_grid.push_back(v);
    }
    if (p.lr_grid.empty()) throw recnas::input_error("", 0, "--lr", "empty learning-rate list");
  }
  if (epochs == "auto") {
    p.max_epochs = max_epochs;
  } else {
    char* end = nullptr;
    const long n = std::strtol(epochs.c_str(), &end, 10);
    if (epochs.empty() || *end != '\0' || n < 1 || n > 1000)
      throw recnas::input_error("", 0, "--epochs",
                                "\"" + epochs + "\" is not auto or a number of epochs in 1..1000");
    p.max_epochs = static_cast<int>(n);
    p.patience = 0;  // a number fixes the epochs: the last one is the result
  }
}

/// The protocol's choice and validation curve as JSON.
inline nlohmann::json protocol_json(const recnas::train::protocol_result& r,
                                    const recnas::train::protocol_options& o) {
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

/// Runs the protocol on network factory `make` with progress on stderr; `label` names the
/// model. Returns the outcome; an interruption is the caller's to report (result.interrupted).
template <class MakeNet>
auto run_protocol(const std::string& label, MakeNet&& make, const recnas::supernet::architecture& a,
                  const recnas::data::dataset& data, const std::vector<std::uint32_t>& train,
                  const std::vector<std::uint32_t>& val, recnas::train::protocol_options p) {
  std::optional<progress> bar;
  double best_run = INFINITY;
  int best_epoch = 0;
  std::string curve;
  double lr_now = 0;
  std::int64_t done_steps = 0;
  std::string extra;  // rebuilt when a score arrives, not on every step
  const auto describe = [&] {
    char e[64];
    std::snprintf(e, sizeof e, "val best %.5f @ epoch %d:", best_run, best_epoch);
    extra = e + curve;
  };
  p.on_run = [&](int, double lr) {
    if (bar) bar->finish(static_cast<double>(done_steps * p.fit.batch_size), extra);
    bar.reset();
    best_run = INFINITY;
    best_epoch = 0;
    curve.clear();
    describe();
    lr_now = lr;
  };
  auto user_step = p.fit.on_step;
  p.fit.on_step = [&](std::int64_t step, std::int64_t total, const recnas::train::step_result& r) {
    if (!bar) {
      char name[96];
      std::snprintf(name, sizeof name, "%s lr %.3g", label.c_str(), lr_now);
      bar.emplace(name, static_cast<double>(total) * static_cast<double>(p.fit.batch_size), "ex");
    }
    done_steps = step;
    bar->update(static_cast<double>(step * p.fit.batch_size), extra);
    if (user_step && !user_step(step, total, r)) return false;
    return !interrupted().load();
  };
  p.on_score = [&](int, double, int epoch, const recnas::train::metric_values& m, bool) {
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
      recnas::train::train_with_protocol(std::forward<MakeNet>(make), a, data, train, val, p);
  if (bar) bar->finish(static_cast<double>(done_steps * p.fit.batch_size), extra);
  if (!outcome.result.interrupted && !outcome.result.curve.empty())
    std::fprintf(stderr, "%s: chose lr %.3g, %d epoch(s): val logloss %.5f (grid %s)\n",
                 label.c_str(), outcome.result.lr, outcome.result.epochs,
                 outcome.result.val_logloss,
                 [&] {
                   std::string g;
                   for (double lr : p.lr_grid) {
                     char s[24];
                     std::snprintf(s, sizeof s, "%s%.3g", g.empty() ? "" : ",", lr);
                     g += s;
                   }
                   return g;
                 }()
                     .c_str());
  return outcome;
}

}  // namespace recnas_cli
