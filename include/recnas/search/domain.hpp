#pragma once
// What a search strategy needs from the thing it searches over: a candidate type, a way to
// draw one at random, a way to mutate one, and a hash that identifies functionally equal
// candidates. The NASRec spaces, the co-design space and the synthetic test problems all
// model this concept, so every strategy works on all of them.

#include <concepts>
#include <cstdint>
#include <limits>
#include <vector>

#include "recnas/core/rng.hpp"

namespace recnas::search {

template <class D>
concept SearchDomain = requires(const D& d, const typename D::candidate& c, rng& g) {
  typename D::candidate;
  { d.random(g) } -> std::same_as<typename D::candidate>;
  { d.mutate(c, g) } -> std::same_as<typename D::candidate>;  // exactly one mutation
  { d.hash(c) } -> std::convertible_to<std::uint64_t>;
}
&&std::copyable<typename D::candidate>;

/// The result of evaluating one candidate. `objectives[0]` is the primary criterion (lower is
/// better, e.g. validation logloss); the others (FLOPs, energy, latency, ...) feed the Pareto
/// front. `feasible` is false when a hard constraint is violated.
struct evaluation {
  std::vector<double> objectives;
  bool feasible = true;

  [[nodiscard]] double primary() const noexcept {
    return objectives.empty() ? std::numeric_limits<double>::infinity() : objectives.front();
  }
};

/// Strict order used by tournaments: feasible before infeasible, then lower primary objective.
[[nodiscard]] inline bool better(const evaluation& a, const evaluation& b) noexcept {
  if (a.feasible != b.feasible) return a.feasible;
  return a.primary() < b.primary();
}

/// A candidate together with its evaluation and provenance.
template <class Candidate>
struct scored {
  Candidate candidate;
  std::uint64_t hash = 0;
  evaluation eval;
  std::int64_t id = 0;          // order of evaluation, 0-based
  std::int64_t generation = 0;  // -1 for the initial population
};

}  // namespace recnas::search
