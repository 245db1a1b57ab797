#pragma once
// The operator policy interface. An operator is a stateless type: it declares its parameters
// at the largest widths, describes its matrix work (FLOPs and the PIM mapper's view), and runs
// forward/backward on the *active* widths of one block, reading prefix slices of the declared
// parameters. The same code therefore runs a supernet slice and a standalone subnet: only the
// column offsets of the input segments differ.

#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <new>
#include <source_location>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "recnas/core/aligned_buffer.hpp"
#include "recnas/core/concepts.hpp"
#include "recnas/core/error.hpp"
#include "recnas/core/tensor.hpp"
#include "recnas/core/work.hpp"

namespace recnas::ops {

/// Embedding width of every sparse tensor (NASRec fixes it at 16).
inline constexpr index embed_dim = 16;

/// Which of a block's inputs an operator reads.
enum class reads : std::uint8_t {
  none = 0,
  dense = 1,       // the concatenation of the block's dense sources
  sparse = 2,      // the token concatenation of the block's sparse sources
  left_right = 4,  // two single dense sources (binary operators)
};
[[nodiscard]] constexpr reads operator|(reads a, reads b) noexcept {
  return static_cast<reads>(static_cast<std::uint8_t>(a) | static_cast<std::uint8_t>(b));
}
[[nodiscard]] constexpr bool has(reads set, reads r) noexcept {
  return (static_cast<std::uint8_t>(set) & static_cast<std::uint8_t>(r)) != 0;
}

/// Widths an operator works with: either the active widths of one subnet, or (with
/// `all_subshapes`) the largest widths of a supernet slot, in which case `declare` must
/// declare every parameter that any smaller shape may need.
struct op_shape {
  index in_width = 0;    // dense concatenation width (columns of the input weights)
  index in_tokens = 0;   // sparse concatenation token count
  index left_width = 0;  // binary operators: the two operand widths
  index right_width = 0;
  index d = 0;             // dense output width
  index s = 0;             // sparse output tokens
  bool layernorm = false;  // supernet-style LN after projections (no bias then)
  bool all_subshapes = false;
};

/// How a parameter's columns map onto the inputs (so that a subnet's slice can be copied).
enum class cols_kind : std::uint8_t {
  prefix,    // columns [0, c) are the active ones
  dense_in,  // one column range per selected dense source
  token_in,  // one column range per selected sparse source (op tokens, then merger tokens)
};

/// What a parameter is, for initialisation (the numbers follow the network's init_scheme).
enum class init_kind : std::uint8_t {
  uniform_fan_in,  // a weight matrix [fan_out = rows, fan_in = cols]
  bias,            // the bias of a layer of fan-in `fan_in`
  constant,        // every element = value (LayerNorm gamma/beta)
};

struct param_decl {
  std::string name;
  index rows = 0;  // active rows are always a prefix
  index cols = 1;  // 1 for vectors
  cols_kind cols_map = cols_kind::prefix;
  init_kind init = init_kind::uniform_fan_in;
  double value = 0.0;  // constant init value
  index fan_in = 1;
  [[nodiscard]] index size() const noexcept { return rows * cols; }
};

/// Collects an operator's parameter slots. Slots are numbered in the order they are added,
/// and an operator always adds the same slots (an unused one has zero rows).
class param_declarer {
 public:
  void matrix(std::string name, index rows, index cols, cols_kind map = cols_kind::prefix) {
    decls_.push_back({std::move(name), rows, cols, map, init_kind::uniform_fan_in, 0.0, cols});
  }
  /// A bias of `n` entries for a layer of fan-in `fan_in`.
  void bias(std::string name, index n, index fan_in) {
    decls_.push_back({std::move(name), n, 1, cols_kind::prefix, init_kind::bias, 0.0, fan_in});
  }
  void constant(std::string name, index n, double value) {
    decls_.push_back({std::move(name), n, 1, cols_kind::prefix, init_kind::constant, value, 1});
  }
  /// Either a bias (no LayerNorm) or a LayerNorm gamma/beta pair; always three slots.
  void bias_or_layernorm(const std::string& prefix, index n, index fan_in, bool layernorm) {
    bias(prefix + ".b", layernorm ? 0 : n, fan_in);
    constant(prefix + ".ln_g", layernorm ? n : 0, 1.0);
    constant(prefix + ".ln_b", layernorm ? n : 0, 0.0);
  }
  [[nodiscard]] const std::vector<param_decl>& decls() const noexcept { return decls_; }
  [[nodiscard]] std::vector<param_decl>& decls() noexcept { return decls_; }

 private:
  std::vector<param_decl> decls_;
};

/// What an operator computes per example (core/work.hpp): a graph of products and
/// element-wise steps that the FLOPs count and the hardware models read. `work_sink` is the
/// name operators written before the graph existed use; a chain of `matmul` calls still works.
using recnas::matmul_work;
using recnas::work_graph;
using recnas::work_kind;
using recnas::work_step;
using recnas::work_value;
using work_sink = recnas::work_graph;

/// A piece of a concatenated dense input: x is [batch, width] with row stride ld; its weight
/// columns start at `col` in the consuming layer's weight. dx (same strides) receives the
/// gradient; it may be null for inputs that need none.
template <class T>
struct dense_seg {
  const T* x = nullptr;
  T* dx = nullptr;
  index ld = 0;
  index width = 0;
  index col = 0;
};

/// A piece of a token-concatenated input: x is [batch, tokens, E] with batch stride bs and
/// token stride E; weight column `col` belongs to its first token.
template <class T>
struct token_seg {
  const T* x = nullptr;
  T* dx = nullptr;
  index bs = 0;
  index tokens = 0;
  index col = 0;
};

/// A parameter slot: the declared (largest) tensor, its gradient, rows x cols row-major.
template <class T>
struct param_ref {
  T* w = nullptr;
  T* g = nullptr;
  index rows = 0;
  index cols = 1;
  [[nodiscard]] bool present() const noexcept { return rows > 0; }
};

/// A chunked bump allocator: pointers stay valid until reset(), which keeps the memory.
template <class T>
class arena {
 public:
  T* alloc(index n) {
    const auto want = round_up(static_cast<std::size_t>(n > 0 ? n : 1), 16);
    if (chunk_ < chunks_.size() && used_ + want > chunks_[chunk_].size()) {
      ++chunk_;
      used_ = 0;
    }
    if (chunk_ >= chunks_.size()) {
      chunks_.emplace_back(std::max<std::size_t>(want, std::size_t{1} << 18));
      used_ = 0;
    }
    T* p = chunks_[chunk_].data() + used_;
    used_ += want;
    total_ += want;
    return p;
  }
  T* zeros(index n) {
    T* p = alloc(n);
    std::fill(p, p + n, T(0));
    return p;
  }
  /// Forgets every allocation; if the last round needed several chunks, merges them.
  void reset() {
    if (chunks_.size() > 1) {
      const std::size_t total = std::max(total_, capacity());
      chunks_.clear();
      chunks_.emplace_back(total);
    }
    chunk_ = 0;
    used_ = 0;
    total_ = 0;
  }
  [[nodiscard]] std::size_t capacity() const noexcept {
    std::size_t c = 0;
    for (const auto& ch : chunks_) c += ch.size();
    return c;
  }

 private:
  std::vector<aligned_buffer<T>> chunks_;
  std::size_t chunk_ = 0;
  std::size_t used_ = 0;
  std::size_t total_ = 0;
};

namespace detail {
// One object per saved type: its address names the type without RTTI, and stays the same in
// every translation unit (an inline variable has one address in the program).
template <class Saved>
inline constexpr char tape_tag = 0;
}  // namespace detail

/// What an operator keeps from forward for its backward: one value of the operator's own
/// `saved` struct (pointers into the scratch arena, strides). Stored inline, so that a network's
/// tapes stay a flat vector reset with `assign(n, {})` without allocating; the saved type is
/// recorded, so that a backward reading another type than its forward saved fails with a
/// message instead of reading unrelated pointers.
template <class T>
class tape {
 public:
  static constexpr std::size_t capacity = 192;  // bytes
  static constexpr std::size_t alignment = alignof(std::max_align_t);

  /// forward: starts a value-initialised Saved in the tape (whatever was saved before is gone)
  /// and returns it to fill.
  template <class Saved>
  Saved& save() {
    require_storable<Saved>();
    tag_ = &detail::tape_tag<Saved>;
    return *::new (static_cast<void*>(bytes_.data())) Saved();
  }
  /// backward: what forward saved, as the same type. A failure names the caller's line.
  template <class Saved>
  [[nodiscard]] const Saved& saved(
      std::source_location where = std::source_location::current()) const {
    require_storable<Saved>();
    expects(tag_ != nullptr,
            "tape: backward reads a tape its forward saved nothing into; forward must call "
            "t.template save<S>() with the struct backward reads",
            where);
    expects(tag_ == &detail::tape_tag<Saved>,
            "tape: backward reads the tape as another type than forward saved; call "
            "t.template save<S>() and t.template saved<S>() with the same struct S",
            where);
    return *std::launder(reinterpret_cast<const Saved*>(bytes_.data()));
  }

 private:
  template <class Saved>
  static constexpr void require_storable() {
    static_assert(std::is_object_v<Saved> && !std::is_const_v<Saved> && !std::is_volatile_v<Saved>,
                  "recnas: tape::save<S>() and tape::saved<S>() take the struct type itself "
                  "(no reference, no const).");
    static_assert(std::is_trivially_copyable_v<Saved>,
                  "recnas: an operator's saved struct must be trivially copyable (pointers, "
                  "indices, flags): tapes are copied as bytes. Allocate buffers from io.scratch "
                  "and save the pointer instead of a container.");
    static_assert(std::is_trivially_destructible_v<Saved>,
                  "recnas: an operator's saved struct must be trivially destructible: a tape "
                  "never runs a destructor. Allocate buffers from io.scratch and save the "
                  "pointer instead of an owning member.");
    static_assert(sizeof(Saved) <= capacity,
                  "recnas: an operator's saved struct is larger than tape<T>::capacity (192 "
                  "bytes): keep large state in the arena (io.scratch) and save a pointer.");
    static_assert(alignof(Saved) <= alignment,
                  "recnas: an operator's saved struct is over-aligned for the tape "
                  "(tape<T>::alignment): keep such state in the arena (io.scratch) and save a "
                  "pointer.");
  }

  alignas(alignment) std::array<std::byte, capacity> bytes_{};
  const void* tag_ = nullptr;
};

/// Everything an operator sees of its block in one call.
template <class T>
struct op_io {
  index batch = 0;
  op_shape shape;                        // active widths
  std::span<const dense_seg<T>> dense;   // reads::dense
  std::span<const token_seg<T>> tokens;  // reads::sparse
  dense_seg<T> left, right;              // reads::left_right
  std::span<const param_ref<T>> params;  // the operator's slots, in declaration order
  arena<T>* scratch = nullptr;           // forward saves and backward temporaries
};

/// Direction of a merger ("operator-balancing interaction module").
enum class merge_direction : std::uint8_t {
  dense_to_sparse,  // appends `tokens` tokens computed from the block's dense output
  sparse_to_dense,  // adds a [B, d] term computed from the sparse operator's output
};

// ---- the concepts ----------------------------------------------------------------------
// Each requirement is one named atom, so that an error names the one that is missing.

/// It says which of a block's inputs it reads: `static constexpr reads inputs`.
template <class Op>
concept HasInputs = requires {
  { Op::inputs } -> std::convertible_to<reads>;
};
/// It declares its parameters at the largest widths: `static void declare(const op_shape&,
/// param_declarer&)`.
template <class Op>
concept HasDeclare = requires(const op_shape& s, param_declarer& d) {
  { Op::declare(s, d) } -> std::same_as<void>;
};
/// It describes its work per example: `static void work(const op_shape&, work_graph&)`.
template <class Op>
concept HasWork = requires(const op_shape& s, work_graph& w) {
  { Op::work(s, w) } -> std::same_as<void>;
};
/// It runs forward on scalar type T: `forward(const op_io<T>&, tape<T>&, T* y, index ld)`.
template <class Op, class T>
concept HasForward = requires(const op_io<T>& io, tape<T>& t, T* y, index ld) {
  { Op::forward(io, t, y, ld) } -> std::same_as<void>;
};
/// It runs backward on scalar type T: `backward(const op_io<T>&, const tape<T>&, const T* dy,
/// index ld)`.
template <class Op, class T>
concept HasBackward = requires(const op_io<T>& io, const tape<T>& t, const T* dy, index ld) {
  { Op::backward(io, t, dy, ld) } -> std::same_as<void>;
};
/// A merger says which way it goes and how many tokens it appends, and whether it reads the
/// merged dense output.
template <class M>
concept HasMergeDirection = requires(const op_shape& s) {
  { M::direction } -> std::convertible_to<merge_direction>;
  { M::tokens } -> std::convertible_to<index>;
  { M::reads_merged(s) } -> std::same_as<bool>;
};

namespace detail {
// Whether Op has a member called forward/backward at all (a function or a function template
// on the scalar type), to tell a wrong signature from a missing one.
template <class Op>
concept names_forward = requires {
  &Op::forward;
}
|| requires { &Op::template forward<float>; };
template <class Op>
concept names_backward = requires {
  &Op::backward;
}
|| requires { &Op::template backward<float>; };
}  // namespace detail

/// forward and backward on float (training) and on double (the reference the conformance
/// checks compare with). Written once as templates on T with recnas/ops/kit.hpp, both come
/// from the same code.
template <class Op>
concept Differentiable = HasForward<Op, float> && HasBackward<Op, float> &&
    HasForward<Op, double> && HasBackward<Op, double>;

/// Common to every operator: a name, a kind, which inputs it reads, its parameter
/// declaration and its work description.
template <class Op>
concept OperatorBase =
    Named<Op> && HasPolicyKind<Op> && HasInputs<Op> && HasDeclare<Op> && HasWork<Op>;

/// A dense operator: [B, in] -> [B, d]. forward writes y (row stride ldy); backward reads dy
/// and accumulates into the inputs' dx and the parameters' gradients.
template <class Op>
concept DenseOperator =
    OperatorBase<Op> &&(Op::kind == policy_kind::dense_operator) && Differentiable<Op>;

/// A sparse operator: [B, T, E] -> [B, s, E]; y has batch stride `bs` (the block's token
/// buffer also holds merger tokens after the s operator tokens).
template <class Op>
concept SparseOperator =
    OperatorBase<Op> &&(Op::kind == policy_kind::sparse_operator) && Differentiable<Op>;

/// A merger: a per-block on/off module between the block's dense and sparse outputs.
/// dense_to_sparse mergers read io.dense (one segment: the block's dense output) and write
/// `tokens` tokens; sparse_to_dense mergers read io.tokens (the sparse operator's output) and
/// *add* their [B, d] result into y. `reads_merged(shape)` says whether a dense_to_sparse
/// merger sees the dense output after the sparse_to_dense terms were added (the reference's
/// in-place quirk when the projection is skipped).
template <class M>
concept Merger = Named<M> && HasPolicyKind<M> &&(M::kind == policy_kind::merger) &&
                 HasMergeDirection<M>&& HasDeclare<M>&& HasWork<M>&& Differentiable<M>;

namespace detail {
// One static_assert per missing atom, the first one found; returns whether all are there.
template <class Op>
consteval bool check_io_atoms() {
  if constexpr (!names_forward<Op>) {
    static_assert(recnas::detail::always_false<Op>,
                  "recnas: the operator has no forward. It needs `template <class T> static void "
                  "forward(const op_io<T>&, tape<T>&, T* y, index ldy)` (see recnas/ops/kit.hpp "
                  "for the building blocks).");
    return false;
  } else if constexpr (!HasForward<Op, float>) {
    static_assert(recnas::detail::always_false<Op>,
                  "recnas: the operator's forward has the wrong signature. Expected `template "
                  "<class T> static void forward(const recnas::ops::op_io<T>& io, "
                  "recnas::ops::tape<T>& t, T* y, recnas::index ldy)` returning void.");
    return false;
  } else if constexpr (!names_backward<Op>) {
    static_assert(recnas::detail::always_false<Op>,
                  "recnas: the operator has no backward. It needs `template <class T> static "
                  "void backward(const op_io<T>&, const tape<T>&, const T* dy, index ldy)`, "
                  "accumulating into the inputs' dx and the parameters' g.");
    return false;
  } else if constexpr (!HasBackward<Op, float>) {
    static_assert(recnas::detail::always_false<Op>,
                  "recnas: the operator's backward has the wrong signature. Expected `template "
                  "<class T> static void backward(const recnas::ops::op_io<T>& io, const "
                  "recnas::ops::tape<T>& t, const T* dy, recnas::index ldy)` returning void.");
    return false;
  } else if constexpr (!HasForward<Op, double> || !HasBackward<Op, double>) {
    static_assert(recnas::detail::always_false<Op>,
                  "recnas: the operator runs on float only. Write forward and backward as "
                  "templates on the scalar type T (every function of recnas/ops/kit.hpp is one): "
                  "recnas instantiates them with double as the reference for the conformance "
                  "checks (recnas/testing/operator_check.hpp).");
    return false;
  } else {
    return true;
  }
}

template <class Op>
consteval bool check_base_atoms() {
  if constexpr (!HasInputs<Op>) {
    static_assert(recnas::detail::always_false<Op>,
                  "recnas: the operator does not say what it reads. Add `static constexpr "
                  "recnas::ops::reads inputs = recnas::ops::reads::dense;` (or sparse, "
                  "left_right, or a combination with |).");
    return false;
  } else if constexpr (!HasDeclare<Op>) {
    static_assert(recnas::detail::always_false<Op>,
                  "recnas: the operator does not declare its parameters. Add `static void "
                  "declare(const recnas::ops::op_shape&, recnas::ops::param_declarer&)` (an "
                  "operator without parameters declares none).");
    return false;
  } else if constexpr (!HasWork<Op>) {
    static_assert(recnas::detail::always_false<Op>,
                  "recnas: the operator does not describe its work. Add `static void work(const "
                  "recnas::ops::op_shape&, recnas::work_graph&)`: its products and element-wise "
                  "steps per example, read by the FLOPs count and the PIM model.");
    return false;
  } else {
    return true;
  }
}
}  // namespace detail

/// One readable message per violated requirement, for the entry points (space<...>).
template <class Op>
consteval bool check_dense_operator() {
  if constexpr (!check_policy<Op, policy_kind::dense_operator>()) {
    return false;
  } else if constexpr (!detail::check_base_atoms<Op>()) {
    return false;
  } else {
    return detail::check_io_atoms<Op>();
  }
}

template <class Op>
consteval bool check_sparse_operator() {
  if constexpr (!check_policy<Op, policy_kind::sparse_operator>()) {
    return false;
  } else if constexpr (!detail::check_base_atoms<Op>()) {
    return false;
  } else {
    return detail::check_io_atoms<Op>();
  }
}

template <class M>
consteval bool check_merger() {
  if constexpr (!check_policy<M, policy_kind::merger>()) {
    return false;
  } else if constexpr (!HasMergeDirection<M>) {
    static_assert(recnas::detail::always_false<M>,
                  "recnas: a merger needs `static constexpr recnas::ops::merge_direction "
                  "direction`, `static constexpr recnas::index tokens` and `static bool "
                  "reads_merged(const op_shape&)` (see recnas::ops::Merger).");
    return false;
  } else if constexpr (!HasDeclare<M> || !HasWork<M>) {
    static_assert(recnas::detail::always_false<M>,
                  "recnas: a merger needs `static void declare(const op_shape&, param_declarer&)` "
                  "and `static void work(const op_shape&, work_graph&)`.");
    return false;
  } else {
    return detail::check_io_atoms<M>();
  }
}

/// k = round(sqrt(2 d)): the Dot-Product token count for output width d (reference rule).
[[nodiscard]] inline index dp_tokens(index d) noexcept {
  return static_cast<index>(std::lround(std::sqrt(2.0 * static_cast<double>(d))));
}
/// Strict lower-triangle pair count of k+1 stacked vectors.
[[nodiscard]] constexpr index dp_pairs(index k) noexcept { return k * (k + 1) / 2; }

}  // namespace recnas::ops
