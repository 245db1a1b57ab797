#pragma once
// Optimizers as policy types. An optimizer is an element-wise update rule with `state_slots`
// floats of state per parameter, applied either to a dense span or to selected rows of an
// embedding table (row-sparse update: only rows that received a gradient are touched).
//
// Row-sparse Adagrad and SGD equal their dense forms exactly, because a zero gradient leaves
// their state and weight unchanged. Row-sparse Adam is "lazy Adam": untouched rows keep their
// moments instead of decaying them (the usual choice for embeddings, but not the same math).

#include <array>
#include <cmath>
#include <cstdint>
#include <span>
#include <string_view>

#include "recnas/core/concepts.hpp"
#include "recnas/core/error.hpp"
#include "recnas/core/tensor.hpp"
#include "recnas/kernels/optim.hpp"

namespace recnas::train {

/// Hyper-parameters every optimizer shares.
struct optimizer_common {
  double weight_decay = 0.0;  // L2: adds weight_decay * w to the gradient before the update
};

/// Stochastic gradient descent, no state.
struct sgd {
  static constexpr std::string_view name = "sgd";
  static constexpr policy_kind kind = policy_kind::optimizer;
  static constexpr int state_slots = 0;
  optimizer_common common{};

  void update(float* w, const float* g, std::array<float*, 0> /*state*/, index n, double lr,
              std::int64_t /*step*/) const noexcept {
    const auto lrf = static_cast<float>(lr);
    const auto wd = static_cast<float>(common.weight_decay);
    for (index i = 0; i < n; ++i) w[i] -= lrf * (g[i] + wd * w[i]);
  }
};

/// SGD with (heavy-ball) momentum, as torch.optim.SGD(momentum=mu): buf = mu buf + g.
struct sgd_momentum {
  static constexpr std::string_view name = "sgd_momentum";
  static constexpr policy_kind kind = policy_kind::optimizer;
  static constexpr int state_slots = 1;
  double momentum = 0.9;
  optimizer_common common{};

  void update(float* w, const float* g, std::array<float*, 1> state, index n, double lr,
              std::int64_t /*step*/) const noexcept {
    const auto lrf = static_cast<float>(lr);
    const auto mu = static_cast<float>(momentum);
    const auto wd = static_cast<float>(common.weight_decay);
    float* buf = state[0];
    for (index i = 0; i < n; ++i) {
      buf[i] = mu * buf[i] + (g[i] + wd * w[i]);
      w[i] -= lrf * buf[i];
    }
  }
};

/// Adagrad as torch.optim.Adagrad (no lr decay): s += g²; w -= lr g / (sqrt(s) + eps).
/// The reference trains every NASRec model with eps = 1e-2.
struct adagrad {
  static constexpr std::string_view name = "adagrad";
  static constexpr policy_kind kind = policy_kind::optimizer;
  static constexpr int state_slots = 1;
  double eps = 1e-2;
  double initial_accumulator = 0.0;
  optimizer_common common{};

  void update(float* w, const float* g, std::array<float*, 1> state, index n, double lr,
              std::int64_t /*step*/) const noexcept {
    kernels::adagrad_update(w, g, state[0], n, static_cast<float>(lr), static_cast<float>(eps),
                            static_cast<float>(common.weight_decay));
  }
};

/// Adam as torch.optim.Adam, with bias correction; `step` counts from 1.
struct adam {
  static constexpr std::string_view name = "adam";
  static constexpr policy_kind kind = policy_kind::optimizer;
  static constexpr int state_slots = 2;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  optimizer_common common{};

  void update(float* w, const float* g, std::array<float*, 2> state, index n, double lr,
              std::int64_t step) const noexcept {
    const double t = static_cast<double>(step < 1 ? 1 : step);
    const double c1 = 1.0 - std::pow(beta1, t);
    const double c2 = 1.0 - std::pow(beta2, t);
    const auto step_size = static_cast<float>(lr / c1);
    const auto inv_sqrt_c2 = static_cast<float>(1.0 / std::sqrt(c2));
    const auto b1 = static_cast<float>(beta1), b2 = static_cast<float>(beta2);
    const auto epsf = static_cast<float>(eps);
    const auto wd = static_cast<float>(common.weight_decay);
    float* m = state[0];
    float* v = state[1];
    for (index i = 0; i < n; ++i) {
      const float gi = g[i] + wd * w[i];
      m[i] = b1 * m[i] + (1.0f - b1) * gi;
      v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
      w[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_c2 + epsf);
    }
  }
};

/// What an optimizer policy must provide.
template <class O>
concept Optimizer = PolicyOf<O, policy_kind::optimizer> && requires {
  { O::state_slots } -> std::convertible_to<int>;
} && requires(const O& o, float* w, const float* g, std::array<float*, O::state_slots> s, index n,
              double lr, std::int64_t step) {
  o.update(w, g, s, n, lr, step);
};

/// State of an optimizer for `n` parameters: `state_slots` arrays of n floats.
template <Optimizer O>
class optimizer_state {
 public:
  optimizer_state() = default;
  optimizer_state(const O& opt, index n)
      : n_(n), data_(static_cast<std::size_t>(n * O::state_slots)) {
    if constexpr (requires { opt.initial_accumulator; }) {
      data_.fill(static_cast<float>(opt.initial_accumulator));
    }
  }
  [[nodiscard]] std::array<float*, O::state_slots> at(index offset) noexcept {
    std::array<float*, O::state_slots> p{};
    for (int k = 0; k < O::state_slots; ++k)
      p[static_cast<std::size_t>(k)] = data_.data() + k * n_ + offset;
    return p;
  }
  [[nodiscard]] index size() const noexcept { return n_; }
  [[nodiscard]] std::span<float> raw() noexcept { return data_.span(); }
  [[nodiscard]] std::span<const float> raw() const noexcept { return data_.span(); }

 private:
  index n_ = 0;
  aligned_buffer<float> data_;
};

/// Dense update of all n parameters.
template <Optimizer O>
void apply_dense(const O& opt, std::span<float> w, std::span<const float> g, optimizer_state<O>& st,
                 index offset, double lr, std::int64_t step) {
  expects(w.size() == g.size(), "apply_dense: weight and gradient spans have the same size");
  expects(offset >= 0 && offset + static_cast<index>(w.size()) <= st.size(),
          "apply_dense: state covers the parameters");
  opt.update(w.data(), g.data(), st.at(offset), static_cast<index>(w.size()), lr, step);
}

/// Row-sparse update of an embedding table stored at `offset` in the state with row length
/// `width`: rows[i] receives grad_rows[i * ld_grad .. + width]. Rows must be unique.
template <Optimizer O>
void apply_rows(const O& opt, float* table, index width, const std::int64_t* rows, index count,
                const float* grad_rows, index ld_grad, optimizer_state<O>& st, index offset,
                double lr, std::int64_t step) {
  for (index i = 0; i < count; ++i) {
    const index r = rows[i];
    opt.update(table + r * width, grad_rows + i * ld_grad, st.at(offset + r * width), width, lr,
               step);
  }
}

/// Global L2 norm of several gradient spans, in double.
[[nodiscard]] inline double global_norm(std::span<const std::span<const float>> grads) noexcept {
  double sq = 0.0;
  for (auto g : grads) sq += kernels::sum_squares(g.data(), static_cast<index>(g.size()));
  return std::sqrt(sq);
}

/// Scales every gradient by min(1, max_norm / (norm + 1e-6)) as torch.nn.utils.clip_grad_norm_;
/// returns the norm before clipping.
inline double clip_global_norm(std::span<const std::span<float>> grads, double max_norm) noexcept {
  double sq = 0.0;
  for (auto g : grads) sq += kernels::sum_squares(g.data(), static_cast<index>(g.size()));
  const double norm = std::sqrt(sq);
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0) {
    const auto c = static_cast<float>(coef);
    for (auto g : grads) kernels::scale(g.data(), static_cast<index>(g.size()), c);
  }
  return norm;
}

}  // namespace recnas::train
