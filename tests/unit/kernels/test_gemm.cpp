#include <vector>

#include <doctest/doctest.h>

#include <recnas/kernels/gemm.hpp>
#include <recnas/parallel/threads.hpp>

#include "kernel_test_util.hpp"

namespace rk = recnas::kernels;
namespace {

using recnas::index;
using rk::activation;

// A max-size weight shared by a subnet: segments use the first d_out rows and column ranges.
struct fc_case {
  index batch, d_out;
  std::vector<index> widths;  // one input segment per width, each with its own padded buffer
};

struct fc_setup {
  index ldw = 0, dmax = 0;
  std::vector<std::vector<float>> xs;
  std::vector<rk::fc_input> in;
  std::vector<float> w, b;
};

fc_setup make_setup(const fc_case& c, std::uint64_t seed) {
  fc_setup s;
  index cols = 0;
  for (index w : c.widths) cols += w;
  s.ldw = cols + 5;  // the max input width is larger than what this subnet uses
  s.dmax = c.d_out + 3;
  s.w = kt::random_vec(static_cast<std::size_t>(s.dmax * s.ldw), seed);
  s.b = kt::random_vec(static_cast<std::size_t>(s.dmax), seed + 1);
  index col = 2;  // skip a few weight columns: segments are not at column 0
  for (std::size_t i = 0; i < c.widths.size(); ++i) {
    const index wdt = c.widths[i];
    const index ldx = wdt + static_cast<index>(i % 3) * 3 + 1;  // odd strides
    s.xs.push_back(
        kt::random_vec(static_cast<std::size_t>(std::max<index>(c.batch * ldx, 1)), seed + 10 + i));
    s.in.push_back({s.xs.back().data(), ldx, col, wdt});
    col += wdt;
  }
  s.ldw = std::max(s.ldw, col);
  if (static_cast<index>(s.w.size()) < s.dmax * s.ldw)
    s.w = kt::random_vec(static_cast<std::size_t>(s.dmax * s.ldw), seed);
  return s;
}

const std::vector<fc_case> cases = {
    {1, 1, {1}},
    {7, 17, {63}},
    {17, 7, {1, 16, 5}},
    {63, 129, {17, 7}},
    {129, 63, {129}},
    {33, 48, {16, 16, 16}},
    {50, 100, {0, 37}},
    {24, 16, {200}},
    {5, 33, {300, 20}},
    {70, 1030, {9}},
    {3, 2, {}},
    // Wide N with A read in place (whole 8-row blocks + a packed remainder of 3 rows), a K block
    // boundary (256) inside the second segment.
    {203, 130, {200, 64, 33}},
};

TEST_CASE("fc_forward matches the double reference on awkward shapes, every ISA and activation") {
  for (auto level : kt::isa_levels()) {
    recnas::simd::scoped_isa guard(level);
    for (const auto& c : cases) {
      for (activation act : {activation::none, activation::relu, activation::sigmoid}) {
        CAPTURE(recnas::simd::to_string(level));
        CAPTURE(c.batch);
        CAPTURE(c.d_out);
        CAPTURE(static_cast<int>(act));
        auto s = make_setup(c, 42);
        const index ldy = c.d_out + 3;
        std::vector<float> y(static_cast<std::size_t>(c.batch * ldy), 7.0f), yr = y;
        index maxw = 0;
        for (index w : c.widths) maxw = std::max(maxw, w);
        std::vector<float> ws(
            static_cast<std::size_t>(rk::fc_workspace_size(c.batch, c.d_out, maxw)));
        const float* bias = act == activation::relu ? nullptr : s.b.data();
        rk::fc_forward(s.in, c.batch, s.w.data(), s.ldw, bias, c.d_out, act, y.data(), ldy, ws);
        rk::fc_forward_ref(s.in, c.batch, s.w.data(), s.ldw, bias, c.d_out, act, yr.data(), ldy);
        CHECK(kt::close(y, yr, 1e-4, 1e-4));  // also checks the padding columns stayed 7
      }
    }
  }
}

TEST_CASE("fc backward (data, weight, bias) matches the reference; accumulate flags honoured") {
  for (auto level : kt::isa_levels()) {
    recnas::simd::scoped_isa guard(level);
    for (const auto& c : cases) {
      CAPTURE(recnas::simd::to_string(level));
      CAPTURE(c.batch);
      CAPTURE(c.d_out);
      auto s = make_setup(c, 7);
      const index lddz = c.d_out + 1;
      auto dz = kt::random_vec(static_cast<std::size_t>(std::max<index>(c.batch * lddz, 1)), 99);
      index maxw = 0;
      for (index w : c.widths) maxw = std::max(maxw, w);
      std::vector<float> ws(
          static_cast<std::size_t>(rk::fc_workspace_size(c.batch, c.d_out, maxw)));
      // data
      std::vector<std::vector<float>> dx, dxr;
      std::vector<rk::fc_input_grad> g, gr;
      for (std::size_t i = 0; i < s.in.size(); ++i) {
        const index ld = s.in[i].width + 2;
        dx.push_back(
            kt::random_vec(static_cast<std::size_t>(std::max<index>(c.batch * ld, 1)), 500 + i));
        dxr.push_back(dx.back());
      }
      for (std::size_t i = 0; i < s.in.size(); ++i) {
        const bool acc = i % 2 == 1;
        g.push_back({dx[i].data(), s.in[i].width + 2, acc});
        gr.push_back({dxr[i].data(), s.in[i].width + 2, acc});
      }
      rk::fc_backward_data(s.in, g, c.batch, dz.data(), lddz, s.w.data(), s.ldw, c.d_out, ws);
      rk::fc_backward_data_ref(s.in, gr, c.batch, dz.data(), lddz, s.w.data(), s.ldw, c.d_out);
      for (std::size_t i = 0; i < dx.size(); ++i) CHECK(kt::close(dx[i], dxr[i]));
      // weight: accumulates into an existing gradient, rows >= d_out untouched
      auto dw = kt::random_vec(static_cast<std::size_t>(s.dmax * s.ldw), 77), dwr = dw;
      rk::fc_backward_weight(s.in, c.batch, dz.data(), lddz, c.d_out, dw.data(), s.ldw, ws);
      rk::fc_backward_weight_ref(s.in, c.batch, dz.data(), lddz, c.d_out, dwr.data(), s.ldw);
      CHECK(kt::close(dw, dwr, 2e-4, 1e-4));
      auto db = kt::random_vec(static_cast<std::size_t>(s.dmax), 78), dbr = db;
      rk::bias_backward(c.batch, c.d_out, dz.data(), lddz, db.data());
      rk::bias_backward_ref(c.batch, c.d_out, dz.data(), lddz, dbr.data());
      CHECK(kt::close(db, dbr, 2e-4, 1e-4));
    }
  }
}

TEST_CASE("gemm with transposes matches the reference") {
  for (auto level : kt::isa_levels()) {
    recnas::simd::scoped_isa guard(level);
    for (index m : {1, 7, 25, 63}) {
      for (index n : {1, 17, 49, 129}) {
        for (index k : {0, 1, 63, 300}) {
          for (int tr = 0; tr < 4; ++tr) {
            const bool ta = (tr & 1) != 0, tb = (tr & 2) != 0;
            const index lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
            auto a = kt::random_vec(static_cast<std::size_t>((ta ? k : m) * lda + 1), 1);
            auto b = kt::random_vec(static_cast<std::size_t>((tb ? n : k) * ldb + 1), 2);
            auto c = kt::random_vec(static_cast<std::size_t>(m * ldc), 3), cr = c;
            std::vector<float> ws(static_cast<std::size_t>(rk::gemm_workspace_size(n)));
            const bool acc = tr == 1;
            rk::gemm(m, n, k, a.data(), lda, ta, b.data(), ldb, tb, c.data(), ldc, acc, ws);
            rk::gemm_ref(m, n, k, a.data(), lda, ta, b.data(), ldb, tb, cr.data(), ldc, acc);
            CAPTURE(m);
            CAPTURE(n);
            CAPTURE(k);
            CAPTURE(tr);
            CHECK(kt::close(c, cr, 2e-4, 1e-4));
          }
        }
      }
    }
  }
}

TEST_CASE("fc kernels are bit-identical for 1 and 2 threads") {
  // 300 outputs: the forward and the data gradient split N (A read in place), the weight
  // gradient splits M; batch 203 leaves a packed remainder; K = 297 crosses a K block.
  const fc_case c{203, 300, {200, 64, 33}};
  auto s = make_setup(c, 3);
  std::vector<float> ws(static_cast<std::size_t>(rk::fc_workspace_size(c.batch, c.d_out, 200, 2)));
  for (auto level : kt::isa_levels()) {
    recnas::simd::scoped_isa guard(level);
    auto run = [&](int threads) {
      std::vector<float> y(static_cast<std::size_t>(c.batch * c.d_out));
      std::vector<float> dw(static_cast<std::size_t>(s.dmax * s.ldw));
      std::vector<std::vector<float>> dx;
      std::vector<rk::fc_input_grad> g;
      for (const auto& seg : s.in) {
        dx.emplace_back(static_cast<std::size_t>(c.batch * seg.width));
        g.push_back({dx.back().data(), seg.width, false});
      }
      recnas::parallel::with_threads(threads, [&] {
        rk::fc_forward(s.in, c.batch, s.w.data(), s.ldw, s.b.data(), c.d_out, activation::relu,
                       y.data(), c.d_out, ws);
        rk::fc_backward_weight(s.in, c.batch, y.data(), c.d_out, c.d_out, dw.data(), s.ldw, ws);
        rk::fc_backward_data(s.in, g, c.batch, y.data(), c.d_out, s.w.data(), s.ldw, c.d_out, ws);
      });
      y.insert(y.end(), dw.begin(), dw.end());
      for (const auto& d : dx) y.insert(y.end(), d.begin(), d.end());
      return y;
    };
    CHECK(run(1) == run(2));
  }
}

TEST_CASE("fc_backward agrees with finite differences of fc_forward through the activation") {
  for (activation act : {activation::none, activation::relu, activation::sigmoid}) {
    const fc_case c{5, 6, {4, 3}};
    auto s = make_setup(c, 11);
    const index B = c.batch, D = c.d_out;
    std::vector<float> ws(static_cast<std::size_t>(rk::fc_workspace_size(B, D, 4)));
    auto r = kt::random_vec(static_cast<std::size_t>(B * D), 5);  // loss = sum r * y
    auto loss = [&] {
      std::vector<float> y(static_cast<std::size_t>(B * D));
      rk::fc_forward_ref(s.in, B, s.w.data(), s.ldw, s.b.data(), D, act, y.data(), D);
      double l = 0;
      for (std::size_t i = 0; i < y.size(); ++i) l += static_cast<double>(r[i]) * y[i];
      return l;
    };
    std::vector<float> y(static_cast<std::size_t>(B * D));
    rk::fc_forward(s.in, B, s.w.data(), s.ldw, s.b.data(), D, act, y.data(), D, ws);
    std::vector<std::vector<float>> dx;
    std::vector<rk::fc_input_grad> g;
    for (auto& seg : s.in) dx.emplace_back(static_cast<std::size_t>(B * seg.width));
    for (std::size_t i = 0; i < s.in.size(); ++i) g.push_back({dx[i].data(), s.in[i].width, false});
    std::vector<float> dw(s.w.size()), db(s.b.size());
    rk::fc_backward(s.in, g, B, y.data(), D, r.data(), D, s.w.data(), s.ldw, D, act, dw.data(),
                    db.data(), ws);
    const float h = 1e-3f;  // small enough that relu kinks are not crossed for this seed
    auto fd = [&](float& v) {
      const float old = v;
      v = old + h;
      const double lp = loss();
      v = old - h;
      const double lm = loss();
      v = old;
      return (lp - lm) / (2.0 * h);
    };
    for (std::size_t i = 0; i < s.in.size(); ++i) {
      auto& xs = s.xs[i];
      for (index bb = 0; bb < B; ++bb)
        for (index k = 0; k < s.in[i].width; ++k)
          CHECK(dx[i][static_cast<std::size_t>(bb * s.in[i].width + k)] ==
                doctest::Approx(fd(xs[static_cast<std::size_t>(bb * s.in[i].ldx + k)]))
                    .epsilon(2e-2)
                    .scale(1e-2));
    }
    for (index j = 0; j < s.dmax; ++j) {
      for (index k = 0; k < s.ldw; ++k) {
        const auto id = static_cast<std::size_t>(j * s.ldw + k);
        CHECK(dw[id] == doctest::Approx(fd(s.w[id])).epsilon(2e-2).scale(1e-2));
      }
      CHECK(db[static_cast<std::size_t>(j)] ==
            doctest::Approx(fd(s.b[static_cast<std::size_t>(j)])).epsilon(2e-2).scale(1e-2));
    }
  }
}

}  // namespace
