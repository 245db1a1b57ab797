#pragma once
// Path sampling for supernet training (reference: SuperNet._get_choice, nasrec-spec 2.3).
// A new path is drawn for every batch:
//   * single_op_any_connection (the reference's `default`, used by every script): per block,
//     1 + Binomial(min(n-1, K-1), 1/2) dense sources and as many sparse sources (drawn
//     independently), uniform without replacement; left/right uniform; one dense and one sparse
//     operator, uniform; widths uniform; each merger bit Bernoulli(1/2);
//   * single_path: one dense and one sparse source, one operator each;
//   * any_path: binomial connection counts and binomial operator counts (the block sums the
//     outputs of every sampled operator);
// plus the full-path warm-up: at step t < T, with probability 1 - t/T (drawn once for the
// macro level and once per block for the micro level) the whole supernet is used. recnas
// caps "all connections" at the connectivity's K most recent sources (the reference's dense
// connectivity has no cap during warm-up; ours validates every path against the space); for
// other connectivities the full path is connect::widest_set, every source the policy allows.

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "recnas/core/error.hpp"
#include "recnas/core/rng.hpp"
#include "recnas/supernet/architecture.hpp"

namespace recnas::train {

enum class path_strategy : std::uint8_t { single_op_any_connection, single_path, any_path };

[[nodiscard]] inline path_strategy parse_path_strategy(std::string_view s) {
  if (s == "default" || s == "single-op-any-connection")
    return path_strategy::single_op_any_connection;
  if (s == "single-path") return path_strategy::single_path;
  if (s == "any-path") return path_strategy::any_path;
  throw input_error("", 0, "sampling",
                    "unknown path sampling \"" + std::string(s) +
                        "\" (default, single-op-any-connection, single-path, any-path)");
}
[[nodiscard]] constexpr std::string_view to_string(path_strategy s) noexcept {
  switch (s) {
    case path_strategy::single_op_any_connection:
      return "single-op-any-connection";
    case path_strategy::single_path:
      return "single-path";
    case path_strategy::any_path:
      return "any-path";
  }
  return "?";
}

struct sampler_options {
  path_strategy strategy = path_strategy::single_op_any_connection;
  std::int64_t warmup_steps = 0;  // T of the full-path warm-up (0: none)
};

namespace detail {
template <class C>
constexpr int max_set_size() {
  if constexpr (connect::HasMaxInputs<C>)
    return C::max_inputs;
  else
    return 64;
}
/// A set of k sources of block i, uniform without replacement, when the connectivity can draw
/// sets of a given size; otherwise its own sampler.
template <class C>
connect::source_set set_of_size(index block, int k, rng& g) {
  if constexpr (connect::SamplesSetOfSize<C>)
    return C::sample_set_of_size(block, k, g);
  else
    return C::sample_set(block, g);
}
/// 1 + Binomial(min(n-1, cap-1), 1/2): the reference's `binomial-0.5` count rule.
inline int binomial_count(int n, int cap, rng& g) {
  return 1 + g.binomial(std::max(0, std::min(n, cap) - 1), 0.5);
}
/// `count` distinct operators out of `n`: the first is the main op, the rest an extra mask.
inline std::pair<int, std::uint32_t> op_subset(int n, int count, rng& g) {
  std::array<int, 32> idx{};
  for (int i = 0; i < n; ++i) idx[static_cast<std::size_t>(i)] = i;
  std::uint32_t extra = 0;
  for (int i = 0; i < count; ++i) {
    const int j = i + static_cast<int>(g.below(static_cast<std::uint64_t>(n - i)));
    std::swap(idx[static_cast<std::size_t>(i)], idx[static_cast<std::size_t>(j)]);
    if (i > 0) extra |= 1U << idx[static_cast<std::size_t>(i)];
  }
  return {idx[0], extra};
}
}  // namespace detail

/// Draws one training path per call; `step` is the trainer's step (for the warm-up).
template <class S>
class path_sampler {
 public:
  using C = typename S::connectivity;
  explicit path_sampler(sampler_options o = {}) : o_(o) {}

  [[nodiscard]] supernet::architecture sample(rng& g, std::int64_t step) const {
    const double p_full =
        o_.warmup_steps > 0 && step < o_.warmup_steps
            ? 1.0 - static_cast<double>(step) / static_cast<double>(o_.warmup_steps)
            : 0.0;
    const bool macro_full = p_full > 0 && g.bernoulli(p_full);
    supernet::architecture a;
    a.blocks.reserve(S::num_blocks);
    for (int i = 0; i < S::num_blocks; ++i) {
      supernet::block_choice b;
      const int n = i + 1;
      if (macro_full) {
        b.dense_in = b.sparse_in = connect::widest_set<C>(i);
        b.left = C::sample_single(i, g);
        b.right = C::sample_single(i, g);
      } else if (o_.strategy == path_strategy::single_path) {
        b.dense_in = detail::set_of_size<C>(i, 1, g);
        b.sparse_in = detail::set_of_size<C>(i, 1, g);
        b.left = C::sample_single(i, g);
        b.right = C::sample_single(i, g);
      } else {
        b.dense_in =
            detail::set_of_size<C>(i, detail::binomial_count(n, detail::max_set_size<C>(), g), g);
        b.sparse_in =
            detail::set_of_size<C>(i, detail::binomial_count(n, detail::max_set_size<C>(), g), g);
        b.left = C::sample_single(i, g);
        b.right = C::sample_single(i, g);
      }
      const bool micro_full = p_full > 0 && g.bernoulli(p_full);
      if (micro_full) {
        set_ops(b, S::num_dense_ops, S::num_sparse_ops, 0, 0);
        b.d = S::max_dense_dim;
        b.s = S::max_sparse_dim;
        b.mergers = S::num_mergers >= 32 ? ~0U : (1U << S::num_mergers) - 1;
      } else {
        if (o_.strategy == path_strategy::any_path) {
          auto [dm, dx] = detail::op_subset(S::num_dense_ops,
                                            detail::binomial_count(S::num_dense_ops, 4, g), g);
          auto [sm, sx] = detail::op_subset(S::num_sparse_ops,
                                            detail::binomial_count(S::num_sparse_ops, 4, g), g);
          b.dense_op = dm;
          b.sparse_op = sm;
          set_extras(b, dx, sx);
        } else {
          b.dense_op = static_cast<int>(g.below(S::num_dense_ops));
          b.sparse_op = static_cast<int>(g.below(S::num_sparse_ops));
        }
        b.d = S::dense_dim_values[g.below(S::dense_dim_values.size())];
        b.s = S::sparse_dim_values[g.below(S::sparse_dim_values.size())];
        b.mergers = 0;
        for (int m = 0; m < S::num_mergers; ++m)
          if (g.bernoulli(0.5)) b.mergers |= 1U << m;
      }
      a.blocks.push_back(b);
    }
    return a;
  }
  [[nodiscard]] const sampler_options& options() const noexcept { return o_; }

 private:
  /// Every operator of the block (the full path): main op 0 plus all others as extras.
  static void set_ops(supernet::block_choice& b, int nd, int ns, int dmain, int smain) {
    b.dense_op = dmain;
    b.sparse_op = smain;
    const std::uint32_t dx = (nd >= 32 ? ~0U : (1U << nd) - 1) & ~(1U << dmain);
    const std::uint32_t sx = (ns >= 32 ? ~0U : (1U << ns) - 1) & ~(1U << smain);
    set_extras(b, dx, sx);
  }
  static void set_extras(supernet::block_choice& b, std::uint32_t dx, std::uint32_t sx) {
    if constexpr (requires { b.extra_dense_ops; }) {
      b.extra_dense_ops = dx;
      b.extra_sparse_ops = sx;
    } else {
      (void)b, (void)dx, (void)sx;  // networks without multi-operator blocks: main op only
    }
  }
  sampler_options o_;
};

}  // namespace recnas::train
