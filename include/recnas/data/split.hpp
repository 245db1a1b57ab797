#pragma once
// The AutoCTR split: stratified 10-fold, folds 0-7 train, 8 validation, 9 test. The fold of
// each row is exactly what scikit-learn's
//   StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(X, labels)
// assigns (scikit-learn 1.x with numpy's legacy RandomState(seed), i.e. MT19937), so a Python
// pipeline and recnas train and evaluate on the same rows. docs/data.md spells the algorithm
// out step by step.

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "recnas/core/error.hpp"
#include "recnas/core/tensor.hpp"

namespace recnas::data {

namespace detail {
/// numpy's random_interval(max) on MT19937: the smallest all-ones mask >= max, then rejection.
inline std::uint64_t numpy_random_interval(std::mt19937& mt, std::uint64_t max) {
  if (max == 0) return 0;
  std::uint64_t mask = max;
  mask |= mask >> 1;
  mask |= mask >> 2;
  mask |= mask >> 4;
  mask |= mask >> 8;
  mask |= mask >> 16;
  mask |= mask >> 32;
  std::uint64_t v = 0;
  if (max <= 0xffffffffULL) {
    do v = static_cast<std::uint64_t>(mt()) & mask;
    while (v > max);
  } else {
    do {
      const std::uint64_t hi = mt();
      v = ((hi << 32) | mt()) & mask;
    } while (v > max);
  }
  return v;
}
}  // namespace detail

/// numpy.random.RandomState(seed).shuffle(x) for a 1-D array, continuing on `mt`.
template <class T>
void numpy_shuffle(std::mt19937& mt, std::span<T> x) {
  for (std::size_t i = x.size(); i-- > 1;) {
    const auto j = static_cast<std::size_t>(detail::numpy_random_interval(mt, i));
    std::swap(x[i], x[j]);
  }
}

/// Test fold (0..k-1) of every row, as scikit-learn's StratifiedKFold(k, shuffle=True,
/// random_state=seed) computes it from the labels (any small integer classes).
[[nodiscard]] inline std::vector<std::uint8_t> stratified_folds(
    std::span<const std::uint8_t> labels, int k = 10, std::uint32_t seed = 2018) {
  expects(k >= 2 && k <= 255, "stratified_folds: 2 <= k <= 255");
  const std::size_t n = labels.size();
  // Classes encoded by order of first appearance (sklearn's y_encoded).
  std::vector<int> code(256, -1);
  std::vector<std::size_t> counts;
  for (auto y : labels)
    if (code[y] < 0) {
      code[y] = static_cast<int>(counts.size());
      counts.push_back(0);
    }
  for (auto y : labels) ++counts[static_cast<std::size_t>(code[y])];
  const std::size_t classes = counts.size();
  bool all_small = true;  // sklearn refuses when every class has fewer rows than folds
  for (auto c : counts) all_small = all_small && c < static_cast<std::size_t>(k);
  if (all_small) throw input_error("", 0, "label", "every class has fewer rows than folds");
  // allocation[i][c] = how many of class c land in fold i: round robin over the sorted codes.
  std::vector<std::vector<std::size_t>> alloc(static_cast<std::size_t>(k),
                                              std::vector<std::size_t>(classes, 0));
  std::size_t start = 0;
  for (std::size_t c = 0; c < classes; ++c) {
    // Positions [start, start+counts[c]) of the sorted array hold class c.
    for (std::size_t i = 0; i < static_cast<std::size_t>(k); ++i) {
      // #p in [start, end) with p % k == i
      auto upto = [&](std::size_t end) { return end > i ? (end - i + k - 1) / k : 0; };
      alloc[i][c] = upto(start + counts[c]) - upto(start);
    }
    start += counts[c];
  }
  std::mt19937 mt(seed);  // numpy RandomState(int) seeds with MT19937 init_genrand
  std::vector<std::uint8_t> folds(n, 0);
  std::vector<std::uint8_t> per_class;
  for (std::size_t c = 0; c < classes; ++c) {
    per_class.clear();
    for (std::size_t i = 0; i < static_cast<std::size_t>(k); ++i)
      per_class.insert(per_class.end(), alloc[i][c], static_cast<std::uint8_t>(i));
    numpy_shuffle(mt, std::span<std::uint8_t>(per_class));
    std::size_t next = 0;
    for (std::size_t r = 0; r < n; ++r)
      if (static_cast<std::size_t>(code[labels[r]]) == c) folds[r] = per_class[next++];
  }
  return folds;
}

/// The three parts of the AutoCTR protocol.
enum class split_part : std::uint8_t { train, val, test, all };

[[nodiscard]] constexpr const char* to_string(split_part s) noexcept {
  switch (s) {
    case split_part::train:
      return "train";
    case split_part::val:
      return "val";
    case split_part::test:
      return "test";
    case split_part::all:
      return "all";
  }
  return "?";
}

/// Fold -> part with the AutoCTR rule for 10 folds: 0-7 train, 8 val, 9 test.
[[nodiscard]] constexpr split_part autoctr_part(std::uint8_t fold) noexcept {
  return fold <= 7 ? split_part::train : fold == 8 ? split_part::val : split_part::test;
}

/// Rows (ascending, file order kept) whose fold belongs to `part`.
[[nodiscard]] inline std::vector<std::uint32_t> rows_of(std::span<const std::uint8_t> folds,
                                                        split_part part) {
  std::vector<std::uint32_t> rows;
  expects(folds.size() <= 0xffffffffULL, "rows_of: at most 2^32 rows");
  for (std::size_t r = 0; r < folds.size(); ++r)
    if (part == split_part::all || autoctr_part(folds[r]) == part)
      rows.push_back(static_cast<std::uint32_t>(r));
  return rows;
}

}  // namespace recnas::data
