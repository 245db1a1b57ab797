#pragma once
// Connectivity policies: which earlier outputs may feed a block. Block i (0-based) has the
// sources 0..i: source 0 is the stem and source j+1 is block j. A block reads two source
// *sets* (dense and sparse, concatenated in ascending source order) and two *single* sources
// (left and right operands of binary dense operators). Sets are bit masks (bit j = source j).

#include <bit>
#include <concepts>
#include <cstdint>
#include <string>

#include "recnas/core/concepts.hpp"
#include "recnas/core/error.hpp"
#include "recnas/core/rng.hpp"
#include "recnas/core/tensor.hpp"

namespace recnas::connect {

using source_set = std::uint64_t;

[[nodiscard]] constexpr int count(source_set s) noexcept { return std::popcount(s); }
[[nodiscard]] constexpr bool contains(source_set s, int j) noexcept { return ((s >> j) & 1U) != 0; }
[[nodiscard]] constexpr source_set all_sources(index block) noexcept {
  return (source_set{1} << (block + 1)) - 1;
}

/// A connectivity policy. `check_set`/`check_single` return an empty string when valid, else
/// the reason (validation messages quote it); samplers draw valid choices; `count_*` give the
/// number of valid choices (for the space size).
template <class C>
concept Connectivity = PolicyOf<C, policy_kind::connectivity> &&
    requires(index block, source_set set, int src, rng& g) {
  { C::check_set(block, set) } -> std::same_as<std::string>;
  { C::check_single(block, src) } -> std::same_as<std::string>;
  { C::sample_set(block, g) } -> std::same_as<source_set>;
  { C::sample_single(block, g) } -> std::same_as<int>;
  { C::count_sets(block) } -> std::same_as<double>;
  { C::count_singles(block) } -> std::same_as<double>;
};

/// Optional: at most `max_inputs` sources per set. The path sampler caps its connection
/// counts (1 + Binomial(min(n, max_inputs) - 1, 1/2)) and the warm-up's full path with it;
/// without it the cap is 64.
template <class C>
concept HasMaxInputs = requires {
  { C::max_inputs } -> std::convertible_to<int>;
};
/// Optional: draws a valid set of exactly k sources of block `block`, uniform over such sets.
/// The path sampler draws the connection count first and then calls it; without it the
/// sampler calls `sample_set` and the connectivity's own distribution decides.
template <class C>
concept SamplesSetOfSize = requires(index block, int k, rng& g) {
  { C::sample_set_of_size(block, k, g) } -> std::same_as<source_set>;
};

/// The widest valid set of block `block` (the full path of the warm-up): the most recent
/// sources first, each kept when the set stays valid, up to `max_inputs` sources. When no
/// single source is valid on its own (a policy that wants sets of two or more), the longest
/// valid run of most recent sources.
template <Connectivity C>
[[nodiscard]] source_set widest_set(index block) {
  int cap = 64;
  if constexpr (HasMaxInputs<C>) cap = C::max_inputs;
  source_set s = 0;
  for (int j = static_cast<int>(block); j >= 0 && count(s) < cap; --j) {
    const source_set t = s | (source_set{1} << j);
    if (C::check_set(block, t).empty()) s = t;
  }
  if (s == 0) {
    source_set t = 0;
    for (int j = static_cast<int>(block); j >= 0 && count(t) < cap; --j) {
      t |= source_set{1} << j;
      if (C::check_set(block, t).empty()) s = t;
    }
  }
  expects(s != 0, "connect::widest_set: the connectivity allows no set of recent sources");
  return s;
}

template <class C>
consteval bool check_connectivity() {
  if constexpr (!check_policy<C, policy_kind::connectivity>()) {
    return false;
  } else if constexpr (!Connectivity<C>) {
    static_assert(recnas::detail::always_false<C>,
                  "recnas: a connectivity policy needs static check_set, check_single, "
                  "sample_set, sample_single, count_sets and count_singles (see "
                  "recnas::connect::Connectivity in recnas/connect/concepts.hpp).");
    return false;
  } else {
    return true;
  }
}

namespace detail {
inline std::string range_error(index block, int src) {
  return "source " + std::to_string(src) + " is not an earlier output (block " +
         std::to_string(block) + " reads sources 0.." + std::to_string(block) + ")";
}
inline std::string set_range_error(index block, source_set set) {
  for (int j = 0; j < 64; ++j) {
    if (contains(set, j) && j > block) return range_error(block, j);
  }
  return {};
}
inline double binomial(int n, int k) {
  double r = 1;
  for (int i = 1; i <= k; ++i) r = r * (n - k + i) / i;
  return r;
}
}  // namespace detail

}  // namespace recnas::connect
