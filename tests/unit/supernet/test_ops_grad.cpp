// Every operator in isolation, through the shipped conformance checks
// (recnas/testing/operator_check.hpp: finite-difference gradients, float vs double, supernet
// slice vs standalone), with and without LayerNorm, at shapes that do and do not trigger the
// "skip the projection when the widths match" rules; and forward against a naive double
// reference where the math is not a plain linear layer.
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
#include <recnas/testing/operator_check.hpp>

namespace ops = recnas::ops;
namespace rt = recnas::testing;
using idx = recnas::index;

namespace {

constexpr idx E = ops::embed_dim;

/// Runs every conformance check (recnas/testing/operator_check.hpp) on one case.
template <class Op>
void conforms(ops::op_shape sh, std::vector<idx> widths, std::vector<idx> tokens,
              std::uint64_t seed) {
  const auto rep = rt::check_operator<Op>({sh, std::move(widths), std::move(tokens), 3, seed});
  CHECK_MESSAGE(rep.ok(), rep.summary());
}

/// One standalone operator in double, for comparisons with a formula.
template <class Op>
rt::operator_instance<Op, double> make(ops::op_shape sh, std::vector<idx> widths,
                                       std::vector<idx> tokens, std::uint64_t seed) {
  return rt::operator_instance<Op, double>(
      rt::operator_case{sh, std::move(widths), std::move(tokens), 3, seed});
}

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
    conforms<ops::fc>(shape_of(13 + 7, 0, 0, 0, 24, 0, ln), {13, 7}, {}, 1);
  }
}

TEST_CASE("sum and sigmoid_gating: padding and the skipped projection") {
  for (bool ln : {false, true}) {
    conforms<ops::sum>(shape_of(0, 0, 5, 9, 12, 0, ln), {5, 9}, {}, 3);
    conforms<ops::sum>(shape_of(0, 0, 9, 4, 9, 0, ln), {9, 4}, {}, 5);  // w == d: no projection
    conforms<ops::sigmoid_gating>(shape_of(0, 0, 6, 10, 7, 0, ln), {6, 10}, {}, 7);
    conforms<ops::sigmoid_gating>(shape_of(0, 0, 10, 6, 10, 0, ln), {10, 6}, {}, 9);
  }
}

TEST_CASE("cross: gradients, padding, the skipped projection and one shared operand") {
  for (bool ln : {false, true}) {
    CAPTURE(ln);
    conforms<ops::cross>(shape_of(0, 0, 6, 10, 7, 0, ln), {6, 10}, {}, 31);   // x narrower
    conforms<ops::cross>(shape_of(0, 0, 10, 6, 10, 0, ln), {10, 6}, {}, 33);  // w == d: no P
    conforms<ops::cross>(shape_of(0, 0, 9, 9, 12, 0, ln), {9}, {}, 35);       // x0 == x
  }
}

TEST_CASE("cross: forward matches DCN-v2's x0 * (W x + b) + x, naive double loops") {
  // l (x) 6 wide, r (x0) 10 wide: w = 10, P: 10 -> 7 with bias.
  auto h = make<ops::cross>(shape_of(0, 0, 6, 10, 7, 0, false), {6, 10}, {}, 37);
  std::vector<double> r(static_cast<std::size_t>(h.batch * (7 + 5 + 8 * E)), 0.0);
  h.forward(r);
  const idx w = 10, d = 7;
  const auto &S = h.params[0], &Sb = h.params[1], &P = h.params[2], &Pb = h.params[3];
  REQUIRE(S.size() == static_cast<std::size_t>(w * w));
  REQUIRE(P.size() == static_cast<std::size_t>(d * w));
  for (idx b = 0; b < h.batch; ++b) {
    std::vector<double> x(static_cast<std::size_t>(w), 0.0), x0(static_cast<std::size_t>(w), 0.0);
    for (idx k = 0; k < 6; ++k) x[k] = h.dense[0][b * 6 + k];
    for (idx k = 0; k < 10; ++k) x0[k] = h.dense[1][b * 10 + k];
    std::vector<double> c(static_cast<std::size_t>(w));
    for (idx i = 0; i < w; ++i) {
      double u = Sb[i];
      for (idx k = 0; k < w; ++k) u += S[i * w + k] * x[k];
      c[i] = x0[i] * u + x[i];
    }
    for (idx o = 0; o < d; ++o) {
      double y = Pb[o];
      for (idx i = 0; i < w; ++i) y += P[o * w + i] * c[i];
      CHECK(h.y[b * h.ld + o] == doctest::Approx(y).epsilon(1e-12));
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
    conforms<ops::dlrm_interaction>(shape_of(20, 9, 0, 0, 11, 0, ln), {13, 7}, {4, 5}, 41);
    conforms<ops::dlrm_interaction>(shape_of(16, 6, 0, 0, 9, 0, ln), {16}, {6}, 43);  // x is 16
  }
}

TEST_CASE("dlrm_interaction: forward is DLRM's [x; pairs] -> ReLU(W z + b), naive double loops") {
  // x 16 wide (no projection), 5 tokens: 6 vectors, 15 pairs, z = 31 values.
  const idx T = 5, d = 7, zw = E + T * (T + 1) / 2;
  auto h = make<ops::dlrm_interaction>(shape_of(E, T, 0, 0, d, 0, false), {E}, {T}, 45);
  std::vector<double> r(static_cast<std::size_t>(h.batch * (d + 5)), 0.0);
  h.forward(r);
  const auto &W = h.params[4], &Wb = h.params[5];
  REQUIRE(h.params[0].empty());  // the projection is skipped
  REQUIRE(W.size() == static_cast<std::size_t>(d * zw));
  idx positive = 0;
  for (idx b = 0; b < h.batch; ++b) {
    auto vec = [&](idx i, idx e) {
      return i == 0 ? h.dense[0][static_cast<std::size_t>(b * E + e)]
                    : h.tokens[0][static_cast<std::size_t>(b * T * E + (i - 1) * E + e)];
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
      CHECK(h.y[b * h.ld + o] == doctest::Approx(std::max(0.0, y)).epsilon(1e-12));
    }
  }
  CHECK(positive > 0);  // the check saw the linear side of the ReLU
  CHECK(ops::dlrm_interaction::z_width(shape_of(E, 26, 0, 0, d, 0, false)) == 16 + 351);
}

TEST_CASE("dot_product: projections, pair extraction and skips") {
  for (bool ln : {false, true}) {
    conforms<ops::dot_product>(shape_of(20, 9, 0, 0, 32, 0, ln), {13, 7}, {4, 5}, 11);  // k = 8
    conforms<ops::dot_product>(shape_of(16, 8, 0, 0, 32, 0, ln), {16}, {8}, 13);  // both skips
  }
  // Naive reference for the pair features: one example, no projections (d = 32 -> k = 8).
  auto h = make<ops::dot_product>(shape_of(16, 8, 0, 0, 32, 0, false), {16}, {8}, 15);
  std::vector<double> r(2000, 0.0);
  h.forward(r);
  const double* pairs = h.tape.saved<ops::dot_product::saved<double>>().pairs;
  const auto& dense = h.dense[0];
  const auto& tok = h.tokens[0];
  auto vec = [&](idx b, idx i, idx e) {
    return i == 0 ? dense[static_cast<std::size_t>(b * 16 + e)]
                  : tok[static_cast<std::size_t>(b * 8 * E + (i - 1) * E + e)];
  };
  for (idx b = 0; b < h.batch; ++b) {
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
    conforms<ops::efc>(shape_of(0, 11, 0, 0, 0, 6, ln), {}, {5, 6}, 21);
    conforms<ops::attention>(shape_of(0, 11, 0, 0, 0, 5, ln), {}, {5, 6}, 23);
  }
}

TEST_CASE("mergers: dense_to_sparse and sparse_to_dense (FM), incl. skipped projections") {
  for (bool ln : {false, true}) {
    conforms<ops::dense_to_sparse>(shape_of(0, 0, 0, 0, 40, 0, ln), {40}, {}, 31);
    conforms<ops::dense_to_sparse>(shape_of(0, 0, 0, 0, 128, 0, ln), {128}, {}, 33);
    conforms<ops::sparse_to_dense>(shape_of(0, 0, 0, 0, 24, 0, ln), {}, {6}, 35);
    conforms<ops::sparse_to_dense>(shape_of(0, 0, 0, 0, 16, 0, ln), {}, {6}, 37);
  }
  // FM reference: f = (sum x)^2 - sum x^2 per channel, added raw when d == 16.
  auto h = make<ops::sparse_to_dense>(shape_of(0, 0, 0, 0, 16, 0, false), {}, {4}, 39);
  std::vector<double> r(1000, 0.0);
  h.forward(r);
  for (idx b = 0; b < h.batch; ++b) {
    for (idx e = 0; e < E; ++e) {
      double s1 = 0, s2 = 0;
      for (idx k = 0; k < 4; ++k) {
        const double v = h.tokens[0][static_cast<std::size_t>(b * 4 * E + k * E + e)];
        s1 += v;
        s2 += v * v;
      }
      CHECK(h.y[static_cast<std::size_t>(b * h.ld + e)] ==
            doctest::Approx(s1 * s1 - s2).epsilon(1e-12));
    }
  }
}

TEST_CASE("zero and identity operators") {
  conforms<ops::identity_dense>(shape_of(9, 0, 0, 0, 12, 0, false), {4, 5}, {}, 41);
  auto z = make<ops::zero_dense>(shape_of(9, 0, 0, 0, 12, 0, false), {9}, {}, 43);
  std::vector<double> r(1000, 1.0);
  CHECK(z.forward(r) == 0.0);
}

TEST_CASE("conformance at shapes that exercise the float kernels' blocking") {
  for (bool ln : {false, true}) {
    CAPTURE(ln);
    conforms<ops::cross>(shape_of(0, 0, 37, 37, 37, 0, ln), {37}, {}, 61);
    conforms<ops::dlrm_interaction>(shape_of(16, 26, 0, 0, 40, 0, ln), {16}, {26}, 63);
    // Attention: 27 tokens (NASRec's largest s: two 16-key registers, one partial).
    conforms<ops::attention>(shape_of(0, 30, 0, 0, 0, 27, ln), {}, {14, 16}, 59);
  }
}
