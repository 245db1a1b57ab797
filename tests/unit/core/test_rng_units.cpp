#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <recnas/core/concepts.hpp>
#include <recnas/core/rng.hpp>
#include <recnas/core/units.hpp>

TEST_CASE("rng is reproducible, stream-splittable and platform independent") {
  recnas::rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) CHECK(a() == b());
  CHECK(a() != c());
  // Reference values of xoshiro256** seeded by SplitMix64(0): pins the algorithm so a
  // refactor cannot silently change every seeded search.
  recnas::rng z(0);
  std::uint64_t x = 0;
  const std::uint64_t s1 = recnas::splitmix64(x);
  CHECK(s1 == 0xE220A8397B1DCDAFULL);
  const auto first = z();
  recnas::rng z2(0);
  CHECK(first == z2());
  // Streams differ from each other and from the parent, and are pure functions of (seed, id).
  auto s0 = recnas::rng::stream(5, 0), s1b = recnas::rng::stream(5, 1), s0b = recnas::rng::stream(5, 0);
  CHECK(s0 == s0b);
  CHECK_FALSE(s0 == s1b);
  // State round trip (checkpoints).
  recnas::rng r(9);
  r();
  auto st = r.state();
  const auto next = r();
  recnas::rng r2(1);
  r2.set_state(st);
  CHECK(r2() == next);
  CHECK_THROWS_AS(r2.set_state({0, 0, 0, 0}), recnas::contract_error);
}

TEST_CASE("rng distributions have the right moments") {
  recnas::rng g(123);
  const int n = 200000;
  double sum = 0, sum2 = 0;
  for (int i = 0; i < n; ++i) {
    const double v = g.normal();
    sum += v;
    sum2 += v * v;
  }
  CHECK(std::abs(sum / n) < 0.01);
  CHECK(std::abs(sum2 / n - 1.0) < 0.02);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) ++counts[g.below(7)];
  for (int c : counts) CHECK(std::abs(c - 10000) < 400);
  double u = 0;
  for (int i = 0; i < n; ++i) {
    const float f = g.uniformf();
    CHECK_UNARY(f >= 0.0f);
    CHECK_UNARY(f < 1.0f);
    u += f;
  }
  CHECK(std::abs(u / n - 0.5) < 0.005);
  int bin = 0;
  for (int i = 0; i < 10000; ++i) bin += g.binomial(4, 0.25);
  CHECK(std::abs(bin / 10000.0 - 1.0) < 0.05);
  for (int i = 0; i < 1000; ++i) {
    const auto v = g.between(-3, 3);
    CHECK_UNARY(v >= -3);
    CHECK_UNARY(v <= 3);
  }
  CHECK_THROWS_AS((void)g.below(0), recnas::contract_error);
}

TEST_CASE("shuffle is a permutation and deterministic") {
  std::vector<int> v(100), w(100);
  std::iota(v.begin(), v.end(), 0);
  w = v;
  recnas::rng a(3), b(3);
  a.shuffle(std::span<int>(v));
  b.shuffle(std::span<int>(w));
  CHECK(v == w);
  std::vector<int> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 100; ++i) CHECK(sorted[static_cast<std::size_t>(i)] == i);
  CHECK_FALSE(std::is_sorted(v.begin(), v.end()));
}

TEST_CASE("units: only meaningful arithmetic compiles") {
  using namespace recnas::units;
  constexpr cycles c(1200.0);
  constexpr gigahertz f(1.2);
  constexpr nanoseconds t = c / f;
  static_assert(t.value() > 999.99 && t.value() < 1000.01);
  constexpr picojoules e(500.0);
  constexpr milliwatts p = e / t;
  CHECK(p.value() == doctest::Approx(0.5));
  CHECK((p * t).value() == doctest::Approx(500.0));
  CHECK((t * f).value() == doctest::Approx(1200.0));
  CHECK(nanoseconds(3) + nanoseconds(4) == nanoseconds(7));
  CHECK(nanoseconds(8) / nanoseconds(2) == doctest::Approx(4.0));
  static_assert(!std::is_invocable_v<std::plus<>, cycles, nanoseconds>,
                "cycles + nanoseconds must not compile");
  static_assert(!std::is_invocable_v<std::plus<>, picojoules, flops>);
  static_assert(std::is_invocable_v<std::plus<>, cycles, cycles>);
  CHECK(std::string(symbol<square_mm>()) == "mm^2");
}

namespace {
struct my_sampler {
  static constexpr std::string_view name = "mine";
  static constexpr recnas::policy_kind kind = recnas::policy_kind::sampler;
};
struct unnamed {};
}  // namespace

TEST_CASE("policy concepts") {
  static_assert(recnas::PolicyOf<my_sampler, recnas::policy_kind::sampler>);
  static_assert(!recnas::PolicyOf<my_sampler, recnas::policy_kind::optimizer>);
  static_assert(!recnas::Named<unnamed>);
  static_assert(recnas::check_policy<my_sampler, recnas::policy_kind::sampler>());
  static_assert(recnas::RandomSource<recnas::rng>);
  CHECK(recnas::to_string(recnas::policy_kind::pim_adc) == "PIM ADC");
}
