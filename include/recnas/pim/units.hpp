#pragma once
// Units of the PIM model on top of core/units.hpp: throughput (GOPS) and the two efficiency
// figures every PIM paper reports (GOPS/W, GOPS/mm^2). The conversions are spelled out once
// here so that a report never divides picojoules by cycles.

#include <cstddef>

#include "recnas/core/units.hpp"

namespace recnas {
/// Same alias as core/tensor.hpp (a repeated alias of the same type is legal): the PIM model
/// needs only the index type, not Eigen.
using index = std::ptrdiff_t;
}  // namespace recnas

namespace recnas::pim {

struct gops_unit {
  static constexpr const char* symbol = "GOPS";
};
struct gops_per_watt_unit {
  static constexpr const char* symbol = "GOPS/W";
};
struct gops_per_mm2_unit {
  static constexpr const char* symbol = "GOPS/mm^2";
};
struct pj_ns_unit {
  static constexpr const char* symbol = "pJ*ns";
};

using gops = units::quantity<gops_unit>;
using gops_per_watt = units::quantity<gops_per_watt_unit>;
using gops_per_mm2 = units::quantity<gops_per_mm2_unit>;
/// Energy-delay product.
using pj_ns = units::quantity<pj_ns_unit>;

/// `ops` operations done in `t`: 1 op per ns is 1 GOPS.
[[nodiscard]] constexpr gops rate(double ops, units::nanoseconds t) noexcept {
  return gops(t.value() > 0.0 ? ops / t.value() : 0.0);
}
/// GOPS per watt: 1 mW is 1e-3 W.
[[nodiscard]] constexpr gops_per_watt operator/(gops g, units::milliwatts p) noexcept {
  return gops_per_watt(p.value() > 0.0 ? g.value() / (p.value() * 1e-3) : 0.0);
}
[[nodiscard]] constexpr gops_per_mm2 operator/(gops g, units::square_mm a) noexcept {
  return gops_per_mm2(a.value() > 0.0 ? g.value() / a.value() : 0.0);
}
/// Operations per picojoule, as GOPS/W: 1 op/pJ = 1e12 op/J = 1000 GOPS/W.
[[nodiscard]] constexpr gops_per_watt efficiency(double ops, units::picojoules e) noexcept {
  return gops_per_watt(e.value() > 0.0 ? 1000.0 * ops / e.value() : 0.0);
}
/// Energy-delay product (a named function: both operands live in recnas::units, so an
/// operator here would not be found by argument-dependent lookup).
[[nodiscard]] constexpr pj_ns edp(units::picojoules e, units::nanoseconds t) noexcept {
  return pj_ns(e.value() * t.value());
}

}  // namespace recnas::pim
