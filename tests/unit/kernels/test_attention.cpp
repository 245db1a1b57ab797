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
    for (const shape sh : {shape{2, 1, 16, 8}, shape{3, 7, 16, 8}, shape{2, 17, 16, 4},
                           shape{2, 5, 6, 3}, shape{1, 33, 16, 1}}) {
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
