#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include <recnas/kernels/elementwise.hpp>

#include "kernel_test_util.hpp"

namespace {

namespace rk = recnas::kernels;
using recnas::index;

TEST_CASE("activations, binary ops and their backwards match references and finite differences") {
  for (auto level : kt::isa_levels()) {
    recnas::simd::scoped_isa guard(level);
    for (index cols : {1, 7, 17, 63}) {
      const index rows = 3, ld = cols + 2;
      CAPTURE(cols);
      auto a = kt::random_vec(static_cast<std::size_t>(rows * ld), 1, -2.f, 2.f);
      auto b = kt::random_vec(a.size(), 2, -2.f, 2.f);
      auto r = kt::random_vec(a.size(), 3);
      for (rk::activation act : {rk::activation::relu, rk::activation::sigmoid}) {
        std::vector<float> y(a.size());
        rk::activation_forward(act, rows, cols, a.data(), ld, y.data(), ld);
        for (index i = 0; i < rows; ++i)
          for (index c = 0; c < cols; ++c) {
            const auto id = static_cast<std::size_t>(i * ld + c);
            CHECK(y[id] == doctest::Approx(rk::activation_ref(act, a[id])).epsilon(1e-5));
          }
      }
      for (rk::binary_op op :
           {rk::binary_op::add, rk::binary_op::mul, rk::binary_op::sigmoid_gate}) {
        CAPTURE(static_cast<int>(op));
        auto f = [&](std::vector<float>& out) {
          for (index i = 0; i < rows; ++i)
            for (index c = 0; c < cols; ++c) {
              const auto id = static_cast<std::size_t>(i * ld + c);
              const double x = a[id], g = b[id];
              out[id] = static_cast<float>(op == rk::binary_op::add   ? x + g
                                           : op == rk::binary_op::mul ? x * g
                                                                      : x / (1 + std::exp(-g)));
            }
        };
        std::vector<float> y(a.size()), yr(a.size());
        rk::binary(op, rows, cols, a.data(), ld, b.data(), ld, y.data(), ld);
        f(yr);
        CHECK(kt::close(y, yr, 1e-5, 1e-5));
        if (op == rk::binary_op::add) continue;
        std::vector<float> da(a.size(), 1.0f), db(a.size(), 1.0f);
        rk::binary_backward(op, rows, cols, a.data(), ld, b.data(), ld, r.data(), ld, da.data(), ld,
                            db.data(), ld, true);
        for (auto& v : da) v -= 1.0f;  // accumulate=true added to 1
        for (auto& v : db) v -= 1.0f;
        auto loss = [&] {
          std::vector<float> o(a.size());
          f(o);
          double s = 0;
          for (index i = 0; i < rows; ++i)
            for (index c = 0; c < cols; ++c)
              s += static_cast<double>(r[static_cast<std::size_t>(i * ld + c)]) *
                   o[static_cast<std::size_t>(i * ld + c)];
          return s;
        };
        for (index i = 0; i < rows; ++i)
          for (index c = 0; c < cols; ++c) {
            const auto id = static_cast<std::size_t>(i * ld + c);
            CHECK(da[id] == doctest::Approx(kt::fd(loss, a[id])).epsilon(1e-2).scale(1e-2));
            CHECK(db[id] == doctest::Approx(kt::fd(loss, b[id])).epsilon(1e-2).scale(1e-2));
          }
      }
    }
  }
}

TEST_CASE("layer norm over an active width: forward vs reference, backward vs finite differences") {
  for (auto level : kt::isa_levels()) {
    recnas::simd::scoped_isa guard(level);
    for (index width : {1, 7, 16, 17, 63, 129}) {
      const index rows = 4, ld = width + 5;  // the max width (ld) is larger than the active one
      CAPTURE(width);
      auto x = kt::random_vec(static_cast<std::size_t>(rows * ld), 1, -1.f, 3.f);
      auto gamma = kt::random_vec(static_cast<std::size_t>(ld), 2, 0.5f, 1.5f);
      auto beta = kt::random_vec(static_cast<std::size_t>(ld), 3);
      std::vector<float> y(x.size()), yr(x.size()), mean(rows), rstd(rows);
      const float eps = 1e-3f;
      rk::layer_norm(rows, width, x.data(), ld, gamma.data(), beta.data(), eps, y.data(), ld,
                     mean.data(), rstd.data());
      rk::layer_norm_ref(rows, width, x.data(), ld, gamma.data(), beta.data(), eps, yr.data(), ld);
      CHECK(kt::close(y, yr, 1e-4, 1e-4));
      if (width > 63) continue;
      auto r = kt::random_vec(x.size(), 4);
      auto loss = [&] {
        std::vector<float> o(x.size());
        rk::layer_norm_ref(rows, width, x.data(), ld, gamma.data(), beta.data(), eps, o.data(), ld);
        return kt::weighted_sum(r, o);
      };
      std::vector<float> dx(x.size(), 0.0f), dg(gamma.size(), 0.0f), dbt(beta.size(), 0.0f);
      rk::layer_norm_backward(rows, width, x.data(), ld, r.data(), ld, gamma.data(), mean.data(),
                              rstd.data(), dx.data(), ld, false, dg.data(), dbt.data());
      for (index i = 0; i < rows; ++i)
        for (index c = 0; c < width; ++c) {
          const auto id = static_cast<std::size_t>(i * ld + c);
          CHECK(dx[id] == doctest::Approx(kt::fd(loss, x[id])).epsilon(2e-2).scale(2e-2));
        }
      for (index c = 0; c < width; ++c) {
        const auto id = static_cast<std::size_t>(c);
        CHECK(dg[id] == doctest::Approx(kt::fd(loss, gamma[id])).epsilon(1e-2).scale(1e-2));
        CHECK(dbt[id] == doctest::Approx(kt::fd(loss, beta[id])).epsilon(1e-2).scale(1e-2));
      }
      for (index c = width; c < ld; ++c) CHECK(dg[static_cast<std::size_t>(c)] == 0.0f);
    }
  }
}

TEST_CASE("softmax, row sums and token sums with their backwards") {
  for (auto level : kt::isa_levels()) {
    recnas::simd::scoped_isa guard(level);
    for (index cols : {1, 7, 17, 63, 200}) {
      const index rows = 3, ld = cols + 1;
      CAPTURE(cols);
      auto x = kt::random_vec(static_cast<std::size_t>(rows * ld), 1, -4.f, 4.f);
      std::vector<float> y(x.size()), yr(x.size());
      rk::softmax(rows, cols, x.data(), ld, y.data(), ld);
      rk::softmax_ref(rows, cols, x.data(), ld, yr.data(), ld);
      CHECK(kt::close(y, yr, 1e-6, 1e-5));
      auto r = kt::random_vec(x.size(), 2);
      std::vector<float> dx(x.size(), 0.0f);
      rk::softmax_backward(rows, cols, y.data(), ld, r.data(), ld, dx.data(), ld, false);
      auto loss = [&] {
        std::vector<float> o(x.size());
        rk::softmax_ref(rows, cols, x.data(), ld, o.data(), ld);
        return kt::weighted_sum(r, o);
      };
      if (cols <= 63) {
        for (index i = 0; i < rows; ++i)
          for (index c = 0; c < cols; ++c) {
            const auto id = static_cast<std::size_t>(i * ld + c);
            CHECK(dx[id] == doctest::Approx(kt::fd(loss, x[id])).epsilon(1e-2).scale(1e-3));
          }
      }
      std::vector<float> s(rows);
      rk::row_sum(rows, cols, x.data(), ld, s.data(), false);
      for (index i = 0; i < rows; ++i) {
        double ref = 0;
        for (index c = 0; c < cols; ++c) ref += x[static_cast<std::size_t>(i * ld + c)];
        CHECK(s[static_cast<std::size_t>(i)] == doctest::Approx(ref).epsilon(1e-5).scale(1e-4));
      }
    }
    // token sum over [B, T, E] and its broadcast backward
    const index batch = 4, tokens = 5, e = 17, ts = 19, bs = tokens * ts + 3;
    auto x = kt::random_vec(static_cast<std::size_t>(batch * bs), 7);
    const recnas::token_view<const float> tv(x.data(), batch, tokens, e, bs, ts);
    std::vector<float> y(static_cast<std::size_t>(batch * e), 1.0f);
    rk::token_sum(tv, y.data(), e, true);
    for (index b = 0; b < batch; ++b)
      for (index c = 0; c < e; ++c) {
        double ref = 1.0;
        for (index t = 0; t < tokens; ++t) ref += tv(b, t, c);
        CHECK(y[static_cast<std::size_t>(b * e + c)] == doctest::Approx(ref).epsilon(1e-5));
      }
    std::vector<float> dx(x.size(), 3.0f);
    rk::token_sum_backward(y.data(), e, {dx.data(), batch, tokens, e, bs, ts}, false);
    bool ok = true;
    for (index b = 0; b < batch; ++b)
      for (index t = 0; t < tokens; ++t)
        for (index c = 0; c < e; ++c)
          ok = ok && dx[static_cast<std::size_t>(b * bs + t * ts + c)] ==
                         y[static_cast<std::size_t>(b * e + c)];
    CHECK(ok);
    CHECK(dx[static_cast<std::size_t>(e)] == 3.0f);  // token padding untouched
  }
}

}  // namespace
