#pragma once
// Rank correlations between supernet-estimated and stand-alone losses (the reference's
// ranking-quality ablation): Kendall's tau-b and Spearman's rho, both tie-aware, as in scipy.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <vector>

#include "recnas/core/error.hpp"

namespace recnas::search {

/// Average (fractional) ranks, 1-based; ties share the mean of their positions.
[[nodiscard]] inline std::vector<double> average_ranks(const std::vector<double>& x) {
  const std::size_t n = x.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return x[a] < x[b]; });
  std::vector<double> r(n);
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && x[order[j]] == x[order[i]]) ++j;
    const double avg = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (std::size_t k = i; k < j; ++k) r[order[k]] = avg;
    i = j;
  }
  return r;
}

/// Spearman's rho: Pearson correlation of the average ranks.
[[nodiscard]] inline double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  expects(x.size() == y.size() && x.size() >= 2, "spearman: two samples of equal size >= 2");
  const auto rx = average_ranks(x), ry = average_ranks(y);
  const double n = static_cast<double>(x.size());
  const double mx = std::accumulate(rx.begin(), rx.end(), 0.0) / n;
  const double my = std::accumulate(ry.begin(), ry.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < rx.size(); ++i) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) * (rx[i] - mx);
    syy += (ry[i] - my) * (ry[i] - my);
  }
  return (sxx == 0 || syy == 0) ? 0.0 : sxy / std::sqrt(sxx * syy);
}

/// Kendall's tau-b (accounts for ties in either sample). O(n^2): n is the number of
/// stand-alone-trained subnets, at most a few hundred.
[[nodiscard]] inline double kendall_tau(const std::vector<double>& x,
                                        const std::vector<double>& y) {
  expects(x.size() == y.size() && x.size() >= 2, "kendall_tau: two samples of equal size >= 2");
  double concordant = 0, discordant = 0, ties_x = 0, ties_y = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    for (std::size_t j = i + 1; j < x.size(); ++j) {
      const double dx = x[i] - x[j], dy = y[i] - y[j];
      if (dx == 0 && dy == 0) continue;
      if (dx == 0) {
        ties_x += 1;
      } else if (dy == 0) {
        ties_y += 1;
      } else if ((dx > 0) == (dy > 0)) {
        concordant += 1;
      } else {
        discordant += 1;
      }
    }
  }
  const double denom =
      std::sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y));
  return denom == 0 ? 0.0 : (concordant - discordant) / denom;
}

}  // namespace recnas::search
