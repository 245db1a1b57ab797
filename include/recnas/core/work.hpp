#pragma once
// The work an operator does per example, as a small dataflow graph of steps. It is the one
// vocabulary shared by the operators (which describe themselves), the FLOPs count (which sums
// the matrix products and LayerNorms) and the hardware models (pim/ maps every step to a
// crossbar or digital layer). An operator describes itself once; nothing downstream switches
// on its type.
//
// A step is a matrix product with stored weights (analog on PIM), a product of two
// activations (dot products, attention scores), element-wise work (gating, sums, FM, softmax,
// LayerNorm) or an embedding lookup. FLOPs follow the reference's fvcore convention: one per
// multiply-accumulate of a product, 5 per LayerNorm element, element-wise work free.

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "recnas/core/error.hpp"

namespace recnas {

/// The index type of core/tensor.hpp, without Eigen (the PIM model needs no matrices).
using index = std::ptrdiff_t;

enum class work_kind : std::uint8_t {
  // products with stored weights (crossbars)
  fc,                    // dense linear layer
  efc,                   // NASRec linear-3d: T -> s over the token axis, one vector per channel
  projection,            // projections inside operators and mergers
  attention_projection,  // Q, K, V, O and the attention FFN
  // dynamic operands or element-wise (digital units)
  dot_product,       // pairwise e_i . e_j
  fm,                // (sum e)^2 - sum e^2
  attention_scores,  // Q K^T
  softmax,
  attention_values,  // softmax(QK^T) V
  gating,            // x * y (sigmoid gating, the cross operator's x0 * (.))
  sum,
  layernorm,
  digital_other,
  // memory
  embedding,
};

enum class work_class : std::uint8_t { analog, digital, memory };

[[nodiscard]] constexpr work_class class_of(work_kind k) noexcept {
  switch (k) {
    case work_kind::fc:
    case work_kind::efc:
    case work_kind::projection:
    case work_kind::attention_projection:
      return work_class::analog;
    case work_kind::embedding:
      return work_class::memory;
    default:
      return work_class::digital;
  }
}

[[nodiscard]] constexpr std::string_view to_string(work_kind k) noexcept {
  switch (k) {
    case work_kind::fc:
      return "fc";
    case work_kind::efc:
      return "efc";
    case work_kind::projection:
      return "projection";
    case work_kind::attention_projection:
      return "attention_projection";
    case work_kind::dot_product:
      return "dot_product";
    case work_kind::fm:
      return "fm";
    case work_kind::attention_scores:
      return "attention_scores";
    case work_kind::softmax:
      return "softmax";
    case work_kind::attention_values:
      return "attention_values";
    case work_kind::gating:
      return "gating";
    case work_kind::sum:
      return "sum";
    case work_kind::layernorm:
      return "layernorm";
    case work_kind::digital_other:
      return "digital";
    case work_kind::embedding:
      return "embedding";
  }
  return "?";
}

/// Parses the names of to_string(work_kind); returns false for an unknown name.
[[nodiscard]] inline bool parse_work_kind(std::string_view s, work_kind& out) noexcept {
  for (int i = 0; i <= static_cast<int>(work_kind::embedding); ++i) {
    const auto k = static_cast<work_kind>(i);
    if (to_string(k) == s) {
      out = k;
      return true;
    }
  }
  return false;
}

/// One matrix product per example: out[rows x vectors] = W[rows x inner] * X[inner x vectors].
/// `weights`: the left factor is a stored parameter (a crossbar can hold it); false for
/// activation-activation products (attention, dot products).
struct matmul_work {
  std::string what;
  index rows = 0;
  index inner = 0;
  index vectors = 1;
  bool weights = true;
  [[nodiscard]] double macs() const noexcept {
    return static_cast<double>(rows) * static_cast<double>(inner) * static_cast<double>(vectors);
  }
};

/// One step of work per example. The factories below are the only place where the operation
/// counts of each kind of element-wise work are written down.
struct work_step {
  work_kind kind = work_kind::digital_other;
  std::string name;
  // products: out[rows x vectors] = W[rows x inner] * X[inner x vectors]
  index rows = 0;
  index inner = 0;
  index vectors = 1;
  // digital operation counts: MACs of activation products (2 ops each), element-wise
  // multiplications, adds (and subtracts, compares), specials (exp, sigmoid, rsqrt, ...)
  double macs = 0.0;
  double muls = 0.0;
  double adds = 0.0;
  double specials = 0.0;
  // activation elements read and written
  index in_elems = 0;
  index out_elems = 0;

  [[nodiscard]] work_class cls() const noexcept { return class_of(kind); }
  [[nodiscard]] bool is_product() const noexcept {
    return cls() == work_class::analog || (cls() == work_class::digital && rows > 0);
  }
  /// The FLOPs convention: MACs of products, 5 per LayerNorm element, element-wise work free.
  [[nodiscard]] double flops() const noexcept {
    if (cls() == work_class::analog)
      return static_cast<double>(rows) * static_cast<double>(inner) * static_cast<double>(vectors);
    if (kind == work_kind::layernorm) return 5.0 * static_cast<double>(in_elems);
    return macs;
  }
  [[nodiscard]] matmul_work as_matmul() const noexcept {
    return {name, rows, inner, vectors, cls() == work_class::analog};
  }

  /// A product with a stored weight W[rows x inner], applied to `vectors` vectors.
  static work_step product(work_kind k, std::string name, index rows, index inner,
                           index vectors = 1) {
    expects(class_of(k) == work_class::analog, "work_step::product needs a weight work_kind");
    // zero extents are zero FLOPs (an operator that does not run); a PIM layer refuses them
    expects(rows >= 0 && inner >= 0 && vectors >= 0, "a product needs extents >= 0");
    work_step s;
    s.kind = k;
    s.name = std::move(name);
    s.rows = rows;
    s.inner = inner;
    s.vectors = vectors;
    s.in_elems = inner * vectors;
    s.out_elems = rows * vectors;
    return s;
  }
  /// A product of two activations, out[rows x vectors] = A[rows x inner] * B[inner x vectors].
  static work_step activation_product(work_kind k, std::string name, index rows, index inner,
                                      index vectors) {
    expects(class_of(k) == work_class::digital, "an activation product runs on digital units");
    expects(rows >= 0 && inner >= 0 && vectors >= 0, "a product needs extents >= 0");
    work_step s = elementwise(k, std::move(name), 0.0, 0.0, 0.0, inner * vectors, rows * vectors);
    s.rows = rows;
    s.inner = inner;
    s.vectors = vectors;
    s.macs = static_cast<double>(rows) * static_cast<double>(inner) * static_cast<double>(vectors);
    return s;
  }
  /// Element-wise work with explicit counts.
  static work_step elementwise(work_kind k, std::string name, double muls, double adds,
                               double specials, index in_elems, index out_elems) {
    expects(class_of(k) == work_class::digital, "element-wise work runs on digital units");
    expects(muls >= 0 && adds >= 0 && specials >= 0, "operation counts must be >= 0");
    work_step s;
    s.kind = k;
    s.name = std::move(name);
    s.muls = muls;
    s.adds = adds;
    s.specials = specials;
    s.in_elems = in_elems;
    s.out_elems = out_elems;
    return s;
  }
  /// Sets the activation elements read and written (e.g. a Gram matrix keeping one triangle).
  work_step&& elems(index in, index out) && {
    in_elems = in;
    out_elems = out;
    return std::move(*this);
  }
  /// x + y over `width` elements.
  static work_step sum(std::string name, index width) {
    return elementwise(work_kind::sum, std::move(name), 0.0, static_cast<double>(width), 0.0,
                       2 * width, width);
  }
  /// sigmoid(g) * x over `width` elements.
  static work_step gating(std::string name, index width) {
    const auto w = static_cast<double>(width);
    return elementwise(work_kind::gating, std::move(name), w, 0.0, w, 2 * width, width);
  }
  /// x * y over `width` elements.
  static work_step multiply(std::string name, index width) {
    return elementwise(work_kind::gating, std::move(name), static_cast<double>(width), 0.0, 0.0,
                       2 * width, width);
  }
  /// NASRec FM: f = (sum_t x_t)^2 - sum_t x_t^2 over `tokens` vectors of `width`.
  static work_step fm(std::string name, index tokens, index width) {
    const auto tw = static_cast<double>(tokens * width);
    const auto w = static_cast<double>(width);
    // x_t^2 and (sum x)^2 are multiplications; both sums and the difference are adds
    return elementwise(work_kind::fm, std::move(name), tw + w, 2.0 * tw + w, 0.0, tokens * width,
                       width);
  }
  /// Softmax over `elements` scores: max, subtract, sum (adds) and one exp each.
  static work_step softmax(std::string name, index elements) {
    const auto n = static_cast<double>(elements);
    return elementwise(work_kind::softmax, std::move(name), 0.0, 2.0 * n, n, elements, elements);
  }
  /// LayerNorm over `rows` rows of `width`: mean, variance, normalise, scale and shift.
  static work_step layernorm(std::string name, index rows, index width) {
    const auto n = static_cast<double>(rows * width);
    // squares, scale by rstd, gamma (3n multiplications); mean, centre, variance sum, beta (4n)
    return elementwise(work_kind::layernorm, std::move(name), 3.0 * n, 4.0 * n,
                       static_cast<double>(rows), rows * width, rows * width);
  }
};

/// A value in an operator's work graph: one of the operator's inputs or a step's output.
struct work_value {
  int id = -1;
  friend constexpr bool operator==(work_value, work_value) = default;
};

/// What an operator does per example: steps in order, each reading earlier steps or the
/// operator's inputs, and the operator's output (a free concatenation of values). A step added
/// without inputs reads the previous step, or every input of the operator if it is the first,
/// so a description that only lists its products reads as a chain.
class work_graph {
 public:
  static constexpr int max_step_inputs = 8;
  /// The operator's inputs: the block's dense concatenation, its sparse token concatenation,
  /// the two operands of a binary operator, and "whatever the operator reads".
  static constexpr work_value dense{-1};
  static constexpr work_value tokens{-2};
  static constexpr work_value left{-3};
  static constexpr work_value right{-4};
  static constexpr work_value inputs{-5};

  struct node {
    work_step step;
    std::array<work_value, max_step_inputs> from{};
    int n_from = 0;
    [[nodiscard]] std::span<const work_value> reads() const noexcept {
      return {from.data(), static_cast<std::size_t>(n_from)};
    }
  };

  /// Appends `s` reading `from` (values of this graph).
  work_value add(work_step s, std::initializer_list<work_value> from) {
    return add(std::move(s), std::span<const work_value>(from.begin(), from.size()));
  }
  work_value add(work_step s, std::span<const work_value> from) {
    expects(static_cast<int>(from.size()) <= max_step_inputs,
            "work_graph: a step reads at most 8 values");
    node n{std::move(s), {}, 0};
    for (work_value v : from) {
      expects(v.id >= inputs.id && v.id < static_cast<int>(nodes_.size()),
              "work_graph: a step can only read the operator's inputs or earlier steps");
      n.from[static_cast<std::size_t>(n.n_from++)] = v;
    }
    if (nodes_.empty()) nodes_.reserve(8);  // operators have at most ~11 steps
    nodes_.push_back(std::move(n));
    last_ = {static_cast<int>(nodes_.size()) - 1};
    return last_;
  }
  /// Appends `s` reading the previous step (or the operator's inputs if it is the first).
  work_value add(work_step s) { return add(std::move(s), {last_}); }

  /// A product with a stored weight W[rows x inner] on `vectors` vectors, as a chain link.
  work_value matmul(std::string_view what, index rows, index inner, index vectors = 1,
                    bool weights = true) {
    return add(
        weights ? work_step::product(work_kind::projection, std::string(what), rows, inner, vectors)
                : work_step::activation_product(work_kind::digital_other, std::string(what), rows,
                                                inner, vectors));
  }
  /// A LayerNorm over `elements` (one row) after the previous step.
  work_value layernorm(index elements) {
    return add(work_step::layernorm("layernorm", 1, elements));
  }

  /// The operator's output: the concatenation of `values` ({} when it computes nothing, e.g.
  /// zeros). Without a call, the output is the last step, or the operator's inputs.
  void output(std::initializer_list<work_value> values) {
    output_.emplace();
    for (work_value v : values) output_->push_back(v);
  }

  /// Forgets every step and the output, keeping the memory (one graph serves many operators).
  void clear() noexcept {
    nodes_.clear();
    output_.reset();
    last_ = inputs;
  }

  [[nodiscard]] const std::vector<node>& nodes() const noexcept { return nodes_; }
  [[nodiscard]] std::span<const work_value> outputs() const noexcept {
    if (output_) return *output_;
    return {&last_, 1};
  }
  [[nodiscard]] double flops() const noexcept {
    double f = 0.0;
    for (const auto& n : nodes_) f += n.step.flops();
    return f;
  }
  [[nodiscard]] double layernorm_elements() const noexcept {
    double e = 0.0;
    for (const auto& n : nodes_)
      if (n.step.kind == work_kind::layernorm) e += static_cast<double>(n.step.in_elems);
    return e;
  }
  /// The matrix products, in order (for FLOPs reports and hardware checks).
  [[nodiscard]] std::vector<matmul_work> matmuls() const {
    std::vector<matmul_work> m;
    for (const auto& n : nodes_)
      if (n.step.is_product()) m.push_back(n.step.as_matmul());
    return m;
  }

 private:
  std::vector<node> nodes_;
  work_value last_ = inputs;  // the last step, or the operator's inputs
  std::optional<std::vector<work_value>> output_;
};

}  // namespace recnas
