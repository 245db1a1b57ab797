#pragma once
// Runs an ask/tell strategy to completion: evaluates each proposed batch (the evaluator may use
// threads), numbers results in evaluation order, reports each one (e.g. to a JSONL log), and on
// resume serves already-logged results instead of re-evaluating them.

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "recnas/core/error.hpp"
#include "recnas/search/domain.hpp"
#include "recnas/search/strategies.hpp"

namespace recnas::search {

/// A logged evaluation: enough to replay a run without evaluating again.
struct logged_result {
  std::uint64_t hash = 0;
  evaluation eval;
};

template <class Candidate>
struct driver_hooks {
  /// Evaluates a batch; results in the same order. Must be a pure function of the candidates
  /// (and fixed data and seeds) for replay to be exact.
  std::function<std::vector<evaluation>(const std::vector<Candidate>&)> evaluate;
  /// Called once per newly evaluated result (not for replayed ones), in evaluation order.
  std::function<void(const scored<Candidate>&)> on_result;
  /// Called after each told batch with the number of results so far; return false to stop
  /// early (e.g. on Ctrl-C), leaving a resumable log.
  std::function<bool(std::int64_t)> on_batch;
};

template <class Candidate>
struct driver_outcome {
  std::vector<scored<Candidate>> history;  // every result, in evaluation order
  std::int64_t evaluated = 0;              // newly evaluated in this run
  std::int64_t replayed = 0;               // served from the log
  bool completed = false;                  // false when on_batch stopped the run
};

/// Runs `strategy` over `domain`. `replay` holds the results of an interrupted earlier run with
/// the same settings and seed; they must match the proposals one for one (checked by hash).
template <SearchDomain Domain, class S>
requires Strategy<S> && std::same_as<typename S::candidate, typename Domain::candidate>
    driver_outcome<typename Domain::candidate> run_search(
        S& strategy, const Domain& domain, const driver_hooks<typename Domain::candidate>& hooks,
        const std::vector<logged_result>& replay = {}) {
  using candidate = typename Domain::candidate;
  driver_outcome<candidate> out;
  std::int64_t generation = -1;
  while (!strategy.done()) {
    std::vector<candidate> batch = strategy.ask();
    if (batch.empty()) break;
    std::vector<scored<candidate>> results(batch.size());
    std::vector<candidate> fresh;
    std::vector<std::size_t> fresh_pos;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto& r = results[i];
      r.hash = domain.hash(batch[i]);
      r.id = static_cast<std::int64_t>(out.history.size() + i);
      r.generation = generation;
      const auto id = static_cast<std::size_t>(r.id);
      if (id < replay.size()) {
        if (replay[id].hash != r.hash) {
          throw input_error("", 0, "history",
                            "entry " + std::to_string(id) +
                                " does not match this run's proposal (different seed, space or "
                                "settings); start a new output folder or use the same settings");
        }
        r.eval = replay[id].eval;
        ++out.replayed;
      } else {
        fresh.push_back(batch[i]);
        fresh_pos.push_back(i);
      }
      r.candidate = std::move(batch[i]);
    }
    if (!fresh.empty()) {
      std::vector<evaluation> evals = hooks.evaluate(fresh);
      expects(evals.size() == fresh.size(), "evaluate returns one evaluation per candidate");
      for (std::size_t j = 0; j < fresh.size(); ++j) {
        results[fresh_pos[j]].eval = std::move(evals[j]);
        out.evaluated++;
      }
      for (std::size_t j : fresh_pos) {
        if (hooks.on_result) hooks.on_result(results[j]);
      }
    }
    for (const auto& r : results) out.history.push_back(r);
    strategy.tell(std::move(results));
    ++generation;
    if (hooks.on_batch && !hooks.on_batch(static_cast<std::int64_t>(out.history.size()))) {
      return out;
    }
  }
  out.completed = true;
  return out;
}

}  // namespace recnas::search
