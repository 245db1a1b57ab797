#include <vector>

#include <doctest/doctest.h>

#include <recnas/kernels/interaction.hpp>
#include <recnas/parallel/threads.hpp>

#include "kernel_test_util.hpp"

namespace {

namespace rk = recnas::kernels;
using recnas::index;

TEST_CASE("dot interaction and FM match references; backwards match finite differences") {
  for (auto level : kt::isa_levels()) {
    recnas::simd::scoped_isa guard(level);
    for (index n : {1, 2, 7, 27, 41}) {
      for (index e : {1, 16, 17, 40, 130}) {
        const index batch = 5, ts = e + 2, bs = n * ts + 1;
        CAPTURE(n);
        CAPTURE(e);
        auto x = kt::random_vec(static_cast<std::size_t>(batch * bs), 1);
        const recnas::token_view<const float> tv(x.data(), batch, n, e, bs, ts);
        const index nz = rk::dot_interaction_size(n), ldo = nz + 1;
        std::vector<float> z(static_cast<std::size_t>(batch * ldo) + 1), zr(z.size());
        rk::dot_interaction(tv, z.data(), ldo);
        rk::dot_interaction_ref(tv, zr.data(), ldo);
        CHECK(kt::close(z, zr));
        std::vector<float> f(static_cast<std::size_t>(batch * (e + 1))), fr(f.size());
        rk::fm(tv, f.data(), e + 1);
        rk::fm_ref(tv, fr.data(), e + 1);
        CHECK(kt::close(f, fr, 1e-4, 1e-4));
        if (n > 7 || e > 16) continue;  // finite differences on the smaller shapes
        auto rz = kt::random_vec(z.size(), 2), rf = kt::random_vec(f.size(), 3);
        auto loss = [&] {
          std::vector<float> a(z.size()), b(f.size());
          rk::dot_interaction_ref(tv, a.data(), ldo);
          rk::fm_ref(tv, b.data(), e + 1);
          return kt::weighted_sum(rz, a) + kt::weighted_sum(rf, b);
        };
        std::vector<float> dx(x.size(), 0.5f);
        const recnas::token_view<float> dv(dx.data(), batch, n, e, bs, ts);
        rk::dot_interaction_backward(tv, rz.data(), ldo, dv, false);
        rk::fm_backward(tv, rf.data(), e + 1, dv, true);
        // entries outside the tensor (padding) are never written
        std::vector<float> grad(x.size(), 0.0f);
        for (index b = 0; b < batch; ++b)
          for (index t = 0; t < n; ++t)
            for (index c = 0; c < e; ++c)
              grad[static_cast<std::size_t>(b * bs + t * ts + c)] = dv(b, t, c);
        std::vector<float> expect_pad;
        for (std::size_t i = 0; i < x.size(); ++i) {
          const index b = static_cast<index>(i) / bs, rem = static_cast<index>(i) % bs;
          const bool inside = b < batch && rem < n * ts && rem % ts < e;
          if (!inside) CHECK(dx[i] == 0.5f);
        }
        kt::check_fd(loss, x, grad);
      }
    }
  }
}

TEST_CASE("dot interaction backward matches a double reference; accumulate adds; 1 == 2 threads") {
  for (auto level : kt::isa_levels()) {
    recnas::simd::scoped_isa guard(level);
    for (index n : {2, 27, 41}) {
      for (index e : {5, 16, 33}) {
        CAPTURE(n);
        CAPTURE(e);
        const index batch = 7, ts = e + 3, bs = n * ts + 2;
        auto x = kt::random_vec(static_cast<std::size_t>(batch * bs), 11);
        const recnas::token_view<const float> tv(x.data(), batch, n, e, bs, ts);
        const index nz = rk::dot_interaction_size(n), ldo = nz + 3;
        auto dz = kt::random_vec(static_cast<std::size_t>(batch * ldo), 12);
        std::vector<float> ref(x.size(), 0.0f);
        for (index b = 0; b < batch; ++b)
          for (index i = 0; i < n; ++i)
            for (index c = 0; c < e; ++c) {
              double acc = 0;
              for (index j = 0; j < n; ++j) {
                if (j == i) continue;
                const index p = i > j ? i * (i - 1) / 2 + j : j * (j - 1) / 2 + i;
                acc += static_cast<double>(dz[static_cast<std::size_t>(b * ldo + p)]) *
                       x[static_cast<std::size_t>(b * bs + j * ts + c)];
              }
              ref[static_cast<std::size_t>(b * bs + i * ts + c)] = static_cast<float>(acc);
            }
        std::vector<float> d1(x.size(), 0.0f), d2(x.size(), 0.0f);
        const recnas::token_view<float> v1(d1.data(), batch, n, e, bs, ts),
            v2(d2.data(), batch, n, e, bs, ts);
        recnas::parallel::with_threads(
            1, [&] { rk::dot_interaction_backward(tv, dz.data(), ldo, v1, false); });
        recnas::parallel::with_threads(
            2, [&] { rk::dot_interaction_backward(tv, dz.data(), ldo, v2, false); });
        CHECK(d1 == d2);
        CHECK(kt::close(d1, ref, 1e-5, 1e-4));
        rk::dot_interaction_backward(tv, dz.data(), ldo, v1, true);
        for (std::size_t i = 0; i < d1.size(); ++i)
          CHECK(d1[i] == doctest::Approx(2.0f * ref[i]).epsilon(1e-4).scale(1.0));
      }
    }
  }
}

}  // namespace
