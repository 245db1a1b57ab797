// Initialisation schemes: the reference's (Xavier-uniform weights, zero biases, Xavier-normal
// embeddings) and recnas's fan-in uniform, checked entry by entry on a standalone DLRM-like model.
#include <algorithm>
#include <cmath>

#include <doctest/doctest.h>

#include <recnas/supernet/supernet.hpp>
#include <recnas/train/baselines.hpp>

namespace sn = recnas::supernet;
namespace ops = recnas::ops;

namespace {
struct moments {
  double max_abs = 0, sd = 0;
};
moments of(const float* p, recnas::index n) {
  double s = 0, s2 = 0, m = 0;
  for (recnas::index i = 0; i < n; ++i) {
    s += p[i];
    s2 += static_cast<double>(p[i]) * p[i];
    m = std::max(m, std::abs(static_cast<double>(p[i])));
  }
  const double mean = s / static_cast<double>(n);
  return {m, std::sqrt(std::max(0.0, s2 / static_cast<double>(n) - mean * mean))};
}
}  // namespace

TEST_CASE("reference init: Xavier-uniform weights, zero biases, Xavier-normal embeddings") {
  const auto shape = sn::data_shape::criteo(5000);
  sn::subnet<sn::nasrec_full> net(recnas::train::baseline("dlrm"), shape,
                                  {.init = sn::init_scheme::reference}, 3);
  int weights = 0, biases = 0, tables = 0;
  for (const auto& e : net.params().entries()) {
    if (e.size() == 0 || e.decl.init == ops::init_kind::constant) continue;
    const float* p = net.params().values().data() + e.offset;
    const auto m = of(p, e.size());
    if (e.embedding) {
      ++tables;
      const double sd = std::sqrt(2.0 / static_cast<double>(e.rows + e.cols));
      CHECK(m.sd == doctest::Approx(sd).epsilon(0.05));
    } else if (e.decl.init == ops::init_kind::bias) {
      ++biases;
      CHECK(m.max_abs == 0.0);
    } else {
      ++weights;
      const double bound = std::sqrt(6.0 / static_cast<double>(e.decl.rows + e.decl.cols));
      CHECK(m.max_abs <= bound);
      if (e.size() >= 1000) CHECK(m.sd == doctest::Approx(bound / std::sqrt(3.0)).epsilon(0.1));
    }
  }
  CHECK(tables == 26);
  CHECK(weights > 5);
  CHECK(biases > 5);
}

TEST_CASE("fan-in uniform init keeps non-zero biases and small embedding rows") {
  const auto shape = sn::data_shape::criteo(5000);
  sn::subnet<sn::nasrec_full> net(recnas::train::baseline("dlrm"), shape, {}, 3);
  for (const auto& e : net.params().entries()) {
    if (e.size() == 0 || e.decl.init == ops::init_kind::constant) continue;
    const auto m = of(net.params().values().data() + e.offset, e.size());
    if (e.embedding) {
      CHECK(m.max_abs <= 0.05);
    } else {
      const double bound = 1.0 / std::sqrt(static_cast<double>(e.decl.fan_in));
      CHECK(m.max_abs <= bound);
      CHECK(m.max_abs > 0.0);
    }
  }
}
