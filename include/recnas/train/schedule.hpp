#pragma once
// Learning-rate schedules. `warmup_cosine` is the reference's "cosine with warm-up": from
// `floor` linearly up to the peak over the warm-up steps, then half a cosine down to `floor`
// at the last step.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <variant>

#include "recnas/core/error.hpp"

namespace recnas::train {

struct constant_lr {
  double lr = 0.01;
  [[nodiscard]] double operator()(std::int64_t /*step*/) const noexcept { return lr; }
};

struct warmup_cosine_lr {
  double peak = 0.12;
  std::int64_t total_steps = 1;
  double warmup_fraction = 0.1;
  double floor = 1e-8;

  [[nodiscard]] std::int64_t warmup_steps() const noexcept {
    return static_cast<std::int64_t>(
        std::floor(warmup_fraction * static_cast<double>(total_steps)));
  }
  [[nodiscard]] double operator()(std::int64_t step) const noexcept {
    const std::int64_t w = warmup_steps();
    if (step < w)
      return floor + (peak - floor) * static_cast<double>(step) / static_cast<double>(w);
    const std::int64_t decay = std::max<std::int64_t>(1, total_steps - w);
    const double t =
        std::clamp(static_cast<double>(step - w) / static_cast<double>(decay), 0.0, 1.0);
    return floor + (peak - floor) * 0.5 * (1.0 + std::cos(std::numbers::pi * t));
  }
};

/// A schedule chosen at run time (CLI option), still without virtual calls.
using lr_schedule = std::variant<constant_lr, warmup_cosine_lr>;

[[nodiscard]] inline double learning_rate(const lr_schedule& s, std::int64_t step) {
  return std::visit([step](const auto& f) { return f(step); }, s);
}

}  // namespace recnas::train
