#pragma once
// A seeded, platform-independent random number generator. The standard <random>
// distributions are implementation-defined, so a seed would give different searches under
// libstdc++ and libc++; every distribution here is spelled out and fixed.

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <span>
#include <utility>

#include "recnas/core/error.hpp"

namespace recnas {

/// SplitMix64 step: used to expand seeds and to derive independent streams.
[[nodiscard]] constexpr std::uint64_t splitmix64(std::uint64_t& x) noexcept {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// xoshiro256** (Blackman & Vigna). Satisfies std::uniform_random_bit_generator.
class rng {
 public:
  using result_type = std::uint64_t;
  using state_type = std::array<std::uint64_t, 4>;

  constexpr explicit rng(std::uint64_t seed = 0) noexcept { reseed(seed); }

  /// The generator for stream `stream` of `seed`: a pure function of both, so parallel and
  /// distributed workers draw independent, reproducible numbers without sharing state.
  [[nodiscard]] static constexpr rng stream(std::uint64_t seed, std::uint64_t stream) noexcept {
    std::uint64_t x = seed;
    std::uint64_t mixed = splitmix64(x) ^ (stream * 0xD1B54A32D192ED03ULL);
    return rng(mixed);
  }

  constexpr void reseed(std::uint64_t seed) noexcept {
    std::uint64_t x = seed;
    for (auto& w : s_) w = splitmix64(x);
  }

  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return ~result_type{0}; }

  constexpr result_type operator()() noexcept {
    const std::uint64_t result = std::rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = std::rotl(s_[3], 45);
    return result;
  }

  /// Uniform in [0, 1) with 53 random bits.
  constexpr double uniform() noexcept { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }
  /// Uniform in [0, 1) with 24 random bits.
  constexpr float uniformf() noexcept { return static_cast<float>((*this)() >> 40) * 0x1.0p-24f; }
  constexpr double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }

  /// Uniform integer in [0, n), unbiased (Lemire's multiply-and-reject).
  constexpr std::uint64_t below(std::uint64_t n) {
    expects(n > 0, "rng::below(n) needs n > 0");
    __uint128_t m = static_cast<__uint128_t>((*this)()) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
      const std::uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<__uint128_t>((*this)()) * n;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }
  /// Uniform integer in [lo, hi] (inclusive).
  constexpr std::int64_t between(std::int64_t lo, std::int64_t hi) {
    expects(lo <= hi, "rng::between(lo, hi) needs lo <= hi");
    return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo) + 1));
  }

  constexpr bool bernoulli(double p) noexcept { return uniform() < p; }

  /// Binomial(n, p) by n Bernoulli draws: exact and deterministic; n is small in NAS sampling.
  constexpr int binomial(int n, double p) noexcept {
    int k = 0;
    for (int i = 0; i < n; ++i) k += bernoulli(p) ? 1 : 0;
    return k;
  }

  /// Standard normal by Box-Muller (one of the pair is discarded to keep no hidden state).
  double normal() noexcept {
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  double normal(double mean, double stddev) noexcept { return mean + stddev * normal(); }

  /// Fisher-Yates shuffle.
  template <class T>
  constexpr void shuffle(std::span<T> v) {
    for (std::size_t i = v.size(); i > 1; --i) {
      const std::size_t j = below(i);
      std::swap(v[i - 1], v[j]);
    }
  }

  [[nodiscard]] constexpr const state_type& state() const noexcept { return s_; }
  constexpr void set_state(const state_type& s) {
    expects(s[0] != 0 || s[1] != 0 || s[2] != 0 || s[3] != 0,
            "an all-zero xoshiro256 state never leaves zero");
    s_ = s;
  }
  friend constexpr bool operator==(const rng&, const rng&) = default;

 private:
  state_type s_{};
};

}  // namespace recnas
