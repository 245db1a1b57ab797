#pragma once
// Helpers shared by the tests that train on synthetic data: a small synthetic dataset (26
// tables of `cardinality` rows) and row-index ranges of a split.
#include <cstdint>
#include <numeric>
#include <vector>

#include <recnas/data/dataset.hpp>

namespace recnas_test {

[[nodiscard]] inline recnas::data::dataset synthetic_rows(std::int64_t rows, std::uint64_t seed,
                                                          std::int64_t cardinality = 100) {
  recnas::data::synthetic_config c;
  c.seed = seed;
  c.cardinalities = std::vector<std::int64_t>(26, cardinality);
  return recnas::data::dataset::synthetic(c, rows, true);
}

/// The row indices [begin, end).
[[nodiscard]] inline std::vector<std::uint32_t> range_rows(std::uint32_t begin, std::uint32_t end) {
  std::vector<std::uint32_t> r(end - begin);
  std::iota(r.begin(), r.end(), begin);
  return r;
}

}  // namespace recnas_test
