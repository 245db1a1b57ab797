#include <algorithm>
#include <cstdint>
#include <vector>

#include <doctest/doctest.h>

#include <recnas/search/correlation.hpp>
#include <recnas/search/driver.hpp>
#include <recnas/search/pareto.hpp>
#include <recnas/search/strategies.hpp>

namespace rs = recnas::search;

namespace {
// A cheap problem with a known optimum: integer vectors, loss = Hamming distance to a hidden
// target.
struct l1_domain {
  using candidate = std::vector<int>;
  int length = 12;
  int values = 8;
  candidate target;

  candidate random(recnas::rng& g) const {
    candidate c(static_cast<std::size_t>(length));
    for (auto& v : c) v = static_cast<int>(g.below(static_cast<std::uint64_t>(values)));
    return c;
  }
  candidate mutate(const candidate& c, recnas::rng& g) const {
    candidate m = c;
    m[g.below(m.size())] = static_cast<int>(g.below(static_cast<std::uint64_t>(values)));
    return m;
  }
  std::uint64_t hash(const candidate& c) const {
    std::uint64_t h = 1469598103934665603ULL;
    for (int v : c) h = (h ^ static_cast<std::uint64_t>(v)) * 1099511628211ULL;
    return h;
  }
  double loss(const candidate& c) const {
    double d = 0;
    for (std::size_t i = 0; i < c.size(); ++i) d += c[i] == target[i] ? 0.0 : 1.0;
    return d;
  }
};

l1_domain make_domain() {
  l1_domain d;
  recnas::rng g(99);
  d.target = d.random(g);
  return d;
}

template <class S>
rs::driver_outcome<std::vector<int>> run(S& s, const l1_domain& d, std::int64_t* evaluations,
                                         const std::vector<rs::logged_result>& replay = {},
                                         std::int64_t stop_after = -1,
                                         std::vector<rs::logged_result>* log = nullptr) {
  rs::driver_hooks<std::vector<int>> hooks;
  hooks.evaluate = [&](const std::vector<std::vector<int>>& batch) {
    std::vector<rs::evaluation> out;
    for (const auto& c : batch) out.push_back({{d.loss(c)}, true});
    *evaluations += static_cast<std::int64_t>(batch.size());
    return out;
  };
  hooks.on_result = [&](const rs::scored<std::vector<int>>& r) {
    if (log) log->push_back({r.hash, r.eval});
  };
  hooks.on_batch = [&](std::int64_t n) { return stop_after < 0 || n < stop_after; };
  return rs::run_search(s, d, hooks, replay);
}

double best_of(const rs::driver_outcome<std::vector<int>>& o) {
  double b = 1e300;
  for (const auto& r : o.history) b = std::min(b, r.eval.primary());
  return b;
}
}  // namespace

TEST_CASE("mutation count decays 6 -> 1 as in the reference") {
  CHECK(rs::mutation_count(0, 240) == 6);
  CHECK(rs::mutation_count(47, 240) == 5);
  CHECK(rs::mutation_count(48, 240) == 5);
  CHECK(rs::mutation_count(193, 240) == 1);
  CHECK(rs::mutation_count(239, 240) == 1);
  CHECK(rs::mutation_count(0, 10) == 1);
}

TEST_CASE("regularized evolution finds the known optimum far faster than random search") {
  static_assert(rs::Strategy<rs::regularized_evolution<l1_domain>>);
  static_assert(rs::Strategy<rs::random_search<l1_domain>>);
  const auto d = make_domain();
  for (std::uint64_t seed : {1, 2, 3}) {
    rs::evolution_settings s{.population = 64, .tournament = 16, .children = 8, .generations = 300};
    rs::regularized_evolution<l1_domain> evo(d, s, seed);
    std::int64_t evo_evals = 0;
    const auto eo = run(evo, d, &evo_evals);
    CHECK(eo.completed);
    CHECK(evo_evals == 64 + 300 * 8);
    rs::random_search<l1_domain> rnd(d, evo_evals, 8, seed);
    std::int64_t rnd_evals = 0;
    const auto ro = run(rnd, d, &rnd_evals);
    CHECK(rnd_evals == evo_evals);
    MESSAGE("seed " << seed << ": best Hamming distance: evolution " << best_of(eo) << ", random "
                    << best_of(ro));
    CHECK(best_of(eo) == 0.0);             // the optimum, among 8^12 = 6.9e10 candidates
    CHECK(best_of(ro) >= 4.0);             // random search with the same budget stays far away
    CHECK(evo.population().size() == 64);  // aging keeps the population size fixed
  }
}

TEST_CASE("regularized evolution starts from the given members, then random ones") {
  const auto d = make_domain();
  rs::evolution_settings s{.population = 8, .tournament = 4, .children = 4, .generations = 40};
  recnas::rng g(5);
  auto near = d.target;
  near[0] = (near[0] + 1) % d.values;  // one step from the optimum
  const std::vector<l1_domain::candidate> init{d.random(g), near};
  rs::regularized_evolution<l1_domain> seeded(d, s, 9, init);
  rs::regularized_evolution<l1_domain> plain(d, s, 9);
  const auto a = seeded.ask(), b = plain.ask();
  REQUIRE(a.size() == 8);
  CHECK(a[0] == init[0]);
  CHECK(a[1] == init[1]);
  for (std::size_t i = 2; i < a.size(); ++i) CHECK(a[i] == b[i - 2]);  // same random stream
  CHECK_THROWS(rs::regularized_evolution<l1_domain>(
      d, s, 9, std::vector<l1_domain::candidate>(9, init[0])));  // more than the population
  rs::regularized_evolution<l1_domain> fresh(d, s, 9, init);
  std::int64_t evals = 0;
  const auto out = run(fresh, d, &evals);
  REQUIRE(out.history.size() >= 2);
  CHECK(out.history[1].candidate == near);  // the given members are evaluated first
  CHECK(out.history[1].eval.primary() == 1.0);
  CHECK(best_of(out) <= 1.0);
}

TEST_CASE("a resumed search equals the uninterrupted one and evaluates nothing twice") {
  const auto d = make_domain();
  rs::evolution_settings s{.population = 16, .tournament = 4, .children = 4, .generations = 30};
  std::int64_t full_evals = 0;
  rs::regularized_evolution<l1_domain> full(d, s, 7);
  const auto fo = run(full, d, &full_evals);

  std::vector<rs::logged_result> log;
  std::int64_t first = 0;
  rs::regularized_evolution<l1_domain> part(d, s, 7);
  const auto po = run(part, d, &first, {}, 16 + 4 * 10, &log);  // "killed" after 10 generations
  CHECK_FALSE(po.completed);
  CHECK(log.size() == 56);

  std::int64_t second = 0;
  rs::regularized_evolution<l1_domain> resumed(d, s, 7);
  const auto ro = run(resumed, d, &second, log);
  CHECK(ro.completed);
  CHECK(ro.replayed == 56);
  CHECK(first + second == full_evals);
  REQUIRE(ro.history.size() == fo.history.size());
  for (std::size_t i = 0; i < fo.history.size(); ++i) {
    CHECK(ro.history[i].hash == fo.history[i].hash);
    CHECK(ro.history[i].eval.primary() == fo.history[i].eval.primary());
  }
  // A log from another seed is rejected with a message naming the entry.
  rs::regularized_evolution<l1_domain> other(d, s, 8);
  std::int64_t ignored = 0;
  CHECK_THROWS_WITH_AS(run(other, d, &ignored, log), doctest::Contains("does not match"),
                       recnas::input_error);
}

TEST_CASE("children already produced are re-mutated") {
  // A domain with only 4 distinct candidates: after they are all produced, the re-mutation
  // budget runs out and evolution still proceeds instead of hanging.
  l1_domain tiny;
  tiny.length = 2;
  tiny.values = 2;
  tiny.target = {1, 1};
  rs::evolution_settings s{
      .population = 4, .tournament = 2, .children = 2, .generations = 20, .max_remutations = 5};
  rs::regularized_evolution<l1_domain> evo(tiny, s, 3);
  std::int64_t n = 0;
  const auto o = run(evo, tiny, &n);
  CHECK(o.completed);
  CHECK(n == 4 + 20 * 2);
}

TEST_CASE("Pareto front and non-dominated sort on hand-made points") {
  // (logloss, mflops)
  const std::vector<std::vector<double>> pts = {
      {0.44, 3.0},  // 0: front
      {0.45, 1.0},  // 1: front
      {0.46, 2.0},  // 2: dominated by 1
      {0.44, 3.5},  // 3: dominated by 0
      {0.43, 5.0},  // 4: front
      {0.47, 0.9},  // 5: front
      {0.45, 1.0},  // 6: equal to 1: not dominated, kept
  };
  auto front = rs::pareto_front(pts);
  std::sort(front.begin(), front.end());
  CHECK(front == std::vector<std::size_t>{0, 1, 4, 5, 6});
  const auto fronts = rs::non_dominated_sort(pts);
  REQUIRE(fronts.size() == 2);
  auto second = fronts[1];
  std::sort(second.begin(), second.end());
  CHECK(second == std::vector<std::size_t>{2, 3});
  CHECK(rs::pareto_front({}).empty());
}

TEST_CASE("rank correlations match scipy on its documented examples") {
  // scipy.stats.spearmanr([1,2,3,4,5], [5,6,7,8,7]) = 0.8207826816681233
  CHECK(rs::spearman({1, 2, 3, 4, 5}, {5, 6, 7, 8, 7}) == doctest::Approx(0.8207826816681233));
  // scipy.stats.kendalltau([12,2,1,12,2], [1,4,7,1,0]) = -0.47140452079103173 (tau-b)
  CHECK(rs::kendall_tau({12, 2, 1, 12, 2}, {1, 4, 7, 1, 0}) ==
        doctest::Approx(-0.47140452079103173));
  CHECK(rs::kendall_tau({1, 2, 3}, {1, 2, 3}) == doctest::Approx(1.0));
  CHECK(rs::spearman({1, 2, 3}, {3, 2, 1}) == doctest::Approx(-1.0));
  CHECK_THROWS_AS((void)rs::spearman({1}, {1}), recnas::contract_error);
}
