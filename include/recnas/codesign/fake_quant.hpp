#pragma once
// Fake quantization for quantization-aware evaluation: values are rounded to the grid a PIM
// crossbar (weights) or DAC/ADC path (activations) can represent and immediately dequantized,
// so the float forward sees the hardware's precision. Backward is the straight-through
// estimator: the gradient passes unchanged inside the representable range and is zero where
// the forward clipped.
//
// Grid: symmetric, b bits signed -> integers in [-(2^(b-1) - 1), 2^(b-1) - 1] (the most
// negative code is unused so that 0 is exact and the range symmetric); unsigned (post-ReLU
// activations) -> [0, 2^b - 1]. Rounding is to nearest, ties to even (as torch.round).

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "recnas/core/error.hpp"
#include "recnas/core/tensor.hpp"

namespace recnas::codesign {

struct quant_grid {
  int bits = 8;
  bool is_signed = true;
  double scale = 1.0;  // value of one integer step

  [[nodiscard]] double qmax() const noexcept {
    return is_signed ? std::ldexp(1.0, bits - 1) - 1.0 : std::ldexp(1.0, bits) - 1.0;
  }
  [[nodiscard]] double qmin() const noexcept { return is_signed ? -qmax() : 0.0; }
  /// Largest representable magnitude.
  [[nodiscard]] double clip() const noexcept { return qmax() * scale; }
};

/// The grid that represents [-max|x|, max|x|] (signed) or [0, max x] (unsigned) exactly at its
/// ends: per-tensor min/max calibration.
[[nodiscard]] inline quant_grid calibrate(const float* x, index n, int bits, bool is_signed) {
  expects(bits >= 1 && bits <= 24 && (!is_signed || bits >= 2),
          "fake quantization: 1..24 bits (signed needs at least 2)");
  double m = 0.0;
  for (index i = 0; i < n; ++i)
    m = std::max(m, is_signed ? std::abs(static_cast<double>(x[i])) : static_cast<double>(x[i]));
  quant_grid g{bits, is_signed, 1.0};
  g.scale = m > 0.0 ? m / g.qmax() : 1.0;
  return g;
}

/// y = dequant(quant(x)); `in_range[i]` (optional) records whether x[i] was inside the grid,
/// which is what the STE backward needs.
inline void fake_quant_forward(const float* x, index n, const quant_grid& g, float* y,
                               std::uint8_t* in_range = nullptr) noexcept {
  const double inv = 1.0 / g.scale, lo = g.qmin(), hi = g.qmax();
  for (index i = 0; i < n; ++i) {
    const double q = std::nearbyint(static_cast<double>(x[i]) * inv);
    const double c = std::clamp(q, lo, hi);
    if (in_range != nullptr) {
      const double v = static_cast<double>(x[i]) * inv;
      in_range[i] = (v >= lo - 0.5 && v <= hi + 0.5) ? 1 : 0;
    }
    y[i] = static_cast<float>(c * g.scale);
  }
}

/// Straight-through estimator: dx = dy where the forward did not clip, else 0.
inline void fake_quant_backward(const float* dy, const std::uint8_t* in_range, index n,
                                float* dx) noexcept {
  for (index i = 0; i < n; ++i) dx[i] = in_range[i] != 0 ? dy[i] : 0.0f;
}

/// Quantization error statistics of a tensor at a given precision (for reports and tests).
struct quant_error {
  double max_abs = 0.0;
  double rms = 0.0;
};
[[nodiscard]] inline quant_error measure_error(const float* x, index n, const quant_grid& g) {
  quant_error e;
  const double inv = 1.0 / g.scale;
  double sq = 0.0;
  for (index i = 0; i < n; ++i) {
    const double q =
        std::clamp(std::nearbyint(static_cast<double>(x[i]) * inv), g.qmin(), g.qmax()) * g.scale;
    const double d = std::abs(q - static_cast<double>(x[i]));
    e.max_abs = std::max(e.max_abs, d);
    sq += d * d;
  }
  e.rms = n > 0 ? std::sqrt(sq / static_cast<double>(n)) : 0.0;
  return e;
}

}  // namespace recnas::codesign
