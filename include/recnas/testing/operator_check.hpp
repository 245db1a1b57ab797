#pragma once
// The operator conformance checks, for recnas's operators and for yours. Independent of any test
// framework: each check returns a report (what was compared, the worst error against its
// tolerance, one line per failure), so a doctest/GTest/Catch test asserts `report.ok()` and
// prints `report.summary()`, and a program prints it.
//
//   check_gradients<Op>(c)       analytic gradients of every parameter slot and every input
//                                against central finite differences, in double;
//   check_float_vs_double<Op>(c) the float path (recnas::kernels) against the double reference,
//                                output and every gradient;
//   check_slice<Op>(c)           the operator inside a supernet slot (parameters declared at
//                                larger widths, every input at a wider column offset) against the
//                                same operator standalone: same output and gradients, and no
//                                gradient written outside the active slice;
//   check_operator<Op>(c)        all three.
//
// A case is the operator's active shape plus the widths of its dense sources and the token
// counts of its sparse sources (for a binary operator: {left, right}, or {w} for one source
// read as both operands).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "recnas/core/rng.hpp"
#include "recnas/ops/concepts.hpp"

namespace recnas::testing {

/// One configuration of an operator.
struct operator_case {
  ops::op_shape shape;              // the active widths (all_subshapes is ignored)
  std::vector<index> dense_widths;  // one per dense source, in column order
  std::vector<index> token_counts;  // one per sparse source, in column order
  index batch = 3;
  std::uint64_t seed = 1;
};

struct check_options {
  double fd_step = 1e-6;
  double fd_tolerance = 1e-6;     // |fd - analytic| <= tol * max(1, |fd|)
  int probes_per_tensor = 4;      // random entries per parameter slot and per input
  double float_tolerance = 1e-4;  // |float - double| <= tol * max(1, max |double|), per tensor
  double slice_tolerance_double = 1e-12;  // same, supernet slice vs standalone
  double slice_tolerance_float = 1e-5;
  // The supernet slot of check_slice: every source this much wider (tokens: more), the
  // output widths this much larger.
  index slice_extra_width = 5;
  index slice_extra_tokens = 3;
  index slice_extra_d = 8;
  index slice_extra_s = 4;
};

/// What a check compared and what failed.
struct check_report {
  check_report() = default;
  check_report(std::string op_name, std::string check_name)
      : op(std::move(op_name)), check(std::move(check_name)) {}

  std::string op;
  std::string check;
  int comparisons = 0;
  double worst = 0.0;  // the largest error / tolerance seen (a pass is <= 1)
  std::vector<std::string> failures;

  [[nodiscard]] bool ok() const noexcept { return failures.empty() && comparisons > 0; }
  /// Records one comparison of `got` against `want` with absolute tolerance `tol`.
  void compare(double got, double want, double tol, const std::string& what) {
    ++comparisons;
    const double err = std::abs(got - want);
    const double ratio = tol > 0 ? err / tol : (err == 0 ? 0.0 : INFINITY);
    if (!(ratio <= 1.0)) {  // also catches NaN
      if (failures.size() < max_failures) {
        std::ostringstream s;
        s.precision(10);
        s << what << ": got " << got << ", expected " << want << " (error " << err << ", tolerance "
          << tol << ")";
        failures.push_back(s.str());
      } else if (failures.size() == max_failures) {
        failures.emplace_back("... (more failures not listed)");
      }
    }
    if (!(ratio <= worst)) worst = ratio;
  }
  void merge(const check_report& o) {
    if (check.empty()) {
      check = o.check;
    } else {
      check += ", " + o.check;
    }
    comparisons += o.comparisons;
    worst = std::max(worst, o.worst);
    for (const auto& f : o.failures) failures.push_back("[" + o.check + "] " + f);
  }
  /// One line when it passed; otherwise one line per failure after a header.
  [[nodiscard]] std::string summary() const {
    std::ostringstream s;
    s.precision(3);
    s << op << " (" << check << "): " << comparisons << " comparisons, worst error " << worst
      << " of tolerance, " << (ok() ? "ok" : "FAILED");
    if (comparisons == 0) s << " (nothing was compared)";
    for (const auto& f : failures) s << "\n  " << f;
    return s.str();
  }

 private:
  static constexpr std::size_t max_failures = 20;
};

/// An operator with its own parameters, inputs, output and tape, for the checks (and for tests
/// that compare an operator's output with a formula). Parameters are declared at `declared`
/// (the active shape unless the instance is a supernet slot) and filled with uniform values;
/// LayerNorm constants are perturbed around their initial value.
template <class Op, class T = double>
class operator_instance {
 public:
  static constexpr bool is_merger = Op::kind == policy_kind::merger;
  static constexpr bool to_tokens = [] {
    if constexpr (requires { Op::direction; }) {
      return Op::direction == ops::merge_direction::dense_to_sparse;
    } else {
      return false;
    }
  }();
  static constexpr bool sparse_out = Op::kind == policy_kind::sparse_operator;

  ops::op_shape shape;     // active
  ops::op_shape declared;  // what declare() saw
  index batch = 3;
  std::vector<ops::param_decl> decls;
  std::vector<std::vector<T>> params, param_grads;
  std::vector<index> dense_widths, token_counts;
  std::vector<index> dense_cols, token_cols;  // weight column of each source's first entry
  std::vector<std::vector<T>> dense, dense_grads;
  std::vector<std::vector<T>> tokens, token_grads;
  std::vector<T> y;  // [batch, ld]
  index ld = 0;
  ops::tape<T> tape;
  ops::arena<T> scratch;

  operator_instance(const operator_case& c, const ops::op_shape& declared_shape,
                    std::vector<index> dense_col_offsets = {},
                    std::vector<index> token_col_offsets = {})
      : shape(c.shape),
        declared(declared_shape),
        batch(c.batch),
        dense_widths(c.dense_widths),
        token_counts(c.token_counts),
        dense_cols(std::move(dense_col_offsets)),
        token_cols(std::move(token_col_offsets)) {
    shape.all_subshapes = false;
    rng g(c.seed);
    ops::param_declarer d;
    Op::declare(declared, d);
    decls = d.decls();
    for (const auto& p : decls) {
      std::vector<T> v(static_cast<std::size_t>(p.size()));
      for (auto& x : v) {
        x = static_cast<T>(p.init == ops::init_kind::constant ? p.value + g.uniform(-0.2, 0.2)
                                                              : g.uniform(-0.5, 0.5));
      }
      params.push_back(std::move(v));
      param_grads.emplace_back(params.back().size(), T(0));
    }
    for (index w : dense_widths) {
      dense.push_back(random_vector(g, batch * w));
      dense_grads.emplace_back(dense.back().size(), T(0));
    }
    for (index t : token_counts) {
      tokens.push_back(random_vector(g, batch * t * ops::embed_dim));
      token_grads.emplace_back(tokens.back().size(), T(0));
    }
    if (dense_cols.empty()) dense_cols = running_sum(dense_widths);
    if (token_cols.empty()) token_cols = running_sum(token_counts);
    expects(dense_cols.size() == dense_widths.size() && token_cols.size() == token_counts.size(),
            "operator_instance: one column offset per source");
    // Dense outputs get a padded row stride, sparse ones room for merger tokens, as in a block.
    ld = sparse_out ? (shape.s + 8) * ops::embed_dim : out_cols() + 5;
    y.assign(static_cast<std::size_t>(batch * ld), T(0));
  }
  /// A standalone instance: parameters declared at the active shape.
  explicit operator_instance(const operator_case& c) : operator_instance(c, active_of(c)) {}

  /// Entries per output row that forward writes.
  [[nodiscard]] index out_cols() const noexcept {
    if constexpr (to_tokens) {
      return Op::tokens * ops::embed_dim;
    } else if constexpr (sparse_out) {
      return shape.s * ops::embed_dim;
    } else {
      return shape.d;
    }
  }
  /// Runs forward on a zeroed output; returns sum r * y (r covers at least y).
  double forward(const std::vector<double>& r) {
    scratch.reset();
    tape = {};
    std::fill(y.begin(), y.end(), T(0));
    view v(*this);
    Op::forward(v.io, tape, y.data(), ld);
    double l = 0;
    for (std::size_t i = 0; i < y.size(); ++i) l += r[i] * static_cast<double>(y[i]);
    return l;
  }
  /// Backward of the last forward with dy = r on the active outputs (zero elsewhere).
  void backward(const std::vector<double>& r) {
    std::vector<T> dy(y.size(), T(0));
    for (index b = 0; b < batch; ++b) {
      for (index c = 0; c < out_cols(); ++c) {
        const auto i = static_cast<std::size_t>(b * ld + c);
        dy[i] = static_cast<T>(r[i]);
      }
    }
    view v(*this);
    Op::backward(v.io, std::as_const(tape), dy.data(), ld);
  }
  void zero_grads() {
    for (auto* set : {&param_grads, &dense_grads, &token_grads}) {
      for (auto& g : *set) std::fill(g.begin(), g.end(), T(0));
    }
  }
  /// A dy (as double) covering y, zero outside the active outputs so that sum r*y is what
  /// backward differentiates.
  [[nodiscard]] std::vector<double> random_dy(std::uint64_t seed) const {
    rng g(seed);
    std::vector<double> r(y.size(), 0.0);
    for (index b = 0; b < batch; ++b) {
      for (index c = 0; c < out_cols(); ++c) {
        r[static_cast<std::size_t>(b * ld + c)] =
            static_cast<double>(static_cast<T>(static_cast<float>(g.uniform(-1.0, 1.0))));
      }
    }
    return r;
  }

  [[nodiscard]] static ops::op_shape active_of(const operator_case& c) {
    ops::op_shape s = c.shape;
    s.all_subshapes = false;
    return s;
  }

 private:
  /// The op_io of the instance (segments and parameter views live here).
  struct view {
    std::vector<ops::dense_seg<T>> ds;
    std::vector<ops::token_seg<T>> ts;
    std::vector<ops::param_ref<T>> refs;
    ops::op_io<T> io;
    explicit view(operator_instance& h) {
      for (std::size_t k = 0; k < h.dense.size(); ++k) {
        ds.push_back({h.dense[k].data(), h.dense_grads[k].data(), h.dense_widths[k],
                      h.dense_widths[k], h.dense_cols[k]});
      }
      for (std::size_t k = 0; k < h.tokens.size(); ++k) {
        ts.push_back({h.tokens[k].data(), h.token_grads[k].data(),
                      h.token_counts[k] * ops::embed_dim, h.token_counts[k], h.token_cols[k]});
      }
      for (std::size_t k = 0; k < h.params.size(); ++k) {
        refs.push_back(
            {h.params[k].data(), h.param_grads[k].data(), h.decls[k].rows, h.decls[k].cols});
      }
      io = ops::op_io<T>{h.batch, h.shape, ds, ts, {}, {}, refs, &h.scratch};
      if (ds.size() >= 2) {
        io.left = ds[0];
        io.right = ds[1];
      } else if (ds.size() == 1) {
        io.left = io.right = ds[0];
      }
    }
  };
  static std::vector<T> random_vector(rng& g, index n) {
    std::vector<T> v(static_cast<std::size_t>(n));
    for (auto& x : v) x = static_cast<T>(g.uniform(-1.0, 1.0));
    return v;
  }
  static std::vector<index> running_sum(const std::vector<index>& w) {
    std::vector<index> c;
    index at = 0;
    for (index x : w) {
      c.push_back(at);
      at += x;
    }
    return c;
  }
};

namespace detail {
inline std::string slot_name(const std::vector<ops::param_decl>& decls, std::size_t k) {
  return "param " + std::to_string(k) + " (" + decls[k].name + ")";
}
/// Compares two tensors entry by entry, tolerance relative to the larger of 1 and max |want|.
template <class A, class B>
void compare_tensor(check_report& rep, const std::vector<A>& got, const std::vector<B>& want,
                    double rel_tol, const std::string& what) {
  double norm = 1.0;
  for (const auto& v : want) norm = std::max(norm, std::abs(static_cast<double>(v)));
  for (std::size_t i = 0; i < want.size(); ++i) {
    rep.compare(static_cast<double>(got[i]), static_cast<double>(want[i]), rel_tol * norm,
                what + "[" + std::to_string(i) + "]");
  }
}
}  // namespace detail

/// Analytic gradients (double) against central differences of sum r * y, probing
/// `probes_per_tensor` random entries of every parameter slot and every input.
template <class Op>
[[nodiscard]] check_report check_gradients(const operator_case& c, const check_options& opt = {}) {
  check_report rep{std::string(Op::name), "gradients"};
  operator_instance<Op, double> h(c);
  const auto r = h.random_dy(c.seed + 101);
  h.forward(r);
  h.backward(r);
  rng g(c.seed + 202);
  auto probe = [&](std::vector<double>& vals, const std::vector<double>& grads,
                   const std::string& what) {
    for (int q = 0; q < opt.probes_per_tensor && !vals.empty(); ++q) {
      const auto k = static_cast<std::size_t>(g.below(vals.size()));
      const double keep = vals[k];
      vals[k] = keep + opt.fd_step;
      const double lp = h.forward(r);
      vals[k] = keep - opt.fd_step;
      const double lm = h.forward(r);
      vals[k] = keep;
      const double fd = (lp - lm) / (2 * opt.fd_step);
      rep.compare(grads[k], fd, opt.fd_tolerance * std::max(1.0, std::abs(fd)),
                  what + "[" + std::to_string(k) + "] analytic vs finite difference");
    }
  };
  for (std::size_t k = 0; k < h.params.size(); ++k) {
    probe(h.params[k], h.param_grads[k], detail::slot_name(h.decls, k));
  }
  for (std::size_t k = 0; k < h.dense.size(); ++k) {
    probe(h.dense[k], h.dense_grads[k], "dense input " + std::to_string(k));
  }
  for (std::size_t k = 0; k < h.tokens.size(); ++k) {
    probe(h.tokens[k], h.token_grads[k], "token input " + std::to_string(k));
  }
  return rep;
}

/// The float path against the double reference on the same float-representable values: the
/// output and every gradient, per tensor relative to its largest magnitude.
template <class Op>
[[nodiscard]] check_report check_float_vs_double(const operator_case& c,
                                                 const check_options& opt = {}) {
  check_report rep{std::string(Op::name), "float vs double"};
  operator_instance<Op, float> f(c);
  operator_instance<Op, double> d(c);
  auto copy = [](const auto& from, auto& to) {
    for (std::size_t k = 0; k < from.size(); ++k) {
      for (std::size_t i = 0; i < from[k].size(); ++i) to[k][i] = static_cast<double>(from[k][i]);
    }
  };
  copy(f.params, d.params);
  copy(f.dense, d.dense);
  copy(f.tokens, d.tokens);
  const auto r = d.random_dy(c.seed + 303);
  f.forward(r);
  d.forward(r);
  detail::compare_tensor(rep, f.y, d.y, opt.float_tolerance, "output");
  f.backward(r);
  d.backward(r);
  for (std::size_t k = 0; k < d.params.size(); ++k) {
    detail::compare_tensor(rep, f.param_grads[k], d.param_grads[k], opt.float_tolerance,
                           detail::slot_name(d.decls, k) + " gradient");
  }
  for (std::size_t k = 0; k < d.dense.size(); ++k) {
    detail::compare_tensor(rep, f.dense_grads[k], d.dense_grads[k], opt.float_tolerance,
                           "dense input " + std::to_string(k) + " gradient");
  }
  for (std::size_t k = 0; k < d.tokens.size(); ++k) {
    detail::compare_tensor(rep, f.token_grads[k], d.token_grads[k], opt.float_tolerance,
                           "token input " + std::to_string(k) + " gradient");
  }
  return rep;
}

namespace detail {
/// The supernet slot that holds case c: every source wider, the outputs larger, declared with
/// all_subshapes (as supernet::network declares a block's slot).
inline ops::op_shape slot_shape(const operator_case& c, const std::vector<index>& wide,
                                const std::vector<index>& many, const check_options& opt) {
  ops::op_shape s = c.shape;
  s.in_width = 0;
  s.in_tokens = 0;
  index wmax = 0;
  for (index w : wide) {
    s.in_width += w;
    wmax = std::max(wmax, w);
  }
  for (index t : many) s.in_tokens += t;
  if (!wide.empty()) s.left_width = s.right_width = wmax;
  s.d = c.shape.d + opt.slice_extra_d;
  s.s = c.shape.s + opt.slice_extra_s;
  s.all_subshapes = true;
  return s;
}

template <class T, class Op>
void check_slice_as(check_report& rep, const operator_case& c, const check_options& opt, double tol,
                    const char* type) {
  using inst = operator_instance<Op, T>;
  // Mergers read the block's own output, whose width grows with d in a larger slot.
  const index extra_w = inst::is_merger ? opt.slice_extra_d : opt.slice_extra_width;
  const index extra_t = inst::is_merger ? opt.slice_extra_s : opt.slice_extra_tokens;
  std::vector<index> wide, many, wide_cols, many_cols;
  index at = 0;
  for (index w : c.dense_widths) {
    wide.push_back(w + extra_w);
    wide_cols.push_back(at);
    at += w + extra_w;
  }
  at = 0;
  for (index t : c.token_counts) {
    many.push_back(t + extra_t);
    many_cols.push_back(at);
    at += t + extra_t;
  }
  inst alone(c);
  inst slot(c, slot_shape(c, wide, many, opt), wide_cols, many_cols);
  // The standalone parameters are the slot's active slice: prefix rows, and the columns of
  // each source (dense_in, token_in) or a prefix (prefix).
  struct run {
    std::size_t k;
    index dst, src, width;
  };
  std::vector<run> runs;
  if (alone.decls.size() != slot.decls.size()) {
    rep.compare(static_cast<double>(alone.decls.size()), static_cast<double>(slot.decls.size()),
                0.0,
                std::string("parameter slot count (an operator always declares the same "
                            "slots; an unused one has zero rows), ") +
                    type);
    return;
  }
  for (std::size_t k = 0; k < alone.decls.size(); ++k) {
    const auto& a = alone.decls[k];
    const auto& s = slot.decls[k];
    if (a.size() == 0) continue;
    if (a.rows > s.rows || a.cols > s.cols) {
      rep.compare(static_cast<double>(a.rows * 100000 + a.cols),
                  static_cast<double>(s.rows * 100000 + s.cols), 0.0,
                  slot_name(alone.decls, k) +
                      " is larger standalone (rows*1e5+cols) than in the "
                      "supernet slot");
      continue;
    }
    switch (a.cols_map) {
      case ops::cols_kind::prefix:
        runs.push_back({k, 0, 0, a.cols});
        break;
      case ops::cols_kind::dense_in:
        for (std::size_t q = 0; q < c.dense_widths.size(); ++q) {
          runs.push_back({k, alone.dense_cols[q], slot.dense_cols[q], c.dense_widths[q]});
        }
        break;
      case ops::cols_kind::token_in:
        for (std::size_t q = 0; q < c.token_counts.size(); ++q) {
          runs.push_back({k, alone.token_cols[q], slot.token_cols[q], c.token_counts[q]});
        }
        break;
    }
  }
  for (const auto& ru : runs) {
    const auto& a = alone.decls[ru.k];
    const auto& s = slot.decls[ru.k];
    for (index row = 0; row < a.rows; ++row) {
      for (index j = 0; j < ru.width; ++j) {
        alone.params[ru.k][static_cast<std::size_t>(row * a.cols + ru.dst + j)] =
            slot.params[ru.k][static_cast<std::size_t>(row * s.cols + ru.src + j)];
      }
    }
  }
  slot.dense = alone.dense;
  slot.tokens = alone.tokens;
  const auto r = alone.random_dy(c.seed + 404);
  alone.forward(r);
  slot.forward(r);
  compare_tensor(rep, slot.y, alone.y, tol, std::string("output, ") + type);
  alone.backward(r);
  slot.backward(r);
  for (std::size_t k = 0; k < alone.dense.size(); ++k) {
    compare_tensor(rep, slot.dense_grads[k], alone.dense_grads[k], tol,
                   "dense input " + std::to_string(k) + " gradient, " + type);
  }
  for (std::size_t k = 0; k < alone.tokens.size(); ++k) {
    compare_tensor(rep, slot.token_grads[k], alone.token_grads[k], tol,
                   "token input " + std::to_string(k) + " gradient, " + type);
  }
  // Parameter gradients: the slice equals the standalone gradient, and nothing is written
  // outside it (the supernet computes only the active slice).
  std::vector<std::vector<char>> inside(slot.decls.size());
  for (std::size_t k = 0; k < slot.decls.size(); ++k) inside[k].assign(slot.params[k].size(), 0);
  for (std::size_t k = 0; k < alone.decls.size(); ++k) {
    double norm = 1.0;
    for (const auto& v : alone.param_grads[k]) norm = std::max(norm, std::abs(double(v)));
    for (const auto& ru : runs) {
      if (ru.k != k) continue;
      const auto& a = alone.decls[k];
      const auto& s = slot.decls[k];
      for (index row = 0; row < a.rows; ++row) {
        for (index j = 0; j < ru.width; ++j) {
          const auto si = static_cast<std::size_t>(row * s.cols + ru.src + j);
          inside[k][si] = 1;
          rep.compare(
              static_cast<double>(slot.param_grads[k][si]),
              static_cast<double>(
                  alone.param_grads[k][static_cast<std::size_t>(row * a.cols + ru.dst + j)]),
              tol * norm,
              slot_name(alone.decls, k) + " gradient [" + std::to_string(row) + ", " +
                  std::to_string(ru.dst + j) + "], " + type);
        }
      }
    }
  }
  for (std::size_t k = 0; k < slot.decls.size(); ++k) {
    index outside = 0;
    for (std::size_t i = 0; i < inside[k].size(); ++i) {
      if (inside[k][i] == 0 && slot.param_grads[k][i] != T(0)) ++outside;
    }
    rep.compare(
        static_cast<double>(outside), 0.0, 0.0,
        slot_name(slot.decls, k) + ": gradient entries written outside the active slice, " + type);
  }
}
}  // namespace detail

/// The operator in a supernet slot (declared larger, inputs at wider column offsets) equals
/// the operator standalone on the slice, in double and in float.
template <class Op>
[[nodiscard]] check_report check_slice(const operator_case& c, const check_options& opt = {}) {
  check_report rep{std::string(Op::name), "slice vs standalone"};
  detail::check_slice_as<double, Op>(rep, c, opt, opt.slice_tolerance_double, "double");
  detail::check_slice_as<float, Op>(rep, c, opt, opt.slice_tolerance_float, "float");
  return rep;
}

/// Gradients, float vs double, and slice vs standalone.
template <class Op>
[[nodiscard]] check_report check_operator(const operator_case& c, const check_options& opt = {}) {
  check_report rep{std::string(Op::name), ""};
  rep.merge(check_gradients<Op>(c, opt));
  rep.merge(check_float_vs_double<Op>(c, opt));
  rep.merge(check_slice<Op>(c, opt));
  return rep;
}

}  // namespace recnas::testing
