#pragma once
// Fake quantization for quantization-aware evaluation (the grid, calibration and rounding are
// core/quantize.hpp's). Backward is the straight-through estimator: the gradient passes
// unchanged inside the representable range and is zero where the forward clipped.

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "recnas/core/error.hpp"
#include "recnas/core/quantize.hpp"
#include "recnas/core/tensor.hpp"

namespace recnas::codesign {

using recnas::calibrate;
using recnas::fake_quant_forward;
using recnas::grid_for_range;
using recnas::quant_grid;
using recnas::quantize_in_place;

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
