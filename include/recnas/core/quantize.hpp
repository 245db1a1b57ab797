#pragma once
// Symmetric fake quantization: values are rounded to the grid a PIM crossbar (weights) or
// DAC/ADC path (activations) can represent and immediately dequantized, so a float forward
// sees the hardware's precision. Shared by the network's activation quantization
// (supernet/activation_quant.hpp) and co-design's weight quantization (codesign/fake_quant.hpp).
//
// Grid: b bits signed -> integers in [-(2^(b-1) - 1), 2^(b-1) - 1] (the most negative code is
// unused so that 0 is exact and the range symmetric); unsigned (post-ReLU activations) ->
// [0, 2^b - 1]. Rounding is to nearest, ties to even (as torch.round).

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "recnas/core/error.hpp"
#include "recnas/core/tensor.hpp"

namespace recnas {

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

/// The grid whose largest code is `range` (max |x| signed, max x unsigned): min/max
/// calibration from a known range.
[[nodiscard]] inline quant_grid grid_for_range(double range, int bits, bool is_signed) {
  expects(bits >= 1 && bits <= 24 && (!is_signed || bits >= 2),
          "fake quantization: 1..24 bits (signed needs at least 2)");
  quant_grid g{bits, is_signed, 1.0};
  g.scale = range > 0.0 ? range / g.qmax() : 1.0;
  return g;
}

/// max |x[i]| (signed) or max(0, x[i]) (unsigned) over n values.
template <class T>
[[nodiscard]] double value_range(const T* x, index n, bool is_signed) noexcept {
  double m = 0.0;
  for (index i = 0; i < n; ++i)
    m = std::max(m, is_signed ? std::abs(static_cast<double>(x[i])) : static_cast<double>(x[i]));
  return m;
}

/// The grid that represents [-max|x|, max|x|] (signed) or [0, max x] (unsigned) exactly at its
/// ends: per-tensor min/max calibration.
template <class T>
[[nodiscard]] quant_grid calibrate(const T* x, index n, int bits, bool is_signed) {
  return grid_for_range(value_range(x, n, is_signed), bits, is_signed);
}

/// Round to nearest, ties to even (std::nearbyint in the default rounding mode) for
/// |v| < 2^51, without the libm call that x86-64's baseline ISA (no SSE4.1 `roundsd`) turns
/// nearbyint into: adding and subtracting 1.5 * 2^52 leaves the integer the FPU rounded to.
/// Vectorizes. Needs IEEE arithmetic: -ffast-math would fold it away (tests check).
[[nodiscard]] inline double round_half_even(double v) noexcept {
  constexpr double shift = 0x1.8p52;
  return (v + shift) - shift;
}

/// y = dequant(quant(x)) (x == y allowed); `in_range[i]` (optional) records whether x[i] was
/// inside the grid, which is what the straight-through estimator's backward needs.
template <class T>
void fake_quant_forward(const T* x, index n, const quant_grid& g, T* y,
                        std::uint8_t* in_range = nullptr) noexcept {
  const double inv = 1.0 / g.scale, lo = g.qmin(), hi = g.qmax();
  for (index i = 0; i < n; ++i) {
    const double v = static_cast<double>(x[i]) * inv;
    if (in_range != nullptr) in_range[i] = (v >= lo - 0.5 && v <= hi + 0.5) ? 1 : 0;
    // clamped first to one step beyond the grid, so that rounding stays exact
    const double q = round_half_even(std::clamp(v, lo - 1.0, hi + 1.0));
    y[i] = static_cast<T>(std::clamp(q, lo, hi) * g.scale);
  }
}

/// Calibrates a tensor's own grid at `bits` (signed) and fake-quantizes it in place.
template <class T>
void quantize_in_place(T* x, index n, int bits) {
  if (n <= 0) return;
  fake_quant_forward(x, n, calibrate(x, n, bits, true), x);
}

}  // namespace recnas
