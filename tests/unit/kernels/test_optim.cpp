// The training-step kernels (gradient norm, scaling, Adagrad) against double references on
// awkward sizes, on every ISA; an element's Adagrad result does not depend on the span it is
// updated in (what makes the row-sparse update equal the dense one).
#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include <recnas/kernels/optim.hpp>

#include "kernel_test_util.hpp"

namespace {
namespace rk = recnas::kernels;
using idx = recnas::index;
const idx sizes[] = {0, 1, 7, 16, 17, 63, 129, 255, 256, 257, 1000, 4099};
}  // namespace

TEST_CASE("sum_squares and scale match double references") {
  for (auto level : kt::isa_levels()) {
    recnas::simd::scoped_isa guard(level);
    for (idx n : sizes) {
      CAPTURE(n);
      for (idx off : {0, 3}) {  // unaligned starts
        auto x = kt::random_vec(static_cast<std::size_t>(n + off), 7, -3.f, 3.f);
        const double ref = rk::reference::sum_squares(x.data() + off, n);
        const double got = rk::sum_squares(x.data() + off, n);
        CHECK(got == doctest::Approx(ref).epsilon(1e-6));
        auto y = x;
        rk::scale(y.data() + off, n, 0.37f);
        std::size_t wrong = 0;
        for (idx i = 0; i < n + off; ++i) {
          const float want =
              i < off ? x[static_cast<std::size_t>(i)] : x[static_cast<std::size_t>(i)] * 0.37f;
          wrong += y[static_cast<std::size_t>(i)] == want ? 0 : 1;
        }
        CHECK(wrong == 0);
      }
    }
  }
}

TEST_CASE("Adagrad update matches the double reference and is position-independent") {
  for (auto level : kt::isa_levels()) {
    recnas::simd::scoped_isa guard(level);
    for (idx n : sizes) {
      CAPTURE(n);
      for (double wd : {0.0, 0.01}) {
        auto w = kt::random_vec(static_cast<std::size_t>(n), 1, -1.f, 1.f);
        auto g = kt::random_vec(w.size(), 2, -2.f, 2.f);
        auto s = kt::random_vec(w.size(), 3, 0.f, 4.f);
        auto w_ref = w, s_ref = s, w_one = w, s_one = s;
        const auto g0 = g;
        for (int step = 0; step < 3; ++step) {
          rk::adagrad_update(w.data(), g.data(), s.data(), n, 0.05f, 1e-2f, static_cast<float>(wd));
          rk::reference::adagrad_update(w_ref.data(), g.data(), s_ref.data(), n, 0.05f, 1e-2,
                                        static_cast<float>(wd));
          // one element at a time: the same bits as the whole span
          for (idx i = 0; i < n; ++i)
            rk::adagrad_update(w_one.data() + i, g.data() + i, s_one.data() + i, 1, 0.05f, 1e-2f,
                               static_cast<float>(wd));
        }
        CHECK(g == g0);  // the gradient is read only
        CHECK(kt::close(w, w_ref, 1e-6, 1e-5));
        CHECK(kt::close(s, s_ref, 1e-6, 1e-5));
        CHECK(w == w_one);
        CHECK(s == s_one);
      }
    }
  }
}
