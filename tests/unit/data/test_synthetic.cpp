// The synthetic default dataset: deterministic, controllable positive rate, and planted
// interactions that a model capturing them measurably exploits.
#include <cmath>
#include <cstdint>
#include <vector>

#include <doctest/doctest.h>

#include <recnas/data/data.hpp>

namespace rd = recnas::data;
using idx = recnas::index;

TEST_CASE("synthetic: rows are a pure function of (config, row); schema is Criteo-like") {
  const rd::synthetic_generator g({});
  CHECK(g.features().num_dense() == 13);
  CHECK(g.features().num_categorical() == 26);
  rd::example_block a(300, 13, 26), b(100, 13, 26);
  g.generate(0, 300, a);
  g.generate(200, 100, b);  // random access: rows 200..299 again
  CHECK(rd::same_examples(a.view(200, 100), b.view()));
  for (idx r = 0; r < 300; ++r)
    for (idx f = 0; f < 26; ++f) {
      CHECK(a.cat_row(r)[f] >= 0);
      CHECK(a.cat_row(r)[f] < g.features().table_sizes[static_cast<std::size_t>(f)]);
    }
  rd::synthetic_config other;
  other.seed = 2019;
  rd::example_block c(300, 13, 26);
  rd::synthetic_generator(other).generate(0, 300, c);
  CHECK_FALSE(rd::same_examples(a.view(), c.view()));
}

TEST_CASE("synthetic: the positive rate follows the configuration") {
  for (double target : {0.05, 0.25, 0.5}) {
    rd::synthetic_config cfg;
    cfg.positive_rate = target;
    cfg.num_categorical = 8;
    cfg.num_dense = 3;
    const rd::synthetic_generator g(cfg);
    rd::raw_block raw;
    g.generate_raw(0, 20000, raw);
    double pos = 0;
    for (auto y : raw.labels) pos += y;
    CAPTURE(target);
    CHECK(pos / 20000.0 == doctest::Approx(target).epsilon(0.1));
  }
}

namespace {
// Logistic regression on one-hot features (hashed ids) + dense inputs, trained by Adagrad.
struct logreg {
  std::vector<double> w, g2;
  double lr = 0.1;
  explicit logreg(std::size_t n) : w(n, 0.0), g2(n, 1e-6) {}
  double score(const std::vector<std::pair<std::size_t, double>>& x) const {
    double s = 0;
    for (auto [i, v] : x) s += w[i] * v;
    return s;
  }
  void step(const std::vector<std::pair<std::size_t, double>>& x, double y) {
    const double p = 1.0 / (1.0 + std::exp(-score(x)));
    for (auto [i, v] : x) {
      const double grad = (p - y) * v;
      g2[i] += grad * grad;
      w[i] -= lr * grad / std::sqrt(g2[i]);
    }
  }
};
double logloss(double s, double y) {
  const double p = std::clamp(1.0 / (1.0 + std::exp(-s)), 1e-12, 1.0 - 1e-12);
  return -(y * std::log(p) + (1 - y) * std::log(1 - p));
}
}  // namespace

TEST_CASE("synthetic: planted interactions make crossed models measurably better") {
  rd::synthetic_config cfg;
  cfg.seed = 77;
  cfg.num_dense = 3;
  cfg.num_categorical = 6;
  cfg.cardinalities = {12, 12, 12, 12, 12, 12};
  cfg.pairs = 3;
  cfg.pair_scale = 1.5;
  cfg.dense_crosses = 0;
  cfg.first_order_scale = 0.3;
  const rd::synthetic_generator g(cfg);
  constexpr idx train = 60000, test = 20000;
  rd::raw_block raw;
  g.generate_raw(0, train + test, raw);
  const auto ex = rd::preprocess(raw, g.features());

  // Features: bias, dense, one-hot ids; the crossed model adds one-hot (c_a, c_b) of the pairs.
  auto features = [&](idx r, bool crosses) {
    std::vector<std::pair<std::size_t, double>> x{{0, 1.0}};
    for (idx j = 0; j < 3; ++j) x.emplace_back(1 + static_cast<std::size_t>(j), ex.dense_row(r)[j]);
    for (idx f = 0; f < 6; ++f)
      x.emplace_back(4 + static_cast<std::size_t>(f * 13 + ex.cat_row(r)[f]), 1.0);
    if (crosses) {
      std::size_t base = 4 + 6 * 13, p = 0;
      for (const auto& [a, b] : g.planted_pairs()) {
        x.emplace_back(
            base + static_cast<std::size_t>(p * 169 + ex.cat_row(r)[a] * 13 + ex.cat_row(r)[b]),
            1.0);
        ++p;
      }
    }
    return x;
  };
  auto fit_eval = [&](bool crosses) {
    logreg m(4 + 6 * 13 + 3 * 169);
    for (int epoch = 0; epoch < 3; ++epoch)
      for (idx r = 0; r < train; ++r) m.step(features(r, crosses), ex.labels()[r]);
    double ll = 0;
    for (idx r = train; r < train + test; ++r)
      ll += logloss(m.score(features(r, crosses)), ex.labels()[r]);
    return ll / test;
  };
  double bayes = 0;
  for (idx r = train; r < train + test; ++r)
    bayes += logloss(g.logit(raw.dense.data() + r * 3, raw.categorical.data() + r * 6),
                     raw.labels[static_cast<std::size_t>(r)]);
  bayes /= test;
  const double first_order = fit_eval(false), crossed = fit_eval(true);
  MESSAGE("test logloss: true logit " << bayes << ", LR+crosses " << crossed << ", first-order LR "
                                      << first_order);
  CHECK(first_order - bayes > 0.02);     // interactions carry signal a first-order model misses
  CHECK(first_order - crossed > 0.015);  // a model with the crosses recovers most of it
  CHECK(crossed - bayes < 0.02);
}

TEST_CASE("synthetic dataset: generated once in parallel equals generated on demand") {
  rd::synthetic_config cfg;
  cfg.num_categorical = 5;
  cfg.num_dense = 2;
  const auto lazy = rd::dataset::synthetic(cfg, 40000, false);
  const auto eager =
      recnas::parallel::with_threads(2, [&] { return rd::dataset::synthetic(cfg, 40000, true); });
  CHECK(lazy.generator() != nullptr);
  CHECK(eager.generator() == nullptr);
  rd::example_block a(40000, 2, 5), b(40000, 2, 5);
  lazy.read(0, 40000, a);
  eager.read(0, 40000, b);
  CHECK(rd::same_examples(a.view(), b.view()));
  // Gathering scattered rows gives the same rows as reading them one by one.
  const std::vector<idx> rows{39999, 3, 17, 18, 19, 5000};
  rd::example_block g(6, 2, 5), one(1, 2, 5);
  lazy.gather(std::span<const idx>(rows), g);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    eager.read(rows[i], 1, one);
    CHECK(rd::same_examples(g.view(static_cast<idx>(i), 1), one.view()));
  }
}
