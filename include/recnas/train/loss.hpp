#pragma once
// Binary cross-entropy on logits, written in the stable form so that |z| = 100 neither
// overflows exp() nor loses the loss to log(0).

#include <cmath>
#include <cstddef>
#include <span>

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

/// Mean BCE over the examples, for float or double logits; writes d(mean loss)/d(logit)
/// = (σ(z) - y) / n into `dlogits` unless it is empty. Returns the mean loss (accumulated in
/// double).
template <class T>
double bce_with_logits(std::span<const T> logits, std::span<const float> labels,
                       std::span<T> dlogits) {
  const auto n = static_cast<double>(logits.size());
  if (logits.empty()) return 0.0;
  double loss = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    const double z = static_cast<double>(logits[i]);
    const double y = labels[i];
    loss += bce_with_logit(z, y);
    if (!dlogits.empty()) dlogits[i] = static_cast<T>((sigmoid(z) - y) / n);
  }
  return loss / n;
}

/// The same on n float logits; `dlogits` may be null.
inline double bce_with_logits(const float* logits, const float* labels, index n,
                              float* dlogits = nullptr) {
  if (n <= 0) return 0.0;
  const auto m = static_cast<std::size_t>(n);
  return bce_with_logits<float>(
      {logits, m}, {labels, m},
      dlogits == nullptr ? std::span<float>{} : std::span<float>{dlogits, m});
}

}  // namespace recnas::train
