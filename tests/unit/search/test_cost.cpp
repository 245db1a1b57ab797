// Cost models: each one agrees with the component it wraps, they compose statically and behind
// the runtime wrapper, and the measured CPU latency orders a large model above a small one.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <recnas/search/cost.hpp>

namespace sn = recnas::supernet;
namespace rs = recnas::search;
namespace pim = recnas::pim;

namespace {
using S = sn::nasrec_small;

/// Every block at the given widths, chain-connected, FC + EFC, no mergers.
sn::architecture uniform_arch(recnas::index d, recnas::index s) {
  recnas::rng g(11);
  auto a = sn::random_architecture<S>(g);
  for (int i = 0; i < S::num_blocks; ++i) {
    auto& b = a.blocks[static_cast<std::size_t>(i)];
    b.d = d;
    b.s = s;
    b.mergers = 0;
  }
  sn::validate<S>(a);
  return a;
}

struct not_a_cost_model {
  std::vector<double> measure(const sn::architecture&) { return {}; }
};
}  // namespace

static_assert(rs::CostModel<rs::flops_cost<S>>);
static_assert(rs::CostModel<rs::cpu_latency_cost<S>>);
static_assert(rs::CostModel<rs::pim_cost<S>>);
static_assert(!rs::CostModel<not_a_cost_model>, "a cost model must name its values");

TEST_CASE("FLOPs, parameter and PIM costs equal the components they wrap") {
  const auto shape = sn::data_shape::criteo(1000);
  recnas::rng g(5);
  rs::pim_cost<S> pc(shape);
  pim::analytic_model<pim::isaac_architecture, pim::naive_mapping> ref;
  for (int t = 0; t < 10; ++t) {
    const auto a = sn::random_architecture<S>(g);
    const auto rep = sn::analyze<S>(a, shape);
    CHECK(rs::flops_cost<S>(shape).measure(a).at(0) == rep.mflops());
    CHECK(rs::params_cost<S>(shape).measure(a).at(0) == static_cast<double>(rep.live_params));
    const auto v = pc.measure(a);
    const auto& r = ref.evaluate(sn::workload_of<S>(a, shape), pim::isaac_preset());
    REQUIRE(v.size() == 3);
    CHECK(v[0] == r.energy.total().value());
    CHECK(v[1] == r.latency.value());
    CHECK(v[2] == r.area.total().value());
    CHECK(v[0] > 0);
  }
}

TEST_CASE("cost models compose: names and values concatenate in order") {
  const auto shape = sn::data_shape::avazu(500);
  rs::costs all{rs::flops_cost<S>{shape}, rs::pim_cost<S>{shape}, rs::params_cost<S>{shape}};
  CHECK(all.names() == std::vector<std::string>{"mflops", "pim_energy_pj", "pim_latency_ns",
                                                "pim_area_mm2", "params"});
  recnas::rng g(8);
  const auto a = sn::random_architecture<S>(g);
  const auto v = all.measure(a);
  REQUIRE(v.size() == 5);
  CHECK(v[0] == rs::flops_cost<S>(shape).measure(a)[0]);
  CHECK(v[4] == rs::params_cost<S>(shape).measure(a)[0]);
  rs::pim_cost<S> p(shape);
  CHECK(v[1] == p.measure(a)[0]);

  rs::any_cost_model erased(all);
  CHECK(erased.names() == all.names());
  CHECK(erased.measure(a) == v);
}

TEST_CASE("the PIM cost follows the preset and the mapping") {
  const auto shape = sn::data_shape::criteo(1000);
  const auto a = uniform_arch(256, 32);
  rs::pim_cost<S> isaac(shape);
  rs::pim_cost<S, pim::neurosim_architecture> neuro(shape, pim::neurosim_preset());
  rs::pim_cost<S, pim::isaac_architecture, pim::pim_aware_mapping> aware(shape);
  const auto vi = isaac.measure(a), vn = neuro.measure(a), va = aware.measure(a);
  CHECK(vi[0] != vn[0]);
  // The PIM-aware mapping replicates layers and places hot embedding rows: another chip use.
  CHECK(va != vi);
}

TEST_CASE("measured CPU latency: positive, and a 64x wider model is slower") {
  const auto shape = sn::data_shape::criteo(100000);
  rs::cpu_latency_cost<S> lat(shape, {.batch = 128, .warmup = 1, .runs = 5});
  CHECK(lat.names() == std::vector<std::string>{"cpu_ms"});
  const auto small = uniform_arch(16, 16), large = uniform_arch(1024, 64);
  const double ms_small = lat.measure(small).at(0);
  const double ms_large = lat.measure(large).at(0);
  CHECK(std::isfinite(ms_small));
  CHECK(ms_small > 0);
  // FLOPs differ by far more than 2x; timing noise on a loaded machine does not.
  REQUIRE(sn::analyze<S>(large, shape).flops > 20 * sn::analyze<S>(small, shape).flops);
  CHECK(ms_large > 2 * ms_small);
}

TEST_CASE("trimmed mean drops the tails") {
  using L = rs::cpu_latency_cost<S>;
  CHECK(L::trimmed_mean({1, 2, 3, 4, 100}, 0.2) == doctest::Approx(3.0));
  CHECK(L::trimmed_mean({5}, 0.05) == doctest::Approx(5.0));
  CHECK(L::trimmed_mean({1, 3}, 0.0) == doctest::Approx(2.0));
}
