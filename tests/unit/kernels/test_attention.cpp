#include <algorithm>
#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include <recnas/kernels/attention.hpp>
#include <recnas/parallel/threads.hpp>

#include "kernel_test_util.hpp"

namespace {

namespace rk = recnas::kernels;
using recnas::index;

TEST_CASE("attention forward matches the reference; backward matches finite differences") {
  for (auto level : kt::isa_levels()) {
    recnas::simd::scoped_isa guard(level);
    struct shape {
      index batch, tokens, width, heads;
    };
    for (const shape sh :
         {shape{2, 1, 16, 8}, shape{3, 7, 16, 8}, shape{2, 17, 16, 4}, shape{2, 5, 6, 3},
          shape{1, 33, 16, 1}, shape{2, 40, 16, 8}, shape{1, 72, 16, 8}, shape{2, 9, 40, 2}}) {
      CAPTURE(sh.tokens);
      CAPTURE(sh.heads);
      const index ts = sh.width + 1, bs = sh.tokens * ts + 2, n = sh.batch * bs;
      auto q = kt::random_vec(static_cast<std::size_t>(n), 1),
           k = kt::random_vec(static_cast<std::size_t>(n), 2),
           v = kt::random_vec(static_cast<std::size_t>(n), 3);
      auto tv = [&](std::vector<float>& x) {
        return recnas::token_view<const float>(x.data(), sh.batch, sh.tokens, sh.width, bs, ts);
      };
      auto mv = [&](std::vector<float>& x) {
        return recnas::token_view<float>(x.data(), sh.batch, sh.tokens, sh.width, bs, ts);
      };
      const rk::attention_io io{tv(q), tv(k), tv(v)};
      std::vector<float> out(static_cast<std::size_t>(n), 9.0f), outr(out);
      std::vector<float> probs(
          static_cast<std::size_t>(rk::attention_probs_size(sh.batch, sh.tokens, sh.heads)));
      std::vector<float> ws(
          static_cast<std::size_t>(rk::attention_workspace_size(sh.tokens, sh.width, sh.heads)));
      rk::attention_forward(io, sh.heads, mv(out), probs, ws);
      rk::attention_forward_ref(io, sh.heads, mv(outr));
      CHECK(kt::close(out, outr, 1e-5, 1e-4));
      if (sh.tokens > 17) continue;
      auto r = kt::random_vec(out.size(), 4);
      auto loss = [&] {
        std::vector<float> o(out.size(), 0.0f);
        rk::attention_forward_ref(io, sh.heads, mv(o));
        return kt::weighted_sum(r, o);
      };
      std::vector<float> dq(out.size(), 0.0f), dk(out.size(), 0.0f), dv(out.size(), 0.0f);
      rk::attention_backward(io, sh.heads, probs, tv(r), mv(dq), mv(dk), mv(dv), false, ws);
      // accumulate = true adds the same gradients on top (padding between rows untouched).
      std::vector<float> dq2(dq), dk2(dk), dv2(dv);
      rk::attention_backward(io, sh.heads, probs, tv(r), mv(dq2), mv(dk2), mv(dv2), true, ws);
      for (std::size_t i = 0; i < dq.size(); ++i) {
        CHECK(dq2[i] == doctest::Approx(2.0f * dq[i]).epsilon(1e-5));
        CHECK(dk2[i] == doctest::Approx(2.0f * dk[i]).epsilon(1e-5));
        CHECK(dv2[i] == doctest::Approx(2.0f * dv[i]).epsilon(1e-5));
      }
      for (index b = 0; b < sh.batch; ++b)
        for (index t = 0; t < sh.tokens; ++t)
          for (index c = 0; c < sh.width; ++c) {
            const auto id = static_cast<std::size_t>(b * bs + t * ts + c);
            CHECK(dq[id] == doctest::Approx(kt::fd(loss, q[id])).epsilon(1e-2).scale(1e-2));
            CHECK(dk[id] == doctest::Approx(kt::fd(loss, k[id])).epsilon(1e-2).scale(1e-2));
            CHECK(dv[id] == doctest::Approx(kt::fd(loss, v[id])).epsilon(1e-2).scale(1e-2));
          }
    }
  }
}

TEST_CASE("attention is bit-identical for 1 and 2 threads") {
  const index B = 64, T = 27, E = 16, H = 8;
  auto x = kt::random_vec(static_cast<std::size_t>(B * T * E), 5);
  const recnas::token_view<const float> tv(x.data(), B, T, E);
  auto run = [&](int threads) {
    std::vector<float> out(x.size()), dq(x.size()), dk(x.size()), dv(x.size());
    std::vector<float> probs(static_cast<std::size_t>(rk::attention_probs_size(B, T, H)));
    std::vector<float> ws(static_cast<std::size_t>(rk::attention_workspace_size(T, E, H, 2)));
    recnas::parallel::with_threads(threads, [&] {
      rk::attention_forward({tv, tv, tv}, H, {out.data(), B, T, E}, probs, ws);
      rk::attention_backward({tv, tv, tv}, H, probs, tv, {dq.data(), B, T, E}, {dk.data(), B, T, E},
                             {dv.data(), B, T, E}, false, ws);
    });
    out.insert(out.end(), dq.begin(), dq.end());
    out.insert(out.end(), dk.begin(), dk.end());
    return out;
  };
  CHECK(run(1) == run(2));
}

}  // namespace

TEST_CASE("exp_nonpos matches std::exp on [-100, 0] within a few ulp, 0 below -87") {
  using batch = xsimd::batch<float>;
  constexpr std::size_t L = batch::size;
  double worst = 0;
  for (int i = 0; i <= 200000; i += static_cast<int>(L)) {
    alignas(64) float x[L], y[L];
    for (std::size_t l = 0; l < L; ++l) x[l] = -100.0f * static_cast<float>(i + l) / 200000.0f;
    rk::detail::exp_nonpos<batch::arch_type>(batch::load_aligned(x)).store_aligned(y);
    for (std::size_t l = 0; l < L; ++l) {
      if (x[l] < -87.0f) {
        CHECK(y[l] == 0.0f);
        continue;
      }
      const double ref = std::exp(static_cast<double>(x[l]));
      worst = std::max(worst, std::abs(y[l] - ref) / ref);
    }
  }
  CHECK(worst < 4e-7);
  alignas(64) float z[L] = {}, one[L];
  rk::detail::exp_nonpos<batch::arch_type>(batch::load_aligned(z)).store_aligned(one);
  CHECK(one[0] == 1.0f);
  z[0] = -INFINITY;
  rk::detail::exp_nonpos<batch::arch_type>(batch::load_aligned(z)).store_aligned(one);
  CHECK(one[0] == 0.0f);
}
