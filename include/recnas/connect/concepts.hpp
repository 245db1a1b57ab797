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
