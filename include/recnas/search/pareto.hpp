#pragma once
// Non-dominated sorting (Deb et al., NSGA-II) for multi-objective results; every objective is
// minimised.

#include <cstddef>
#include <vector>

namespace recnas::search {

/// a dominates b: no worse in every objective and strictly better in one.
[[nodiscard]] inline bool dominates(const std::vector<double>& a,
                                    const std::vector<double>& b) noexcept {
  bool strictly = false;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i] > b[i]) return false;
    if (a[i] < b[i]) strictly = true;
  }
  return strictly;
}

/// Fronts of non-dominated sorting: fronts[0] is the Pareto front (indices into `points`).
[[nodiscard]] inline std::vector<std::vector<std::size_t>> non_dominated_sort(
    const std::vector<std::vector<double>>& points) {
  const std::size_t n = points.size();
  std::vector<std::vector<std::size_t>> dominated_by_me(n);
  std::vector<std::size_t> domination_count(n, 0);
  std::vector<std::vector<std::size_t>> fronts;
  std::vector<std::size_t> current;
  for (std::size_t p = 0; p < n; ++p) {
    for (std::size_t q = 0; q < n; ++q) {
      if (p == q) continue;
      if (dominates(points[p], points[q])) {
        dominated_by_me[p].push_back(q);
      } else if (dominates(points[q], points[p])) {
        ++domination_count[p];
      }
    }
    if (domination_count[p] == 0) current.push_back(p);
  }
  while (!current.empty()) {
    fronts.push_back(current);
    std::vector<std::size_t> next;
    for (std::size_t p : current) {
      for (std::size_t q : dominated_by_me[p]) {
        if (--domination_count[q] == 0) next.push_back(q);
      }
    }
    current = std::move(next);
  }
  return fronts;
}

/// Indices of the Pareto-optimal points (duplicates of an optimal point are all kept).
[[nodiscard]] inline std::vector<std::size_t> pareto_front(
    const std::vector<std::vector<double>>& points) {
  auto fronts = non_dominated_sort(points);
  return fronts.empty() ? std::vector<std::size_t>{} : fronts.front();
}

}  // namespace recnas::search
