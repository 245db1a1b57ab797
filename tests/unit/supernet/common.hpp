#pragma once
// Helpers of the supernet tests: random batches and finite-difference gradient checks.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <recnas/core/rng.hpp>
#include <recnas/supernet/supernet.hpp>

namespace recnas_test {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool sanitized = true;  // fewer probes: the instrumented build is ~10x slower
#else
inline constexpr bool sanitized = false;
#endif

using idx = recnas::index;

struct batch_data {
  std::vector<float> dense;
  std::vector<std::int32_t> ids;
  std::vector<float> labels;
  recnas::supernet::ctr_batch view;
};

inline batch_data random_batch(const recnas::supernet::data_shape& ds, idx B, std::uint64_t seed) {
  recnas::rng g(seed);
  batch_data d;
  const idx F = ds.sparse_features();
  d.dense.resize(static_cast<std::size_t>(B * ds.dense_features));
  for (auto& v : d.dense) v = static_cast<float>(g.uniform(-1.0, 2.0));
  d.ids.resize(static_cast<std::size_t>(B * F));
  for (idx b = 0; b < B; ++b) {
    for (idx f = 0; f < F; ++f) {
      d.ids[static_cast<std::size_t>(b * F + f)] = static_cast<std::int32_t>(
          g.below(static_cast<std::uint64_t>(ds.table_rows[static_cast<std::size_t>(f)])));
    }
  }
  d.labels.resize(static_cast<std::size_t>(B));
  for (auto& l : d.labels) l = g.bernoulli(0.3) ? 1.0f : 0.0f;
  d.view.size = B;
  d.view.dense = {d.dense.data(), B, ds.dense_features};
  d.view.ids32 = d.ids.data();
  d.view.ids_ld = F;
  return d;
}

/// loss = sum_b r_b * logit_b for fixed random r (a linear probe of every logit).
template <class Net>
double probe_loss(const Net& net, const recnas::supernet::architecture& a,
                  const recnas::supernet::ctr_batch& batch, recnas::supernet::workspace<double>& ws,
                  const std::vector<double>& r,
                  recnas::supernet::exec_mode mode = recnas::supernet::exec_mode::sliced) {
  std::vector<double> logits(static_cast<std::size_t>(batch.size));
  net.forward(a, batch, ws, logits, mode);
  double l = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) l += r[i] * logits[i];
  return l;
}

struct grad_check_result {
  int checked = 0;
  int zero_checked = 0;
  double worst = 0;
};

/// Compares backward's parameter gradients with central differences on up to `per_entry`
/// elements of every entry (largest analytic gradients first, plus random ones, which also
/// checks that untouched slices have zero gradient).
template <class Net>
grad_check_result check_gradients(
    Net& net, const recnas::supernet::architecture& a, const recnas::supernet::ctr_batch& batch,
    std::uint64_t seed, int per_entry = 1, int zero_entries = 6, double tol = 2e-6,
    recnas::supernet::exec_mode mode = recnas::supernet::exec_mode::sliced) {
  recnas::rng g(seed);
  std::vector<double> r(static_cast<std::size_t>(batch.size));
  for (auto& v : r) v = g.uniform(-1.0, 1.0);
  recnas::supernet::workspace<double> ws;
  net.params().zero_grad();
  std::vector<double> logits(static_cast<std::size_t>(batch.size));
  net.forward(a, batch, ws, logits, mode);
  net.backward(a, ws, r);
  auto values = net.params().values();
  auto grads = net.params().grads();
  grad_check_result res;
  // Probes: the largest-gradient element of every entry with a gradient, plus random elements
  // (of those and of up to `zero_entries` entries without any gradient: inactive slices).
  std::vector<std::size_t> picks;
  int zero_entries_left = zero_entries;
  for (const auto& e : net.params().entries()) {
    if (e.size() == 0) continue;
    std::size_t best = e.offset;
    for (idx k = 0; k < e.size(); ++k) {
      if (std::abs(grads[e.offset + static_cast<std::size_t>(k)]) > std::abs(grads[best]))
        best = e.offset + static_cast<std::size_t>(k);
    }
    if (grads[best] == 0.0) {
      if (zero_entries_left-- > 0)
        picks.push_back(e.offset + g.below(static_cast<std::uint64_t>(e.size())));
      continue;
    }
    picks.push_back(best);
    for (int q = 1; q < per_entry; ++q)
      picks.push_back(e.offset + g.below(static_cast<std::uint64_t>(e.size())));
  }
  {
    for (std::size_t k : picks) {
      const double keep = values[k];
      const double h = 1e-7 * std::max(1.0, std::abs(keep));
      values[k] = keep + h;
      const double lp = probe_loss(net, a, batch, ws, r, mode);
      values[k] = keep - h;
      const double lm = probe_loss(net, a, batch, ws, r, mode);
      values[k] = keep;
      const double fd = (lp - lm) / (2 * h);
      const double err = std::abs(fd - grads[k]) / std::max(1.0, std::abs(fd));
      if (grads[k] == 0.0) ++res.zero_checked;
      ++res.checked;
      res.worst = std::max(res.worst, err);
      if (err > tol) {
        std::string where;
        for (const auto& e : net.params().entries()) {
          if (k >= e.offset && k < e.offset + static_cast<std::size_t>(e.size())) where = e.name;
        }
        FAIL_CHECK("gradient mismatch in " << where << " (element " << k << "): analytic "
                                           << grads[k] << " vs finite difference " << fd);
      }
    }
  }
  return res;
}

}  // namespace recnas_test
