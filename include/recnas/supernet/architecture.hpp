#pragma once
// The run-time encoding of one subnet of a space: per block, the dense and sparse operator
// (indices into the space's lists), the dense and sparse input sets, the left/right single
// inputs, the output widths and the merger bits. Validation reports the block and field;
// hashing and random sampling are the hooks of the search.

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
  friend bool operator==(const block_choice&, const block_choice&) = default;
  [[nodiscard]] bool merger(int m) const noexcept { return ((mergers >> m) & 1U) != 0; }
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
  mergers
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

/// Compact human-readable form, e.g. "fc(0,2)/efc(0)@128x32+m1|..."
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
    out += std::string(S::dense_op_name(b.dense_op)) + "(" + set_str(b.dense_in) + ";" +
           std::to_string(b.left) + "," + std::to_string(b.right) + ")->" + std::to_string(b.d) +
           " " + std::string(S::sparse_op_name(b.sparse_op)) + "(" + set_str(b.sparse_in) + ")->" +
           std::to_string(b.s) + " m" + std::to_string(b.mergers);
  }
  return out;
}

}  // namespace recnas::supernet
