#pragma once
// Strong unit types for the cost models: cycles are never added to nanoseconds, and
// picojoules are never mistaken for FLOPs. Only the conversions that mean something exist.

#include <compare>
#include <concepts>
#include <cstdint>

namespace recnas::units {

/// A value tagged with its unit. Same-unit arithmetic, scaling by plain numbers, and the ratio
/// of two same-unit values (a plain double) are allowed; anything else does not compile.
template <class Unit, class Rep = double>
class quantity {
 public:
  using unit = Unit;
  using rep = Rep;

  constexpr quantity() = default;
  constexpr explicit quantity(Rep v) noexcept : v_(v) {}
  [[nodiscard]] constexpr Rep value() const noexcept { return v_; }

  constexpr quantity& operator+=(quantity o) noexcept { v_ += o.v_; return *this; }
  constexpr quantity& operator-=(quantity o) noexcept { v_ -= o.v_; return *this; }
  constexpr quantity& operator*=(Rep s) noexcept { v_ *= s; return *this; }
  constexpr quantity& operator/=(Rep s) noexcept { v_ /= s; return *this; }

  friend constexpr quantity operator+(quantity a, quantity b) noexcept { return quantity(a.v_ + b.v_); }
  friend constexpr quantity operator-(quantity a, quantity b) noexcept { return quantity(a.v_ - b.v_); }
  friend constexpr quantity operator*(quantity a, Rep s) noexcept { return quantity(a.v_ * s); }
  friend constexpr quantity operator*(Rep s, quantity a) noexcept { return quantity(a.v_ * s); }
  friend constexpr quantity operator/(quantity a, Rep s) noexcept { return quantity(a.v_ / s); }
  friend constexpr double operator/(quantity a, quantity b) noexcept {
    return static_cast<double>(a.v_) / static_cast<double>(b.v_);
  }
  friend constexpr auto operator<=>(quantity, quantity) = default;
  friend constexpr bool operator==(quantity, quantity) = default;

 private:
  Rep v_{};
};

struct cycle_unit { static constexpr const char* symbol = "cycles"; };
struct nanosecond_unit { static constexpr const char* symbol = "ns"; };
struct picojoule_unit { static constexpr const char* symbol = "pJ"; };
struct square_mm_unit { static constexpr const char* symbol = "mm^2"; };
struct milliwatt_unit { static constexpr const char* symbol = "mW"; };
struct gigahertz_unit { static constexpr const char* symbol = "GHz"; };
struct flop_unit { static constexpr const char* symbol = "FLOP"; };
struct byte_unit { static constexpr const char* symbol = "B"; };

using cycles = quantity<cycle_unit>;
using nanoseconds = quantity<nanosecond_unit>;
using picojoules = quantity<picojoule_unit>;
using square_mm = quantity<square_mm_unit>;
using milliwatts = quantity<milliwatt_unit>;
using gigahertz = quantity<gigahertz_unit>;
using flops = quantity<flop_unit>;
using bytes = quantity<byte_unit>;

/// Cycles at a clock become time: n cycles at f GHz take n / f ns.
[[nodiscard]] constexpr nanoseconds operator/(cycles c, gigahertz f) noexcept {
  return nanoseconds(c.value() / f.value());
}
/// Time at a clock becomes cycles.
[[nodiscard]] constexpr cycles operator*(nanoseconds t, gigahertz f) noexcept {
  return cycles(t.value() * f.value());
}
/// Energy over time is power: 1 pJ / 1 ns = 1 mW.
[[nodiscard]] constexpr milliwatts operator/(picojoules e, nanoseconds t) noexcept {
  return milliwatts(e.value() / t.value());
}
/// Power over time is energy.
[[nodiscard]] constexpr picojoules operator*(milliwatts p, nanoseconds t) noexcept {
  return picojoules(p.value() * t.value());
}

template <class Q>
concept Quantity = requires { typename Q::unit; typename Q::rep; } &&
                   std::same_as<Q, quantity<typename Q::unit, typename Q::rep>>;

template <Quantity Q>
[[nodiscard]] constexpr const char* symbol() noexcept { return Q::unit::symbol; }

}  // namespace recnas::units
