#pragma once
// The run-time encoding of one subnet of a space: per block, the dense and sparse operator
// (indices into the space's lists), the dense and sparse input sets, the left/right single
// inputs, the output widths and the merger bits. Validation reports the block and field;
// hashing and random sampling are the hooks of the search. A block may also run extra
// operators whose outputs are summed with the main one's (the reference's micro any-path and
// full-path warm-up).

#include <bit>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "recnas/connect/concepts.hpp"
#include "recnas/core/error.hpp"
#include "recnas/core/rng.hpp"
#include "recnas/supernet/space.hpp"

namespace recnas::supernet {

/// Calls f(k) for every set bit k of `set`, in ascending order.
template <class F>
constexpr void for_each_bit(std::uint32_t set, F&& f) {
  while (set != 0) {
    f(std::countr_zero(set));
    set &= set - 1;
  }
}

struct block_choice {
  int dense_op = 0;
  int sparse_op = 0;
  connect::source_set dense_in = 1;  // bit j: source j (0 = stem, j+1 = block j)
  connect::source_set sparse_in = 1;
  int left = 0;
  int right = 0;
  index d = 0;                // dense output width
  index s = 0;                // sparse output tokens
  std::uint32_t mergers = 0;  // bit m: merger m of the space is on
  // Micro any-path: bit k: dense op k also runs; outputs summed with dense_op's. A bit equal
  // to the main op is ignored (the op runs once), also by equality and hashing.
  std::uint32_t extra_dense_ops = 0;
  std::uint32_t extra_sparse_ops = 0;  // same for sparse ops

  [[nodiscard]] bool merger(int m) const noexcept { return ((mergers >> m) & 1U) != 0; }
  /// The dense operators the block runs (bit k = operator k): dense_op and the extras.
  [[nodiscard]] std::uint32_t dense_op_set() const noexcept {
    return extra_dense_ops | op_bit(dense_op);
  }
  [[nodiscard]] std::uint32_t sparse_op_set() const noexcept {
    return extra_sparse_ops | op_bit(sparse_op);
  }
  /// The extras without the main operator's bit (what equality and hashing compare).
  [[nodiscard]] std::uint32_t extra_dense() const noexcept {
    return extra_dense_ops & ~op_bit(dense_op);
  }
  [[nodiscard]] std::uint32_t extra_sparse() const noexcept {
    return extra_sparse_ops & ~op_bit(sparse_op);
  }
  [[nodiscard]] bool single_operator() const noexcept {
    return extra_dense() == 0 && extra_sparse() == 0;
  }
  friend bool operator==(const block_choice& x, const block_choice& y) noexcept {
    return x.dense_op == y.dense_op && x.sparse_op == y.sparse_op && x.dense_in == y.dense_in &&
           x.sparse_in == y.sparse_in && x.left == y.left && x.right == y.right && x.d == y.d &&
           x.s == y.s && x.mergers == y.mergers && x.extra_dense() == y.extra_dense() &&
           x.extra_sparse() == y.extra_sparse();
  }

 private:
  static constexpr std::uint32_t op_bit(int k) noexcept {
    return k >= 0 && k < 32 ? std::uint32_t{1} << k : 0U;
  }
};

struct architecture {
  std::vector<block_choice> blocks;
  friend bool operator==(const architecture&, const architecture&) = default;

  /// A 64-bit hash of the encoding (FNV-1a over every field; stable across platforms).
  [[nodiscard]] std::uint64_t hash() const noexcept {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    auto mix = [&](std::uint64_t v) {
      for (int i = 0; i < 8; ++i) {
        h ^= (v >> (8 * i)) & 0xFFU;
        h *= 0x100000001b3ULL;
      }
    };
    mix(blocks.size());
    for (const auto& b : blocks) {
      mix(static_cast<std::uint64_t>(b.dense_op));
      mix(static_cast<std::uint64_t>(b.sparse_op));
      mix(b.dense_in);
      mix(b.sparse_in);
      mix(static_cast<std::uint64_t>(b.left));
      mix(static_cast<std::uint64_t>(b.right));
      mix(static_cast<std::uint64_t>(b.d));
      mix(static_cast<std::uint64_t>(b.s));
      mix(b.mergers);
      // Only multi-operator blocks mix the extras, so single-operator hashes stay as they were.
      if (!b.single_operator()) {
        mix(0x65787472ULL);  // "extr": keeps (extras) apart from a following block's fields
        mix(b.extra_dense());
        mix(b.extra_sparse());
      }
    }
    return h;
  }
};

/// Which field of a block an error is about (names: see field_name).
enum class arch_field : std::uint8_t {
  blocks,
  dense_op,
  sparse_op,
  dense_in,
  sparse_in,
  left,
  right,
  dense_dim,
  sparse_dim,
  mergers,
  extra_dense_ops,
  extra_sparse_ops
};

[[nodiscard]] inline std::string field_name(arch_field f) {
  switch (f) {
    case arch_field::blocks:
      return "blocks";
    case arch_field::dense_op:
      return "dense_op";
    case arch_field::sparse_op:
      return "sparse_op";
    case arch_field::dense_in:
      return "dense_in";
    case arch_field::sparse_in:
      return "sparse_in";
    case arch_field::left:
      return "left";
    case arch_field::right:
      return "right";
    case arch_field::dense_dim:
      return "dense_dim";
    case arch_field::sparse_dim:
      return "sparse_dim";
    case arch_field::mergers:
      return "mergers";
    case arch_field::extra_dense_ops:
      return "extra_dense_ops";
    case arch_field::extra_sparse_ops:
      return "extra_sparse_ops";
  }
  return "?";
}

struct arch_issue {
  int block = -1;  // -1: the architecture as a whole
  arch_field field = arch_field::blocks;
  std::string reason;
  /// "blocks[3].dense_in: reason"
  [[nodiscard]] std::string path() const {
    return block < 0 ? field_name(field)
                     : "blocks[" + std::to_string(block) + "]." + field_name(field);
  }
};

namespace detail {
inline std::string list_dims(const auto& values) {
  std::string s;
  for (auto v : values) {
    if (!s.empty()) s += ", ";
    s += std::to_string(v);
  }
  return s;
}
}  // namespace detail

/// The first problem of `a` in space S, or nothing if `a` is a valid subnet of S.
template <class S>
[[nodiscard]] std::optional<arch_issue> check(const architecture& a) {
  using C = typename S::connectivity;
  if (static_cast<int>(a.blocks.size()) != S::num_blocks) {
    return arch_issue{-1, arch_field::blocks,
                      "the space has " + std::to_string(S::num_blocks) + " blocks, got " +
                          std::to_string(a.blocks.size())};
  }
  for (int i = 0; i < S::num_blocks; ++i) {
    const auto& b = a.blocks[static_cast<std::size_t>(i)];
    if (b.dense_op < 0 || b.dense_op >= S::num_dense_ops) {
      return arch_issue{i, arch_field::dense_op,
                        "index " + std::to_string(b.dense_op) + " is not one of the " +
                            std::to_string(S::num_dense_ops) + " dense operators"};
    }
    if (b.sparse_op < 0 || b.sparse_op >= S::num_sparse_ops) {
      return arch_issue{i, arch_field::sparse_op,
                        "index " + std::to_string(b.sparse_op) + " is not one of the " +
                            std::to_string(S::num_sparse_ops) + " sparse operators"};
    }
    if (auto r = C::check_set(i, b.dense_in); !r.empty())
      return arch_issue{i, arch_field::dense_in, r};
    if (auto r = C::check_set(i, b.sparse_in); !r.empty())
      return arch_issue{i, arch_field::sparse_in, r};
    if (auto r = C::check_single(i, b.left); !r.empty()) return arch_issue{i, arch_field::left, r};
    if (auto r = C::check_single(i, b.right); !r.empty())
      return arch_issue{i, arch_field::right, r};
    if (S::dense_dim_index(b.d) < 0) {
      return arch_issue{i, arch_field::dense_dim,
                        std::to_string(b.d) + " is not a candidate width (" +
                            detail::list_dims(S::dense_dim_values) + ")"};
    }
    if (S::sparse_dim_index(b.s) < 0) {
      return arch_issue{i, arch_field::sparse_dim,
                        std::to_string(b.s) + " is not a candidate token count (" +
                            detail::list_dims(S::sparse_dim_values) + ")"};
    }
    if (S::num_mergers < 32 && (b.mergers >> S::num_mergers) != 0) {
      return arch_issue{i, arch_field::mergers,
                        "bit set for a merger the space does not have (it has " +
                            std::to_string(S::num_mergers) + ")"};
    }
    if (S::num_dense_ops < 32 && (b.extra_dense_ops >> S::num_dense_ops) != 0) {
      return arch_issue{i, arch_field::extra_dense_ops,
                        "bit " + std::to_string(std::bit_width(b.extra_dense_ops) - 1) +
                            " set, but the space has " + std::to_string(S::num_dense_ops) +
                            " dense operators"};
    }
    if (S::num_sparse_ops < 32 && (b.extra_sparse_ops >> S::num_sparse_ops) != 0) {
      return arch_issue{i, arch_field::extra_sparse_ops,
                        "bit " + std::to_string(std::bit_width(b.extra_sparse_ops) - 1) +
                            " set, but the space has " + std::to_string(S::num_sparse_ops) +
                            " sparse operators"};
    }
  }
  return std::nullopt;
}

/// Throws recnas::input_error naming the block and field if `a` is not a subnet of S.
template <class S>
void validate(const architecture& a, const std::string& file = {}) {
  if (auto issue = check<S>(a)) throw input_error(file, 0, issue->path(), issue->reason);
}

/// A uniformly random block choice (connection counts uniform, as the reference's random
/// initial population and mutations).
template <class S>
[[nodiscard]] block_choice random_block(int i, rng& g) {
  using C = typename S::connectivity;
  block_choice b;
  b.dense_op = static_cast<int>(g.below(S::num_dense_ops));
  b.sparse_op = static_cast<int>(g.below(S::num_sparse_ops));
  b.dense_in = C::sample_set(i, g);
  b.sparse_in = C::sample_set(i, g);
  b.left = C::sample_single(i, g);
  b.right = C::sample_single(i, g);
  b.d = S::dense_dim_values[g.below(S::dense_dim_values.size())];
  b.s = S::sparse_dim_values[g.below(S::sparse_dim_values.size())];
  b.mergers = 0;
  for (int m = 0; m < S::num_mergers; ++m) {
    if (g.bernoulli(0.5)) b.mergers |= 1U << m;
  }
  return b;
}

template <class S>
[[nodiscard]] architecture random_architecture(rng& g) {
  architecture a;
  a.blocks.reserve(S::num_blocks);
  for (int i = 0; i < S::num_blocks; ++i) a.blocks.push_back(random_block<S>(i, g));
  return a;
}

/// A chain at the largest widths with every merger on: each block reads only the previous
/// output, with the given operators (a simple reference path for tests and benchmarks).
template <class S>
[[nodiscard]] architecture widest_chain(int dense_op = 0, int sparse_op = 0) {
  architecture a;
  for (int i = 0; i < S::num_blocks; ++i) {
    block_choice b;
    b.dense_op = dense_op;
    b.sparse_op = sparse_op;
    b.dense_in = b.sparse_in = connect::source_set{1} << i;
    b.left = b.right = i;
    b.d = S::max_dense_dim;
    b.s = S::max_sparse_dim;
    b.mergers = S::num_mergers >= 32 ? ~0U : (1U << S::num_mergers) - 1;
    a.blocks.push_back(b);
  }
  return a;
}

/// log10 of the number of encodings of space S (every per-block choice counted, including
/// functionally identical ones, as the reference's count).
template <class S>
[[nodiscard]] double log10_space_size() {
  using C = typename S::connectivity;
  double l = 0;
  for (int i = 0; i < S::num_blocks; ++i) {
    l += 2 * std::log10(C::count_sets(i)) + 2 * std::log10(C::count_singles(i));
    l += std::log10(static_cast<double>(S::num_dense_ops) * S::num_sparse_ops *
                    static_cast<double>(S::dense_dim_values.size()) *
                    static_cast<double>(S::sparse_dim_values.size()));
    l += S::num_mergers * std::log10(2.0);
  }
  return l;
}

/// Compact human-readable form, e.g. "fc(0,2;0,1)->128 efc(0)->32 m1 | ..."; extra operators
/// follow the main one with '+': "fc+sum(0;1,1)->64 ...".
template <class S>
[[nodiscard]] std::string to_string(const architecture& a) {
  std::string out;
  auto set_str = [](connect::source_set s) {
    std::string r;
    for (int j = 0; j < 64; ++j) {
      if (!connect::contains(s, j)) continue;
      if (!r.empty()) r += ',';
      r += std::to_string(j);
    }
    return r;
  };
  for (std::size_t i = 0; i < a.blocks.size(); ++i) {
    const auto& b = a.blocks[i];
    if (i != 0) out += " | ";
    std::string dn(S::dense_op_name(b.dense_op)), sp(S::sparse_op_name(b.sparse_op));
    for_each_bit(b.extra_dense(), [&](int k) { (dn += '+') += S::dense_op_name(k); });
    for_each_bit(b.extra_sparse(), [&](int k) { (sp += '+') += S::sparse_op_name(k); });
    out += dn + "(" + set_str(b.dense_in) + ";" + std::to_string(b.left) + "," +
           std::to_string(b.right) + ")->" + std::to_string(b.d) + " " + sp + "(" +
           set_str(b.sparse_in) + ")->" + std::to_string(b.s) + " m" + std::to_string(b.mergers);
  }
  return out;
}

}  // namespace recnas::supernet
