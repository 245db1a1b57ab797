// Finite-difference gradient checks (double) of whole random architectures, standalone and
// inside the supernet, for both predefined spaces and with/without supernet LayerNorm.
#include <doctest/doctest.h>

#include "common.hpp"

namespace sn = recnas::supernet;
using recnas_test::check_gradients;
using recnas_test::random_batch;

namespace {
const sn::data_shape small_data{3, {7, 5, 9, 4}};
}

TEST_CASE_TEMPLATE("standalone subnet gradients match finite differences", S, sn::nasrec_full,
                   sn::nasrec_small) {
  for (std::uint64_t seed = 1; seed <= 2; ++seed) {
    recnas::rng g(seed * 77);
    const auto a = sn::random_architecture<S>(g);
    CAPTURE(sn::to_string<S>(a));
    const bool ln = seed == 2;
    sn::subnet<S, double> net(a, small_data, {.layernorm = ln}, seed);
    const auto batch = random_batch(small_data, 3, seed);
    const auto res = check_gradients(net, a, batch.view, seed);
    CHECK(res.checked > 10);
  }
}

TEST_CASE("supernet gradients match finite differences on random paths") {
  // The full supernet in double is large; nasrec_small keeps the test fast, and nasrec_full's
  // operators are covered by the standalone checks plus the weight-sharing equivalence.
  using S = sn::nasrec_small;
  sn::supernet<S, double> net(small_data, {.layernorm = true}, 5);
  for (std::uint64_t seed = 1; seed <= (recnas_test::sanitized ? 1U : 2U); ++seed) {
    recnas::rng g(seed * 91);
    const auto a = sn::random_architecture<S>(g);
    CAPTURE(sn::to_string<S>(a));
    const auto batch = random_batch(small_data, 2, seed);
    const auto res = check_gradients(net, a, batch.view, seed, 1, 12);
    CHECK(res.zero_checked > 0);  // inactive slices were probed and have no gradient
  }
}
