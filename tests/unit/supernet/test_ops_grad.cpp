// Every operator in isolation (double): forward against a naive reference where the math is
// not a plain linear layer, and parameter/input gradients against central differences, with
// and without LayerNorm, at shapes that do and do not trigger the "skip the projection when
// the widths match" rules.
#include <algorithm>
#include <cmath>
#include <functional>
#include <type_traits>
#include <vector>

#include <doctest/doctest.h>

#include <recnas/core/rng.hpp>
#include <recnas/ops/attention.hpp>
#include <recnas/ops/cross.hpp>
#include <recnas/ops/dlrm_interaction.hpp>
#include <recnas/ops/dot_product.hpp>
#include <recnas/ops/efc.hpp>
#include <recnas/ops/fc.hpp>
#include <recnas/ops/mergers.hpp>
#include <recnas/ops/sigmoid_gating.hpp>
#include <recnas/ops/sum.hpp>
#include <recnas/ops/zero.hpp>

namespace ops = recnas::ops;
using idx = recnas::index;

namespace {

constexpr idx E = ops::embed_dim;

/// An operator instance with its own parameters, inputs and output, for checks.
template <class Op, class T = double>
struct harness {
  ops::op_shape shape;
  idx B = 3;
  std::vector<std::vector<T>> pv, pg;  // parameter values / grads per slot
  std::vector<ops::param_ref<T>> refs;
  std::vector<std::vector<T>> dx, dxg;  // dense inputs / grads
  std::vector<std::vector<T>> tx, txg;  // token inputs / grads
  std::vector<idx> dwidth, tcount;
  std::vector<T> y;  // output
  idx out_stride = 0;
  bool dense_op = true;
  ops::arena<T> scratch;

  harness(ops::op_shape s, std::vector<idx> widths, std::vector<idx> tokens, std::uint64_t seed)
      : shape(s), dwidth(std::move(widths)), tcount(std::move(tokens)) {
    recnas::rng g(seed);
    ops::param_declarer d;
    Op::declare(shape, d);
    for (const auto& p : d.decls()) {
      std::vector<T> v(static_cast<std::size_t>(p.size()));
      for (auto& x : v)
        x = static_cast<T>(p.init == ops::init_kind::constant ? p.value + g.uniform(-0.2, 0.2)
                                                              : g.uniform(-0.5, 0.5));
      pv.push_back(v);
      pg.emplace_back(v.size(), T(0));
    }
    for (std::size_t k = 0; k < pv.size(); ++k) {
      refs.push_back({pv[k].data(), pg[k].data(), d.decls()[k].rows, d.decls()[k].cols});
    }
    for (idx w : dwidth) {
      std::vector<T> v(static_cast<std::size_t>(B * w));
      for (auto& x : v) x = static_cast<T>(g.uniform(-1.0, 1.0));
      dx.push_back(v);
      dxg.emplace_back(v.size(), T(0));
    }
    for (idx t : tcount) {
      std::vector<T> v(static_cast<std::size_t>(B * t * E));
      for (auto& x : v) x = static_cast<T>(g.uniform(-1.0, 1.0));
      tx.push_back(v);
      txg.emplace_back(v.size(), T(0));
    }
  }
  ops::op_io<T> io(std::vector<ops::dense_seg<T>>& ds, std::vector<ops::token_seg<T>>& ts) {
    ds.clear();
    ts.clear();
    idx col = 0;
    for (std::size_t k = 0; k < dx.size(); ++k) {
      ds.push_back({dx[k].data(), dxg[k].data(), dwidth[k], dwidth[k], col});
      col += dwidth[k];
    }
    col = 0;
    for (std::size_t k = 0; k < tx.size(); ++k) {
      ts.push_back({tx[k].data(), txg[k].data(), tcount[k] * E, tcount[k], col});
      col += tcount[k];
    }
    ops::op_io<T> o{B, shape, ds, ts, {}, {}, refs, &scratch};
    if (ds.size() >= 2) {
      o.left = ds[0];
      o.right = ds[1];
    } else if (ds.size() == 1) {
      o.left = o.right = ds[0];
    }
    return o;
  }
  static constexpr bool to_tokens = [] {
    if constexpr (requires { Op::direction; }) {
      return Op::direction == ops::merge_direction::dense_to_sparse;
    } else {
      return false;
    }
  }();
  idx out_cols() const { return to_tokens ? ops::dense_to_sparse::width : shape.d; }
  /// Backward of the last run with dy = r (as T).
  void backward_of(const std::vector<double>& r, const ops::tape<T>& t) {
    std::vector<ops::dense_seg<T>> ds;
    std::vector<ops::token_seg<T>> ts;
    auto o = io(ds, ts);
    std::vector<T> dy(y.size());
    for (std::size_t i = 0; i < dy.size(); ++i) dy[i] = static_cast<T>(r[i]);
    Op::backward(o, t, dy.data(), out_stride);
  }
  // forward; returns sum r*y
  double run(const std::vector<double>& r, ops::tape<T>& t) {
    scratch.reset();
    std::vector<ops::dense_seg<T>> ds;
    std::vector<ops::token_seg<T>> ts;
    auto o = io(ds, ts);
    if constexpr (Op::kind == recnas::policy_kind::sparse_operator) {
      out_stride = (shape.s + 8) * E;  // leave room as a block buffer does
      y.assign(static_cast<std::size_t>(B * out_stride), T(0));
      Op::forward(o, t, y.data(), out_stride);
    } else {
      out_stride = out_cols() + 5;  // a padded row stride
      y.assign(static_cast<std::size_t>(B * out_stride), T(0));
      Op::forward(o, t, y.data(), out_stride);
    }
    double l = 0;
    for (std::size_t i = 0; i < y.size(); ++i) l += r[i] * static_cast<double>(y[i]);
    return l;
  }
  void check(std::uint64_t seed) {
    static_assert(std::is_same_v<T, double>, "finite differences need the double path");
    recnas::rng g(seed);
    std::vector<double> r(static_cast<std::size_t>(B * (out_cols() + 5 + (shape.s + 8) * E)));
    for (auto& v : r) v = g.uniform(-1.0, 1.0);
    ops::tape<T> t;
    run(r, t);
    std::vector<ops::dense_seg<T>> ds;
    std::vector<ops::token_seg<T>> ts;
    auto o = io(ds, ts);
    std::vector<double> dy(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(y.size()));
    Op::backward(o, std::as_const(t), dy.data(), out_stride);
    auto probe = [&](std::vector<double>& vals, const std::vector<double>& grads, const char* what,
                     std::size_t slot) {
      if (vals.empty()) return;
      for (int q = 0; q < 4; ++q) {
        const auto k = static_cast<std::size_t>(g.below(vals.size()));
        const double keep = vals[k];
        const double h = 1e-6;
        ops::tape<T> t2;
        vals[k] = keep + h;
        const double lp = run(r, t2);
        vals[k] = keep - h;
        const double lm = run(r, t2);
        vals[k] = keep;
        const double fd = (lp - lm) / (2 * h);
        CHECK_MESSAGE(std::abs(fd - grads[k]) <= 1e-6 * std::max(1.0, std::abs(fd)),
                      Op::name << " " << what << " slot " << slot << "[" << k << "]: analytic "
                               << grads[k] << " vs fd " << fd);
      }
    };
    for (std::size_t k = 0; k < pv.size(); ++k) probe(pv[k], pg[k], "param", k);
    for (std::size_t k = 0; k < dx.size(); ++k) probe(dx[k], dxg[k], "dense input", k);
    for (std::size_t k = 0; k < tx.size(); ++k) probe(tx[k], txg[k], "token input", k);
  }
};

ops::op_shape shape_of(idx in_w, idx in_t, idx lw, idx rw, idx d, idx s, bool ln) {
  ops::op_shape sh;
  sh.in_width = in_w;
  sh.in_tokens = in_t;
  sh.left_width = lw;
  sh.right_width = rw;
  sh.d = d;
  sh.s = s;
  sh.layernorm = ln;
  return sh;
}

}  // namespace

TEST_CASE("fc: gradients, with and without LayerNorm") {
  for (bool ln : {false, true}) {
    harness<ops::fc> h(shape_of(13 + 7, 0, 0, 0, 24, 0, ln), {13, 7}, {}, 1);
    h.check(2);
  }
}

TEST_CASE("sum and sigmoid_gating: padding and the skipped projection") {
  for (bool ln : {false, true}) {
    harness<ops::sum> a(shape_of(0, 0, 5, 9, 12, 0, ln), {5, 9}, {}, 3);
    a.check(4);
    harness<ops::sum> b(shape_of(0, 0, 9, 4, 9, 0, ln), {9, 4}, {}, 5);  // w == d: no projection
    b.check(6);
    harness<ops::sigmoid_gating> c(shape_of(0, 0, 6, 10, 7, 0, ln), {6, 10}, {}, 7);
    c.check(8);
    harness<ops::sigmoid_gating> d(shape_of(0, 0, 10, 6, 10, 0, ln), {10, 6}, {}, 9);
    d.check(10);
  }
}

TEST_CASE("cross: gradients, padding, the skipped projection and one shared operand") {
  for (bool ln : {false, true}) {
    CAPTURE(ln);
    harness<ops::cross> a(shape_of(0, 0, 6, 10, 7, 0, ln), {6, 10}, {}, 31);  // x narrower
    a.check(32);
    harness<ops::cross> b(shape_of(0, 0, 10, 6, 10, 0, ln), {10, 6}, {}, 33);  // w == d: no P
    b.check(34);
    harness<ops::cross> c(shape_of(0, 0, 9, 9, 12, 0, ln), {9}, {}, 35);  // x0 == x
    c.check(36);
  }
}

TEST_CASE("cross: forward matches DCN-v2's x0 * (W x + b) + x, naive double loops") {
  // l (x) 6 wide, r (x0) 10 wide: w = 10, P: 10 -> 7 with bias.
  harness<ops::cross> h(shape_of(0, 0, 6, 10, 7, 0, false), {6, 10}, {}, 37);
  ops::tape<double> t;
  std::vector<double> r(static_cast<std::size_t>(h.B * (7 + 5 + 8 * E)), 0.0);
  h.run(r, t);
  const idx w = 10, d = 7;
  const auto &S = h.pv[0], &Sb = h.pv[1], &P = h.pv[2], &Pb = h.pv[3];
  REQUIRE(S.size() == static_cast<std::size_t>(w * w));
  REQUIRE(P.size() == static_cast<std::size_t>(d * w));
  for (idx b = 0; b < h.B; ++b) {
    std::vector<double> x(static_cast<std::size_t>(w), 0.0), x0(static_cast<std::size_t>(w), 0.0);
    for (idx k = 0; k < 6; ++k) x[k] = h.dx[0][b * 6 + k];
    for (idx k = 0; k < 10; ++k) x0[k] = h.dx[1][b * 10 + k];
    std::vector<double> c(static_cast<std::size_t>(w));
    for (idx i = 0; i < w; ++i) {
      double u = Sb[i];
      for (idx k = 0; k < w; ++k) u += S[i * w + k] * x[k];
      c[i] = x0[i] * u + x[i];
    }
    for (idx o = 0; o < d; ++o) {
      double y = Pb[o];
      for (idx i = 0; i < w; ++i) y += P[o * w + i] * c[i];
      CHECK(h.y[b * h.out_stride + o] == doctest::Approx(y).epsilon(1e-12));
    }
  }
  ops::op_shape s = shape_of(0, 0, 6, 10, 7, 0, false);
  recnas::ops::param_declarer decl;
  ops::cross::declare(s, decl);
  CHECK(decl.decls().size() == 6);  // S, S.b, P, P.b, ln_g, ln_b
}

TEST_CASE("dlrm_interaction: gradients with and without the dense projection") {
  for (bool ln : {false, true}) {
    CAPTURE(ln);
    harness<ops::dlrm_interaction> a(shape_of(20, 9, 0, 0, 11, 0, ln), {13, 7}, {4, 5}, 41);
    a.check(42);
    harness<ops::dlrm_interaction> b(shape_of(16, 6, 0, 0, 9, 0, ln), {16}, {6}, 43);  // x is 16
    b.check(44);
  }
}

TEST_CASE("dlrm_interaction: forward is DLRM's [x; pairs] -> ReLU(W z + b), naive double loops") {
  // x 16 wide (no projection), 5 tokens: 6 vectors, 15 pairs, z = 31 values.
  const idx T = 5, d = 7, zw = E + T * (T + 1) / 2;
  harness<ops::dlrm_interaction> h(shape_of(E, T, 0, 0, d, 0, false), {E}, {T}, 45);
  ops::tape<double> t;
  std::vector<double> r(static_cast<std::size_t>(h.B * (d + 5)), 0.0);
  h.run(r, t);
  const auto &W = h.pv[4], &Wb = h.pv[5];
  REQUIRE(h.pv[0].empty());  // the projection is skipped
  REQUIRE(W.size() == static_cast<std::size_t>(d * zw));
  idx positive = 0;
  for (idx b = 0; b < h.B; ++b) {
    auto vec = [&](idx i, idx e) {
      return i == 0 ? h.dx[0][static_cast<std::size_t>(b * E + e)]
                    : h.tx[0][static_cast<std::size_t>(b * T * E + (i - 1) * E + e)];
    };
    std::vector<double> z;
    for (idx e = 0; e < E; ++e) z.push_back(vec(0, e));
    for (idx i = 1; i <= T; ++i) {
      for (idx j = 0; j < i; ++j) {
        double acc = 0;
        for (idx e = 0; e < E; ++e) acc += vec(i, e) * vec(j, e);
        z.push_back(acc);
      }
    }
    REQUIRE(static_cast<idx>(z.size()) == zw);
    for (idx o = 0; o < d; ++o) {
      double y = Wb[static_cast<std::size_t>(o)];
      for (idx k = 0; k < zw; ++k) y += W[static_cast<std::size_t>(o * zw + k)] * z[k];
      positive += y > 0;
      CHECK(h.y[b * h.out_stride + o] == doctest::Approx(std::max(0.0, y)).epsilon(1e-12));
    }
  }
  CHECK(positive > 0);  // the check saw the linear side of the ReLU
  CHECK(ops::dlrm_interaction::z_width(shape_of(E, 26, 0, 0, d, 0, false)) == 16 + 351);
}

TEST_CASE("dot_product: projections, pair extraction and skips") {
  for (bool ln : {false, true}) {
    harness<ops::dot_product> a(shape_of(20, 9, 0, 0, 32, 0, ln), {13, 7}, {4, 5}, 11);  // k = 8
    a.check(12);
    harness<ops::dot_product> b(shape_of(16, 8, 0, 0, 32, 0, ln), {16}, {8}, 13);  // both skips
    b.check(14);
  }
  // Naive reference for the pair features: one example, no projections (d = 32 -> k = 8).
  harness<ops::dot_product> h(shape_of(16, 8, 0, 0, 32, 0, false), {16}, {8}, 15);
  ops::tape<double> t;
  std::vector<double> r(2000, 0.0);
  h.run(r, t);
  const double* pairs = t.p[7];
  const auto& dense = h.dx[0];
  const auto& tok = h.tx[0];
  auto vec = [&](idx b, idx i, idx e) {
    return i == 0 ? dense[static_cast<std::size_t>(b * 16 + e)]
                  : tok[static_cast<std::size_t>(b * 8 * E + (i - 1) * E + e)];
  };
  for (idx b = 0; b < h.B; ++b) {
    idx p = 0;
    for (idx i = 1; i <= 8; ++i) {
      for (idx j = 0; j < i; ++j, ++p) {
        double z = 0;
        for (idx e = 0; e < E; ++e) z += vec(b, i, e) * vec(b, j, e);
        CHECK(pairs[b * 36 + p] == doctest::Approx(z).epsilon(1e-12));
      }
    }
  }
  CHECK(ops::dp_tokens(16) == 6);
  CHECK(ops::dp_tokens(768) == 39);
  CHECK(ops::dp_tokens(1024) == 45);
  CHECK(ops::dp_pairs(45) == 1035);
}

TEST_CASE("efc and attention: token-axis operators") {
  for (bool ln : {false, true}) {
    harness<ops::efc> a(shape_of(0, 11, 0, 0, 0, 6, ln), {}, {5, 6}, 21);
    a.check(22);
    harness<ops::attention> b(shape_of(0, 11, 0, 0, 0, 5, ln), {}, {5, 6}, 23);
    b.check(24);
  }
}

TEST_CASE("mergers: dense_to_sparse and sparse_to_dense (FM), incl. skipped projections") {
  for (bool ln : {false, true}) {
    harness<ops::dense_to_sparse> a(shape_of(0, 0, 0, 0, 40, 0, ln), {40}, {}, 31);
    a.check(32);
    harness<ops::dense_to_sparse> b(shape_of(0, 0, 0, 0, 128, 0, ln), {128}, {}, 33);
    b.check(34);
    harness<ops::sparse_to_dense> c(shape_of(0, 0, 0, 0, 24, 0, ln), {}, {6}, 35);
    c.check(36);
    harness<ops::sparse_to_dense> d(shape_of(0, 0, 0, 0, 16, 0, ln), {}, {6}, 37);
    d.check(38);
  }
  // FM reference: f = (sum x)^2 - sum x^2 per channel, added raw when d == 16.
  harness<ops::sparse_to_dense> h(shape_of(0, 0, 0, 0, 16, 0, false), {}, {4}, 39);
  ops::tape<double> t;
  std::vector<double> r(1000, 0.0);
  h.run(r, t);
  for (idx b = 0; b < h.B; ++b) {
    for (idx e = 0; e < E; ++e) {
      double s1 = 0, s2 = 0;
      for (idx k = 0; k < 4; ++k) {
        const double v = h.tx[0][static_cast<std::size_t>(b * 4 * E + k * E + e)];
        s1 += v;
        s2 += v * v;
      }
      CHECK(h.y[static_cast<std::size_t>(b * h.out_stride + e)] ==
            doctest::Approx(s1 * s1 - s2).epsilon(1e-12));
    }
  }
}

TEST_CASE("zero and identity operators") {
  harness<ops::identity_dense> a(shape_of(9, 0, 0, 0, 12, 0, false), {4, 5}, {}, 41);
  a.check(42);
  harness<ops::zero_dense> z(shape_of(9, 0, 0, 0, 12, 0, false), {9}, {}, 43);
  ops::tape<double> t;
  std::vector<double> r(1000, 1.0);
  CHECK(z.run(r, t) == 0.0);
}

namespace {
/// Runs one operator configuration in float (the recnas::kernels path) and in double (the
/// scalar reference path) on the same float-representable values; compares the outputs and
/// every parameter and input gradient, relative to the largest magnitude of each.
template <class Op>
void check_float_matches_double(ops::op_shape s, std::vector<idx> widths, std::vector<idx> tokens,
                                std::uint64_t seed) {
  harness<Op, float> f(s, widths, tokens, seed);
  harness<Op, double> d(s, widths, tokens, seed);
  auto copy = [](const auto& from, auto& to) {
    for (std::size_t k = 0; k < from.size(); ++k)
      for (std::size_t i = 0; i < from[k].size(); ++i) to[k][i] = static_cast<double>(from[k][i]);
  };
  copy(f.pv, d.pv);
  copy(f.dx, d.dx);
  copy(f.tx, d.tx);
  recnas::rng g(seed + 1000);
  std::vector<double> r(static_cast<std::size_t>(f.B * (f.out_cols() + 5 + (s.s + 8) * E)));
  for (auto& v : r) v = static_cast<double>(static_cast<float>(g.uniform(-1.0, 1.0)));
  ops::tape<float> tf;
  ops::tape<double> td;
  f.run(r, tf);
  d.run(r, td);
  auto compare = [&](const auto& a, const auto& b, const char* what) {
    double worst = 0, norm = 0;
    for (std::size_t i = 0; i < b.size(); ++i) {
      worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]));
      norm = std::max(norm, std::abs(b[i]));
    }
    CHECK_MESSAGE(worst <= 1e-4 * std::max(1.0, norm), Op::name << " " << what
                                                                << ": float vs double " << worst
                                                                << " (max " << norm << ")");
  };
  compare(f.y, d.y, "output");
  f.backward_of(r, tf);
  d.backward_of(r, td);
  for (std::size_t k = 0; k < d.pg.size(); ++k) compare(f.pg[k], d.pg[k], "param grad");
  for (std::size_t k = 0; k < d.dxg.size(); ++k) compare(f.dxg[k], d.dxg[k], "dense input grad");
  for (std::size_t k = 0; k < d.txg.size(); ++k) compare(f.txg[k], d.txg[k], "token input grad");
}
}  // namespace

TEST_CASE("float (recnas::kernels) and double paths agree per operator") {
  for (bool ln : {false, true}) {
    CAPTURE(ln);
    check_float_matches_double<ops::fc>(shape_of(13 + 7, 0, 0, 0, 24, 0, ln), {13, 7}, {}, 51);
    check_float_matches_double<ops::sum>(shape_of(0, 0, 5, 9, 12, 0, ln), {5, 9}, {}, 52);
    check_float_matches_double<ops::sigmoid_gating>(shape_of(0, 0, 6, 10, 7, 0, ln), {6, 10}, {},
                                                    53);
    check_float_matches_double<ops::cross>(shape_of(0, 0, 6, 10, 7, 0, ln), {6, 10}, {}, 60);
    check_float_matches_double<ops::cross>(shape_of(0, 0, 37, 37, 37, 0, ln), {37}, {}, 61);
    check_float_matches_double<ops::dlrm_interaction>(shape_of(20, 9, 0, 0, 11, 0, ln), {13, 7},
                                                      {4, 5}, 62);
    check_float_matches_double<ops::dlrm_interaction>(shape_of(16, 26, 0, 0, 40, 0, ln), {16}, {26},
                                                      63);
    check_float_matches_double<ops::dot_product>(shape_of(20, 9, 0, 0, 32, 0, ln), {13, 7}, {4, 5},
                                                 54);
    check_float_matches_double<ops::efc>(shape_of(0, 11, 0, 0, 0, 6, ln), {}, {5, 6}, 55);
    check_float_matches_double<ops::dense_to_sparse>(shape_of(0, 0, 0, 0, 40, 0, ln), {40}, {}, 56);
    check_float_matches_double<ops::sparse_to_dense>(shape_of(0, 0, 0, 0, 24, 0, ln), {}, {6}, 57);
    // Attention: 5 tokens (one partial 16-key register) and 27 (NASRec's largest s, two blocks).
    check_float_matches_double<ops::attention>(shape_of(0, 11, 0, 0, 0, 5, ln), {}, {5, 6}, 58);
    check_float_matches_double<ops::attention>(shape_of(0, 30, 0, 0, 0, 27, ln), {}, {14, 16}, 59);
  }
}
