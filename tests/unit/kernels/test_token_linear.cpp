#include <vector>

#include <doctest/doctest.h>

#include <recnas/kernels/token_linear.hpp>
#include <recnas/parallel/threads.hpp>

#include "kernel_test_util.hpp"

namespace {

namespace rk = recnas::kernels;
using recnas::index;

struct tl_case {
  index batch, e, s;
  std::vector<index> tokens;
};

struct tl_setup {
  index ldw = 0, smax = 0;
  std::vector<std::vector<float>> xs;
  std::vector<rk::token_input> in;
  std::vector<float> w;
};

tl_setup make(const tl_case& c, std::uint64_t seed) {
  tl_setup st;
  index col = 1;
  for (std::size_t i = 0; i < c.tokens.size(); ++i) {
    const index ts = c.e + static_cast<index>(i % 2) * 3;  // padded token stride on odd sources
    const index bs = c.tokens[i] * ts + 5;
    st.xs.push_back(
        kt::random_vec(static_cast<std::size_t>(std::max<index>(c.batch * bs, 1)), seed + i));
    st.in.push_back({st.xs.back().data(), bs, ts, col, c.tokens[i]});
    col += c.tokens[i];
  }
  st.ldw = col + 3;
  st.smax = c.s + 2;
  st.w = kt::random_vec(static_cast<std::size_t>(st.smax * st.ldw), seed + 100);
  return st;
}

const std::vector<tl_case> cases = {
    {1, 16, 1, {1}},        {7, 16, 17, {63}},   {17, 16, 7, {5, 1, 30}},
    {3, 7, 33, {17, 0, 4}}, {5, 33, 25, {129}},  {9, 1, 3, {2, 2}},
    {4, 48, 49, {20}},      {2, 16, 200, {200}}, {3, 16, 0, {4}},
};

TEST_CASE("token_linear forward and backward match the double reference on every ISA") {
  for (auto level : kt::isa_levels()) {
    recnas::simd::scoped_isa guard(level);
    for (const auto& c : cases) {
      CAPTURE(recnas::simd::to_string(level));
      CAPTURE(c.batch);
      CAPTURE(c.e);
      CAPTURE(c.s);
      auto st = make(c, 3);
      std::vector<float> ws(
          static_cast<std::size_t>(rk::token_linear_workspace_size(st.in, c.s, c.e)));
      const index yts = c.e + 1, ybs = c.s * yts + 2;
      for (bool acc : {false, true}) {
        auto y = kt::random_vec(static_cast<std::size_t>(c.batch * ybs + 1), 9), yr = y;
        rk::token_linear_forward(st.in, c.batch, c.e, st.w.data(), st.ldw, c.s,
                                 {y.data(), ybs, yts}, acc, ws);
        rk::token_linear_forward_ref(st.in, c.batch, c.e, st.w.data(), st.ldw, c.s,
                                     {yr.data(), ybs, yts}, acc);
        CHECK(kt::close(y, yr));
      }
      auto dy = kt::random_vec(static_cast<std::size_t>(c.batch * ybs + 1), 10);
      std::vector<std::vector<float>> dx, dxr;
      std::vector<rk::token_input_grad> g, gr;
      for (std::size_t i = 0; i < st.in.size(); ++i) {
        dx.push_back(kt::random_vec(st.xs[i].size(), 20 + i));
        dxr.push_back(dx.back());
      }
      for (std::size_t i = 0; i < st.in.size(); ++i) {
        const bool acc = i % 2 == 0;
        g.push_back({dx[i].data(), st.in[i].batch_stride, st.in[i].token_stride, acc});
        gr.push_back({dxr[i].data(), st.in[i].batch_stride, st.in[i].token_stride, acc});
      }
      rk::token_linear_backward_data(st.in, g, c.batch, c.e, st.w.data(), st.ldw, c.s,
                                     {dy.data(), ybs, yts}, ws);
      rk::token_linear_backward_data_ref(st.in, gr, c.batch, c.e, st.w.data(), st.ldw, c.s,
                                         {dy.data(), ybs, yts});
      for (std::size_t i = 0; i < dx.size(); ++i) CHECK(kt::close(dx[i], dxr[i]));
      auto dw = kt::random_vec(st.w.size(), 30), dwr = dw;
      rk::token_linear_backward_weight(st.in, c.batch, c.e, c.s, {dy.data(), ybs, yts}, dw.data(),
                                       st.ldw, ws);
      rk::token_linear_backward_weight_ref(st.in, c.batch, c.e, c.s, {dy.data(), ybs, yts},
                                           dwr.data(), st.ldw);
      CHECK(kt::close(dw, dwr, 2e-4, 1e-4));
    }
  }
}

TEST_CASE("token_linear gradients agree with finite differences and threads do not change bits") {
  const tl_case c{3, 5, 4, {3, 2}};
  auto st = make(c, 8);
  std::vector<float> ws(
      static_cast<std::size_t>(rk::token_linear_workspace_size(st.in, c.s, c.e, 2)));
  const index yts = c.e, ybs = c.s * c.e;
  auto r = kt::random_vec(static_cast<std::size_t>(c.batch * ybs), 4);
  auto loss = [&] {
    std::vector<float> y(r.size());
    rk::token_linear_forward_ref(st.in, c.batch, c.e, st.w.data(), st.ldw, c.s,
                                 {y.data(), ybs, yts}, false);
    double l = 0;
    for (std::size_t i = 0; i < y.size(); ++i) l += static_cast<double>(r[i]) * y[i] * y[i];
    return l;
  };
  std::vector<float> y(r.size());
  rk::token_linear_forward(st.in, c.batch, c.e, st.w.data(), st.ldw, c.s, {y.data(), ybs, yts},
                           false, ws);
  std::vector<float> dy(r.size());
  for (std::size_t i = 0; i < y.size(); ++i) dy[i] = 2.0f * r[i] * y[i];
  std::vector<float> dw(st.w.size());
  std::vector<std::vector<float>> dx;
  std::vector<rk::token_input_grad> g;
  for (auto& x : st.xs) dx.emplace_back(x.size());
  for (std::size_t i = 0; i < st.in.size(); ++i)
    g.push_back({dx[i].data(), st.in[i].batch_stride, st.in[i].token_stride, false});
  rk::token_linear_backward_data(st.in, g, c.batch, c.e, st.w.data(), st.ldw, c.s,
                                 {dy.data(), ybs, yts}, ws);
  rk::token_linear_backward_weight(st.in, c.batch, c.e, c.s, {dy.data(), ybs, yts}, dw.data(),
                                   st.ldw, ws);
  const float h = 1e-3f;
  auto fd = [&](float& v) {
    const float old = v;
    v = old + h;
    const double lp = loss();
    v = old - h;
    const double lm = loss();
    v = old;
    return (lp - lm) / (2.0 * h);
  };
  for (std::size_t i = 0; i < st.w.size(); ++i)
    CHECK(dw[i] == doctest::Approx(fd(st.w[i])).epsilon(1e-2).scale(1e-2));
  for (std::size_t k = 0; k < st.in.size(); ++k) {
    for (index b = 0; b < c.batch; ++b)
      for (index t = 0; t < st.in[k].tokens; ++t)
        for (index e = 0; e < c.e; ++e) {
          const auto id =
              static_cast<std::size_t>(b * st.in[k].batch_stride + t * st.in[k].token_stride + e);
          CHECK(dx[k][id] == doctest::Approx(fd(st.xs[k][id])).epsilon(1e-2).scale(1e-2));
        }
  }
  // bit-identical for 1 and 2 threads on a shape large enough to split
  const tl_case big{64, 16, 40, {100, 30}};
  auto sb = make(big, 5);
  std::vector<float> wsb(
      static_cast<std::size_t>(rk::token_linear_workspace_size(sb.in, big.s, big.e, 2)));
  auto run = [&](int threads) {
    std::vector<float> out(static_cast<std::size_t>(big.batch * big.s * big.e));
    std::vector<float> dwb(sb.w.size());
    recnas::parallel::with_threads(threads, [&] {
      rk::token_linear_forward(sb.in, big.batch, big.e, sb.w.data(), sb.ldw, big.s,
                               {out.data(), big.s * big.e, big.e}, false, wsb);
      rk::token_linear_backward_weight(sb.in, big.batch, big.e, big.s,
                                       {out.data(), big.s * big.e, big.e}, dwb.data(), sb.ldw, wsb);
    });
    out.insert(out.end(), dwb.begin(), dwb.end());
    return out;
  };
  CHECK(run(1) == run(2));
}

}  // namespace
