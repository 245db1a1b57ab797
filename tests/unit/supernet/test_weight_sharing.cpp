// Weight sharing: a subnet computed inside the supernet (active slices only) is the same
// function as the standalone subnet built from the supernet's slices, forward and backward.
#include <cmath>

#include <doctest/doctest.h>

#include "common.hpp"

namespace sn = recnas::supernet;
using recnas_test::random_batch;

namespace {

template <class S>
void check_sharing(const sn::supernet<S, float>& super, const sn::architecture& a,
                   const sn::data_shape& ds, std::uint64_t seed) {
  CAPTURE(sn::to_string<S>(a));
  sn::subnet<S, float> fixed(a, super);
  const auto batch = random_batch(ds, 16, seed);
  std::vector<float> l1(16), l2(16);
  sn::workspace<float> w1, w2;
  super.forward(a, batch.view, w1, l1);
  fixed.forward(batch.view, w2, l2);
  for (std::size_t i = 0; i < l1.size(); ++i) {
    CHECK(std::abs(l1[i] - l2[i]) <= 1e-5f * std::max(1.0f, std::abs(l2[i])));
  }
  // The comparison means something: the logits depend on the example.
  CHECK(*std::max_element(l1.begin(), l1.end()) - *std::min_element(l1.begin(), l1.end()) > 1e-4f);
  // The pruned subnet holds exactly the live parameters of the counting pass.
  const auto rep = sn::analyze<S>(a, ds, super.options().layernorm);
  CHECK(fixed.params().count(false) == rep.live_params);
}

}  // namespace

TEST_CASE_TEMPLATE("supernet slices equal the standalone subnet (1e-5)", S, sn::nasrec_full,
                   sn::nasrec_small) {
  const sn::data_shape ds{13, {11, 7, 5, 9, 3, 8}};
  for (bool ln : {false, true}) {
    sn::supernet<S, float> super(ds, {.layernorm = ln}, 3);
    recnas::rng g(ln ? 11 : 12);
    for (int trial = 0; trial < 4; ++trial)
      check_sharing(super, sn::random_architecture<S>(g), ds, 100 + trial);
  }
}

TEST_CASE("supernet backward equals the standalone subnet's on the shared slices") {
  using S = sn::nasrec_small;
  const sn::data_shape ds{3, {6, 5, 4}};
  sn::supernet<S, double> super(ds, {.layernorm = true}, 9);
  recnas::rng g(5);
  const auto a = sn::random_architecture<S>(g);
  sn::subnet<S, double> fixed(a, super);
  const auto batch = random_batch(ds, 4, 3);
  std::vector<double> l(4), dl{0.3, -0.2, 0.5, 0.1};
  sn::workspace<double> w1, w2;
  super.params().zero_grad();
  fixed.params().zero_grad();
  super.forward(a, batch.view, w1, l);
  super.backward(a, w1, dl);
  fixed.forward(batch.view, w2, l);
  fixed.backward(w2, dl);
  // Copying the supernet's gradient "slices" into a compact buffer gives the subnet's gradient:
  // build a subnet whose *values* are the supernet's gradients and compare element-wise.
  sn::supernet<S, double> grads_as_values(ds, {.layernorm = true}, 9);
  std::copy(super.params().grads().begin(), super.params().grads().end(),
            grads_as_values.params().values().begin());
  sn::subnet<S, double> sliced(a, grads_as_values);
  const auto gs = sliced.params().values();
  const auto gf = fixed.params().grads();
  REQUIRE(gs.size() == gf.size());
  double worst = 0;
  for (std::size_t i = 0; i < gs.size(); ++i) worst = std::max(worst, std::abs(gs[i] - gf[i]));
  CHECK(worst < 1e-12);
  // And nothing outside the active slices moved.
  double outside = 0;
  for (double v : super.params().grads()) outside += std::abs(v);
  double inside = 0;
  for (double v : gf) inside += std::abs(v);
  CHECK(outside == doctest::Approx(inside).epsilon(1e-9));
}

TEST_CASE("masked (reference-style) execution runs and differs only where documented") {
  // Without LayerNorm, FC-only paths with all sources at their largest widths compute the
  // same function masked or sliced: zero columns add nothing to a linear layer.
  using S = sn::nasrec_small;
  const sn::data_shape ds{13, {5, 6, 7}};
  sn::supernet<S, float> super(ds, {.layernorm = false}, 4);
  auto a = sn::widest_chain<S>(0, 0);
  for (auto& b : a.blocks) b.mergers = 0;
  a.blocks[3].d = 64;
  a.blocks[5].d = 256;
  const auto batch = random_batch(ds, 8, 1);
  std::vector<float> l1(8), l2(8);
  sn::workspace<float> w1, w2;
  super.forward(a, batch.view, w1, l1, sn::exec_mode::sliced);
  super.forward(a, batch.view, w2, l2, sn::exec_mode::masked);
  for (std::size_t i = 0; i < l1.size(); ++i) CHECK(l1[i] == doctest::Approx(l2[i]).epsilon(1e-4));
  std::vector<float> dl(8, 0.1f);
  super.params().zero_grad();
  super.backward(a, w2, dl);  // the masked backward runs too
  double s = 0;
  for (float v : super.params().grads()) s += std::abs(v);
  CHECK(s > 0);
}

TEST_CASE_TEMPLATE("the float path (recnas::kernels) agrees with the double path (Eigen loops)", S,
                   sn::nasrec_full, sn::nasrec_small) {
  const sn::data_shape ds{13, {11, 7, 5, 9}};
  recnas::rng g(31);
  for (int trial = 0; trial < 3; ++trial) {
    const auto a = sn::random_architecture<S>(g);
    CAPTURE(sn::to_string<S>(a));
    const bool ln = trial == 1;
    sn::subnet<S, float> f(a, ds, {.layernorm = ln}, 40 + static_cast<std::uint64_t>(trial));
    sn::subnet<S, double> d(a, ds, {.layernorm = ln}, 40 + static_cast<std::uint64_t>(trial));
    const auto batch = random_batch(ds, 12, 5);
    std::vector<float> lf(12);
    std::vector<double> ld(12);
    sn::workspace<float> wf;
    sn::workspace<double> wd;
    f.forward(batch.view, wf, lf);
    d.forward(batch.view, wd, ld);
    for (std::size_t i = 0; i < lf.size(); ++i) {
      CHECK(static_cast<double>(lf[i]) == doctest::Approx(ld[i]).epsilon(1e-3).scale(1.0));
    }
    std::vector<float> gf(12, 0.05f);
    std::vector<double> gd(12, 0.05);
    f.params().zero_grad();
    d.params().zero_grad();
    f.backward(wf, gf);
    d.backward(wd, gd);
    double worst = 0, norm = 0;
    const auto a1 = f.params().grads();
    const auto a2 = d.params().grads();
    for (std::size_t i = 0; i < a2.size(); ++i) {
      worst = std::max(worst, std::abs(static_cast<double>(a1[i]) - a2[i]));
      norm = std::max(norm, std::abs(a2[i]));
    }
    CHECK(worst <= 2e-3 * std::max(1.0, norm));
  }
}
