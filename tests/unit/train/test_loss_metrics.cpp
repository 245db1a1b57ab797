#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include <recnas/core/rng.hpp>
#include <recnas/train/loss.hpp>
#include <recnas/train/metrics.hpp>
#include <recnas/train/schedule.hpp>

namespace rt = recnas::train;

TEST_CASE("BCE with logits matches the naive formula and its gradient") {
  const std::vector<float> z = {-3.0f, -0.5f, 0.0f, 0.7f, 4.0f};
  const std::vector<float> y = {0.0f, 1.0f, 1.0f, 0.0f, 1.0f};
  std::vector<float> dz(z.size());
  const double loss = rt::bce_with_logits(z.data(), y.data(), 5, dz.data());
  double naive = 0.0;
  for (std::size_t i = 0; i < z.size(); ++i) {
    const double p = 1.0 / (1.0 + std::exp(-static_cast<double>(z[i])));
    naive += -(y[i] * std::log(p) + (1 - y[i]) * std::log(1 - p));
  }
  CHECK(loss == doctest::Approx(naive / 5).epsilon(1e-12));
  // Finite differences of the mean loss in double.
  for (std::size_t i = 0; i < z.size(); ++i) {
    auto at = [&](double zi) {
      double s = 0;
      for (std::size_t j = 0; j < z.size(); ++j) s += rt::bce_with_logit(j == i ? zi : z[j], y[j]);
      return s / 5;
    };
    const double h = 1e-6;
    CHECK(dz[i] == doctest::Approx((at(z[i] + h) - at(z[i] - h)) / (2 * h)).epsilon(1e-5));
  }
  // Extreme logits stay finite and exact.
  const float big[2] = {100.0f, -100.0f};
  const float lab[2] = {0.0f, 1.0f};
  CHECK(rt::bce_with_logits(big, lab, 2) == doctest::Approx(100.0).epsilon(1e-9));
  CHECK(std::isfinite(rt::bce_with_logits(big, lab, 2)));
}

namespace {
// O(P N) pairwise AUC with ties counted as 1/2: the definition.
double pairwise_auc(const std::vector<float>& s, const std::vector<float>& y) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (y[i] < 0.5f) continue;
    for (std::size_t j = 0; j < s.size(); ++j) {
      if (y[j] > 0.5f) continue;
      den += 1;
      num += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
    }
  }
  return num / den;
}
}  // namespace

TEST_CASE("exact AUC with ties equals the pairwise definition, streamed in batches") {
  recnas::rng g(11);
  for (int trial = 0; trial < 20; ++trial) {
    const int n = 1 + static_cast<int>(g.below(300));
    std::vector<float> s(static_cast<std::size_t>(n)), y(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      y[static_cast<std::size_t>(i)] = g.bernoulli(0.3) ? 1.0f : 0.0f;
      // Coarse scores so that ties are frequent.
      s[static_cast<std::size_t>(i)] =
          static_cast<float>(g.below(7)) - 3.0f +
          (y[static_cast<std::size_t>(i)] > 0 ? 0.5f * static_cast<float>(g.below(2)) : 0.0f);
    }
    rt::streaming_metrics m;
    for (int b = 0; b < n; b += 37) m.add(s.data() + b, y.data() + b, std::min(37, n - b));
    const auto v = m.compute();
    CHECK(v.examples == n);
    bool both = false, has_pos = false, has_neg = false;
    for (float l : y) (l > 0.5f ? has_pos : has_neg) = true;
    both = has_pos && has_neg;
    if (both)
      CHECK(v.auc == doctest::Approx(pairwise_auc(s, y)).epsilon(1e-12));
    else
      CHECK(v.auc == 0.5);
    double ll = 0, pos = 0, pred = 0;
    for (int i = 0; i < n; ++i) {
      ll += rt::bce_with_logit(s[static_cast<std::size_t>(i)], y[static_cast<std::size_t>(i)]);
      pos += y[static_cast<std::size_t>(i)];
      pred += rt::sigmoid(s[static_cast<std::size_t>(i)]);
    }
    CHECK(v.logloss == doctest::Approx(ll / n));
    CHECK(v.positive_rate == doctest::Approx(pos / n));
    CHECK(v.mean_prediction == doctest::Approx(pred / n));
  }
  rt::streaming_metrics empty;
  CHECK(empty.compute().examples == 0);
}

TEST_CASE("warm-up + cosine schedule follows the reference recipe") {
  rt::warmup_cosine_lr s{.peak = 0.1, .total_steps = 1000, .warmup_fraction = 0.1, .floor = 1e-8};
  CHECK(s.warmup_steps() == 100);
  CHECK(s(0) == doctest::Approx(1e-8));
  CHECK(s(50) == doctest::Approx(1e-8 + (0.1 - 1e-8) * 0.5));
  CHECK(s(100) == doctest::Approx(0.1));
  CHECK(s(550) == doctest::Approx(1e-8 + (0.1 - 1e-8) * 0.5));
  CHECK(s(1000) == doctest::Approx(1e-8));
  for (int t = 100; t < 1000; ++t) CHECK_UNARY(s(t + 1) <= s(t));
  rt::lr_schedule v = rt::constant_lr{0.3};
  CHECK(rt::learning_rate(v, 12345) == 0.3);
}
