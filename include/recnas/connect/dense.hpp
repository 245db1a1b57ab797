#pragma once
// NASRec dense connectivity: a block may read any 1..K earlier outputs (stem included) as
// each of its dense and sparse sets, and any single earlier output as left/right operand.

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

#include "recnas/connect/concepts.hpp"

namespace recnas::connect {

template <int K = 4>
struct dense {
  static_assert(K >= 1 && K <= 63, "connect::dense<K>: K (the most inputs per set) is 1..63");
  static constexpr std::string_view name = "dense";
  static constexpr policy_kind kind = policy_kind::connectivity;
  static constexpr int max_inputs = K;

  static std::string check_set(index block, source_set set) {
    if (set == 0) return "needs at least one source";
    if (auto e = detail::set_range_error(block, set); !e.empty()) return e;
    if (count(set) > K) {
      return "has " + std::to_string(count(set)) + " sources, at most " + std::to_string(K) +
             " are allowed";
    }
    return {};
  }
  static std::string check_single(index block, int src) {
    if (src < 0 || src > block) return detail::range_error(block, src);
    return {};
  }
  /// Uniform count in 1..min(n, K), then uniform sources without replacement (the
  /// reference's rule for random initial architectures and mutations).
  static source_set sample_set(index block, rng& g) {
    const int n = static_cast<int>(block) + 1;
    const int k = static_cast<int>(g.between(1, std::min(n, K)));
    return sample_set_of_size(block, k, g);
  }
  static source_set sample_set_of_size(index block, int k, rng& g) {
    const int n = static_cast<int>(block) + 1;
    std::array<int, 64> idx{};
    for (int i = 0; i < n; ++i) idx[static_cast<std::size_t>(i)] = i;
    source_set s = 0;
    for (int i = 0; i < k; ++i) {  // partial Fisher-Yates
      const int j = i + static_cast<int>(g.below(static_cast<std::uint64_t>(n - i)));
      std::swap(idx[static_cast<std::size_t>(i)], idx[static_cast<std::size_t>(j)]);
      s |= source_set{1} << idx[static_cast<std::size_t>(i)];
    }
    return s;
  }
  static int sample_single(index block, rng& g) {
    return static_cast<int>(g.below(static_cast<std::uint64_t>(block + 1)));
  }
  static double count_sets(index block) {
    const int n = static_cast<int>(block) + 1;
    double c = 0;
    for (int k = 1; k <= std::min(n, K); ++k) c += detail::binomial(n, k);
    return c;
  }
  static double count_singles(index block) { return static_cast<double>(block + 1); }
};

}  // namespace recnas::connect
