#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include <recnas/codesign/fake_quant.hpp>
#include <recnas/core/rng.hpp>

namespace cd = recnas::codesign;

TEST_CASE("fake quantization equals a naive double reference") {
  recnas::rng g(4);
  for (int bits : {2, 3, 4, 8}) {
    for (bool is_signed : {true, false}) {
      std::vector<float> x(257);
      for (auto& v : x) v = static_cast<float>(is_signed ? g.normal() : std::abs(g.normal()));
      const auto grid = cd::calibrate(x.data(), 257, bits, is_signed);
      const double levels = is_signed ? std::pow(2.0, bits - 1) - 1 : std::pow(2.0, bits) - 1;
      double mx = 0;
      for (float v : x) mx = std::max(mx, std::abs(static_cast<double>(v)));
      CHECK(grid.scale == doctest::Approx(mx / levels));
      std::vector<float> y(257);
      cd::fake_quant_forward(x.data(), 257, grid, y.data());
      for (std::size_t i = 0; i < x.size(); ++i) {
        const double q = std::nearbyint(x[i] / grid.scale);
        CHECK(y[i] == doctest::Approx(q * grid.scale).epsilon(1e-6));
        CHECK(std::abs(y[i] - x[i]) <= grid.scale / 2 * (1 + 1e-5));  // within half a step
      }
      // The number of distinct output values never exceeds the grid size.
      std::vector<float> sorted = y;
      std::sort(sorted.begin(), sorted.end());
      const auto distinct = std::unique(sorted.begin(), sorted.end()) - sorted.begin();
      CHECK(distinct <= static_cast<long>(is_signed ? 2 * levels + 1 : levels + 1));
    }
  }
}

TEST_CASE("clipping and the straight-through estimator") {
  const cd::quant_grid grid{4, true, 0.125};  // representable: -0.875 .. 0.875, exact in binary
  const std::vector<float> x = {-2.0f, -0.9f, -0.3f, 0.0f, 0.3125f, 0.4375f, 0.875f, 0.95f, 5.0f};
  std::vector<float> y(x.size()), dy(x.size(), 1.0f), dx(x.size());
  std::vector<std::uint8_t> mask(x.size());
  cd::fake_quant_forward(x.data(), static_cast<recnas::index>(x.size()), grid, y.data(),
                         mask.data());
  CHECK(y[0] == -0.875f);
  CHECK(y[1] == -0.875f);
  CHECK(y[2] == -0.25f);
  CHECK(y[4] == 0.25f);  // 2.5 steps -> 2: ties to even, as torch.round
  CHECK(y[5] == 0.5f);   // 3.5 steps -> 4
  CHECK(y[8] == 0.875f);
  cd::fake_quant_backward(dy.data(), mask.data(), static_cast<recnas::index>(x.size()), dx.data());
  const std::vector<float> expect = {0, 1, 1, 1, 1, 1, 1, 0, 0};  // -0.9 rounds to -7: inside
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(dx[i] == expect[i]);
  const auto err = cd::measure_error(x.data(), 4, grid);
  CHECK(err.max_abs == doctest::Approx(1.125));
  CHECK_THROWS_AS((void)cd::calibrate(x.data(), 1, 1, true), recnas::contract_error);
}

TEST_CASE("rounding is to nearest, ties to even, as std::nearbyint") {
  for (double v : {0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999999999999994, 3.5000000000000004, 0.0,
                   -0.0, 127.5, -127.5, 8388607.5, -8388608.5, 1e-300, 2.0, -3.0}) {
    CHECK_MESSAGE(recnas::round_half_even(v) == std::nearbyint(v), v);
  }
  recnas::rng g(8);
  int differ = 0;
  for (int i = 0; i < 100000; ++i) {
    const double v = g.normal() * 300.0;
    differ += recnas::round_half_even(v) != std::nearbyint(v) ? 1 : 0;
  }
  CHECK(differ == 0);
  // values far outside the grid clip to its ends (rounding is exact only near the grid)
  const recnas::quant_grid grid{4, true, 0.5};
  const float x[4] = {1e30f, -1e30f, 3.74f, -3.76f};
  float y[4];
  recnas::fake_quant_forward(x, 4, grid, y);
  CHECK(y[0] == 3.5f);
  CHECK(y[1] == -3.5f);
  CHECK(y[2] == 3.5f);
  CHECK(y[3] == -3.5f);
}
