// The shipped conformance checks (recnas/testing/operator_check.hpp) catch what they promise to
// catch: each check is run on a correct operator and on one with a single planted flaw, and
// only the check responsible for that flaw fails, naming the tensor.
#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

#include <recnas/ops/concepts.hpp>
#include <recnas/ops/kit.hpp>
#include <recnas/testing/operator_check.hpp>

namespace ops = recnas::ops;
namespace rt = recnas::testing;
using idx = recnas::index;

namespace {

enum class flaw { none, half_weight_gradient, ignores_column_offsets, writes_outside, float_drift };

/// y = W x + b over the block's dense inputs, optionally with one planted flaw.
template <flaw F>
struct linear {
  static constexpr std::string_view name = "planted_linear";
  static constexpr recnas::policy_kind kind = recnas::policy_kind::dense_operator;
  static constexpr ops::reads inputs = ops::reads::dense;
  static void declare(const ops::op_shape& s, ops::param_declarer& d) {
    d.matrix("W", s.d, s.in_width, ops::cols_kind::dense_in);
    d.bias("b", s.d, s.in_width);
  }
  static void work(const ops::op_shape& s, recnas::work_graph& w) {
    w.add(recnas::work_step::product(recnas::work_kind::fc, "linear", s.d, s.in_width));
  }
  /// The segments as the operator reads them (the flawed one assumes the standalone layout).
  template <class T>
  static std::vector<ops::dense_seg<T>> segs(const ops::op_io<T>& io) {
    std::vector<ops::dense_seg<T>> xs(io.dense.begin(), io.dense.end());
    if constexpr (F == flaw::ignores_column_offsets) {
      idx col = 0;
      for (auto& x : xs) {
        x.col = col;
        col += x.width;
      }
    }
    return xs;
  }
  template <class T>
  static void forward(const ops::op_io<T>& io, ops::tape<T>&, T* y, idx ldy) {
    const auto xs = segs(io);
    ops::kit::linear_forward<T>(io.batch, xs, io.params[0].w, io.params[0].cols, io.params[1].w,
                                io.shape.d, y, ldy);
    if constexpr (F == flaw::float_drift && std::is_same_v<T, float>) {
      for (idx b = 0; b < io.batch; ++b) y[b * ldy] += 1e-2F;
    }
  }
  template <class T>
  static void backward(const ops::op_io<T>& io, const ops::tape<T>&, const T* dy, idx lddy) {
    const auto xs = segs(io);
    const auto& W = io.params[0];
    const idx n = io.shape.d;
    if constexpr (F == flaw::half_weight_gradient) {
      std::vector<T> gw(static_cast<std::size_t>(W.rows * W.cols), T(0));
      ops::kit::linear_backward<T>(io.batch, xs, W.w, gw.data(), W.cols, io.params[1].g, n, dy,
                                   lddy);
      for (std::size_t i = 0; i < gw.size(); ++i) W.g[i] += T(0.5) * gw[i];
    } else {
      ops::kit::linear_backward<T>(io.batch, xs, W.w, W.g, W.cols, io.params[1].g, n, dy, lddy);
    }
    if constexpr (F == flaw::writes_outside) {
      // Touches the declared columns past the active inputs: none standalone, some in a slot.
      for (idx c = ops::kit::total_width(std::span<const ops::dense_seg<T>>(io.dense)); c < W.cols;
           ++c) {
        W.g[c] += T(1);
      }
    }
  }
};

/// The two-input example of docs/supernet.md ("Example: a two-input operator"), verbatim.
struct gated_product {
  static constexpr std::string_view name = "gated_product";
  static constexpr recnas::policy_kind kind = recnas::policy_kind::dense_operator;
  static constexpr recnas::ops::reads inputs = recnas::ops::reads::left_right;
  static recnas::index width(const recnas::ops::op_shape& s) {
    return std::min(s.left_width, s.right_width);
  }
  static void declare(const recnas::ops::op_shape& s, recnas::ops::param_declarer& d) {
    d.matrix("W", s.d, width(s));  // prefix columns: slices copy as a prefix
    d.bias("b", s.d, width(s));
  }
  static void work(const recnas::ops::op_shape& s, recnas::work_graph& w) {
    using recnas::work_graph, recnas::work_step;
    const auto m =
        w.add(work_step::multiply("gp.mul", width(s)), {work_graph::left, work_graph::right});
    w.add(work_step::product(recnas::work_kind::fc, "gp.proj", s.d, width(s)), {m});
  }
  template <class T>
  struct saved {
    const T* m;  // l * r on the common prefix
    const T* y;  // stays intact until backward
    recnas::index ldy;
  };
  template <class T>
  static void forward(const recnas::ops::op_io<T>& io, recnas::ops::tape<T>& t, T* y,
                      recnas::index ldy) {
    namespace kit = recnas::ops::kit;
    const recnas::index B = io.batch, w = std::min(io.left.width, io.right.width);
    T* m = io.scratch->alloc(B * w);
    kit::multiply(B, w, io.left.x, io.left.ld, io.right.x, io.right.ld, m, w);
    const std::array<recnas::ops::dense_seg<T>, 1> xs{{{m, nullptr, w, w, 0}}};
    kit::linear_forward<T>(B, xs, io.params[0].w, io.params[0].cols, io.params[1].w, io.shape.d, y,
                           ldy);
    kit::relu_forward(y, B, io.shape.d, ldy);
    auto& kept = t.template save<saved<T>>();
    kept.m = m;
    kept.y = y;
    kept.ldy = ldy;
  }
  template <class T>
  static void backward(const recnas::ops::op_io<T>& io, const recnas::ops::tape<T>& t, const T* dy,
                       recnas::index lddy) {
    namespace kit = recnas::ops::kit;
    const auto& kept = t.template saved<saved<T>>();
    const recnas::index B = io.batch, n = io.shape.d, w = std::min(io.left.width, io.right.width);
    T* g = io.scratch->alloc(B * n);
    kit::relu_backward_copy(dy, lddy, kept.y, kept.ldy, g, n, B, n);
    T* dm = io.scratch->zeros(B * w);
    const std::array<recnas::ops::dense_seg<T>, 1> xs{{{kept.m, dm, w, w, 0}}};
    kit::linear_backward<T>(B, xs, io.params[0].w, io.params[0].g, io.params[0].cols,
                            io.params[1].g, n, g, n);
    kit::multiply_backward(B, w, io.left.x, io.left.ld, io.right.x, io.right.ld,
                           static_cast<const T*>(dm), w, io.left.dx, io.left.ld, io.right.dx,
                           io.right.ld, /*accumulate=*/true);
  }
};

rt::operator_case a_case() {
  ops::op_shape s;
  s.in_width = 13 + 7;
  s.d = 9;
  return {s, {13, 7}, {}, 3, 5};
}

bool mentions(const rt::check_report& r, std::string_view what) {
  for (const auto& f : r.failures)
    if (f.find(what) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("a correct operator passes every check") {
  const auto r = rt::check_operator<linear<flaw::none>>(a_case());
  CHECK_MESSAGE(r.ok(), r.summary());
  CHECK(r.comparisons > 100);
  CHECK(r.worst <= 1.0);
  CHECK(r.summary().find("ok") != std::string::npos);
}

TEST_CASE("a wrong weight gradient fails the finite-difference check, naming the slot") {
  using op = linear<flaw::half_weight_gradient>;
  const auto g = rt::check_gradients<op>(a_case());
  CHECK_FALSE(g.ok());
  CHECK(mentions(g, "param 0 (W)"));
  CHECK_FALSE(mentions(g, "param 1 (b)"));  // the bias gradient is right
  CHECK(g.summary().find("FAILED") != std::string::npos);
  CHECK_MESSAGE(rt::check_float_vs_double<op>(a_case()).ok(), "both paths share the flaw");
}

TEST_CASE("an operator that ignores its inputs' weight columns fails only the slice check") {
  using op = linear<flaw::ignores_column_offsets>;
  CHECK(rt::check_gradients<op>(a_case()).ok());  // standalone it is correct
  CHECK(rt::check_float_vs_double<op>(a_case()).ok());
  const auto s = rt::check_slice<op>(a_case());
  CHECK_FALSE(s.ok());
  CHECK(mentions(s, "output"));
}

TEST_CASE("gradient written outside the active slice is reported") {
  using op = linear<flaw::writes_outside>;
  CHECK(rt::check_gradients<op>(a_case()).ok());
  const auto s = rt::check_slice<op>(a_case());
  CHECK_FALSE(s.ok());
  CHECK(mentions(s, "written outside the active slice"));
  CHECK(mentions(s, "param 0 (W)"));
}

TEST_CASE("a float path that drifts from the double reference fails float vs double") {
  using op = linear<flaw::float_drift>;
  CHECK(rt::check_gradients<op>(a_case()).ok());
  const auto f = rt::check_float_vs_double<op>(a_case());
  CHECK_FALSE(f.ok());
  CHECK(mentions(f, "output"));
}

TEST_CASE("a report that compared nothing does not pass") {
  rt::check_report r{"nothing", "none"};
  CHECK_FALSE(r.ok());
  r.compare(1.0, 1.0, 0.0, "exact");
  CHECK(r.ok());
  r.compare(std::nan(""), 1.0, 1.0, "nan");
  CHECK_FALSE(r.ok());
  CHECK(mentions(r, "nan"));
}

TEST_CASE("the documented two-input operator conforms, on two sources and on one shared source") {
  static_assert(ops::DenseOperator<gated_product>);
  ops::op_shape s;
  s.left_width = 6;
  s.right_width = 10;
  s.d = 7;
  const auto two = rt::check_operator<gated_product>({s, {6, 10}, {}, 3, 1});
  CHECK_MESSAGE(two.ok(), two.summary());
  s.left_width = s.right_width = 9;  // l and r are the same block: both terms reach one dx
  const auto one = rt::check_operator<gated_product>({s, {9}, {}, 3, 2});
  CHECK_MESSAGE(one.ok(), one.summary());
  recnas::work_graph g;
  gated_product::work(s, g);
  REQUIRE(g.nodes().size() == 2);
  CHECK(g.flops() ==
        doctest::Approx(7.0 * 9));  // MACs of the product (NASRec counts no element-wise work)
}
