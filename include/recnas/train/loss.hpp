#pragma once
// Binary cross-entropy on logits, written in the stable form so that |z| = 100 neither
// overflows exp() nor loses the loss to log(0).

#include <cmath>
#include <cstddef>

#include "recnas/core/tensor.hpp"

namespace recnas::train {

/// log(1 + e^z) without overflow.
[[nodiscard]] inline double softplus(double z) noexcept {
  return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
}
[[nodiscard]] inline double sigmoid(double z) noexcept {
  return z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z));
}

/// BCE of one example: -(y log σ(z) + (1-y) log(1-σ(z))) = softplus(z) - y z.
[[nodiscard]] inline double bce_with_logit(double z, double y) noexcept {
  return softplus(z) - y * z;
}

/// Mean BCE over n examples; if `dlogits` is not null it receives d(mean loss)/d(logit)
/// = (σ(z) - y) / n. Returns the mean loss (accumulated in double).
inline double bce_with_logits(const float* logits, const float* labels, index n,
                              float* dlogits = nullptr) noexcept {
  if (n <= 0) return 0.0;
  double sum = 0.0;
  const double inv_n = 1.0 / static_cast<double>(n);
  for (index i = 0; i < n; ++i) {
    const double z = logits[i];
    const double y = labels[i];
    sum += bce_with_logit(z, y);
    if (dlogits != nullptr) dlogits[i] = static_cast<float>((sigmoid(z) - y) * inv_n);
  }
  return sum * inv_n;
}

}  // namespace recnas::train
