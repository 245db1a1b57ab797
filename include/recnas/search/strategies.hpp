#pragma once
// Search strategies as ask/tell policies: `ask()` proposes a batch of candidates, the caller
// evaluates them (concurrently if it wants) and hands the results back with `tell()`. Proposals
// depend only on the seed and on what was told before, so a run can be replayed from its log
// (resume without re-evaluation) and evaluation can be spread over threads or MPI ranks.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "recnas/core/concepts.hpp"
#include "recnas/core/error.hpp"
#include "recnas/core/rng.hpp"
#include "recnas/search/domain.hpp"

namespace recnas::search {

/// What a strategy provides (on top of being a named policy of kind `search`).
template <class S>
concept Strategy = PolicyOf<S, policy_kind::search> && requires(S& s, const S& cs) {
  typename S::candidate;
  { s.ask() } -> std::same_as<std::vector<typename S::candidate>>;
  s.tell(std::vector<scored<typename S::candidate>>{});
  { cs.done() } -> std::convertible_to<bool>;
};

/// Settings of regularized (aging) evolution; the defaults are the NASRec reference's.
struct evolution_settings {
  int population = 128;
  int tournament = 64;
  int children = 8;           // per generation; the oldest `children` members die
  int generations = 240;      // 128 + 240 * 8 = 2048 evaluations
  int max_remutations = 100;  // attempts to find a child not produced before
};

/// Number of mutations of a child in generation g of G: floor((G - g) / max(20, G / 5)) + 1,
/// i.e. 6 at g = 0 decaying to 1 for the reference's G = 240.
[[nodiscard]] constexpr int mutation_count(int g, int generations) noexcept {
  const int step = std::max(20, generations / 5);
  return (generations - g) / step + 1;
}

/// Regularized evolution (Real et al. 2019) as NASRec runs it: tournament selection of one
/// parent per generation, several children by repeated mutation, rejection of children whose
/// hash was already produced as a child, and aging (the oldest members leave).
template <SearchDomain Domain>
class regularized_evolution {
 public:
  static constexpr std::string_view name = "regularized_evolution";
  static constexpr policy_kind kind = policy_kind::search;
  using candidate = typename Domain::candidate;

  /// `initial`: members of the first population given by the user (known good designs, at
  /// most `population`); the rest are random. Without them the run is the reference's.
  regularized_evolution(const Domain& domain, evolution_settings s, std::uint64_t seed,
                        std::vector<candidate> initial = {})
      : domain_(&domain), s_(s), gen_(rng::stream(seed, 0x5EA5C4)), initial_(std::move(initial)) {
    expects(s.population >= 1 && s.tournament >= 1 && s.tournament <= s.population &&
                s.children >= 1 && s.children <= s.population && s.generations >= 0,
            "evolution settings: 1 <= tournament <= population, 1 <= children <= population");
    expects(initial_.size() <= static_cast<std::size_t>(s.population),
            "evolution: more initial members than the population holds");
  }

  /// The initial population, then `children` per generation; empty when done.
  std::vector<candidate> ask() {
    std::vector<candidate> out;
    if (done()) return out;
    if (!initialised_) {
      out.reserve(static_cast<std::size_t>(s_.population));
      out = initial_;
      while (out.size() < static_cast<std::size_t>(s_.population))
        out.push_back(domain_->random(gen_));
      return out;
    }
    // Tournament: sample without replacement, best primary objective wins.
    std::vector<std::size_t> idx(population_.size());
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    const auto k =
        static_cast<std::size_t>(std::min<int>(s_.tournament, static_cast<int>(idx.size())));
    for (std::size_t i = 0; i < k; ++i) std::swap(idx[i], idx[i + gen_.below(idx.size() - i)]);
    std::size_t parent = idx[0];
    for (std::size_t i = 1; i < k; ++i) {
      if (better(population_[idx[i]].eval, population_[parent].eval)) parent = idx[i];
    }
    const int m = mutation_count(generation_, s_.generations);
    for (int c = 0; c < s_.children; ++c) {
      candidate child = population_[parent].candidate;
      for (int attempt = 0;; ++attempt) {
        child = population_[parent].candidate;
        for (int j = 0; j < m; ++j) child = domain_->mutate(child, gen_);
        const std::uint64_t h = domain_->hash(child);
        if (!visited_.count(h) || attempt >= s_.max_remutations) {
          visited_.insert(h);
          break;
        }
      }
      out.push_back(std::move(child));
    }
    return out;
  }

  void tell(std::vector<scored<candidate>> results) {
    if (!initialised_) {
      for (auto& r : results) population_.push_back(std::move(r));
      initialised_ = true;
      return;
    }
    for (auto& r : results) {
      population_.push_back(std::move(r));
      population_.pop_front();  // aging: the oldest member leaves, whatever its fitness
    }
    ++generation_;
  }

  [[nodiscard]] bool done() const noexcept { return initialised_ && generation_ >= s_.generations; }
  [[nodiscard]] int generation() const noexcept { return initialised_ ? generation_ : -1; }
  [[nodiscard]] const std::deque<scored<candidate>>& population() const noexcept {
    return population_;
  }

 private:
  const Domain* domain_;
  evolution_settings s_;
  rng gen_;
  std::vector<candidate> initial_;
  std::deque<scored<candidate>> population_;
  std::unordered_set<std::uint64_t> visited_;
  int generation_ = 0;
  bool initialised_ = false;
};

/// Random search with the same budget shape (batches of `batch` candidates).
template <SearchDomain Domain>
class random_search {
 public:
  static constexpr std::string_view name = "random_search";
  static constexpr policy_kind kind = policy_kind::search;
  using candidate = typename Domain::candidate;

  random_search(const Domain& domain, std::int64_t budget, int batch, std::uint64_t seed)
      : domain_(&domain), budget_(budget), batch_(batch), gen_(rng::stream(seed, 0xBA5E)) {
    expects(budget >= 0 && batch >= 1, "random_search: budget >= 0 and batch >= 1");
  }
  std::vector<candidate> ask() {
    std::vector<candidate> out;
    const std::int64_t n = std::min<std::int64_t>(batch_, budget_ - asked_);
    for (std::int64_t i = 0; i < n; ++i) out.push_back(domain_->random(gen_));
    asked_ += n;
    return out;
  }
  void tell(std::vector<scored<candidate>> results) {
    told_ += static_cast<std::int64_t>(results.size());
  }
  [[nodiscard]] bool done() const noexcept { return asked_ >= budget_ && told_ >= asked_; }

 private:
  const Domain* domain_;
  std::int64_t budget_;
  int batch_;
  rng gen_;
  std::int64_t asked_ = 0;
  std::int64_t told_ = 0;
};

}  // namespace recnas::search
