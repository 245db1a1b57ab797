#pragma once
// The embedded default dataset: Criteo-like rows generated on the fly from a seed, with
// planted feature interactions whose strength and positive rate are known. Row r is a pure
// function of (config, r), so any range can be generated in parallel or re-generated to
// resume. docs/data.md gives the generative model.
//
//   c_f  ~ skewed over [0, K_f)  (c = floor(K_f * u^skew)), missing with prob. p_cat_missing
//   x_j  = floor(exp(m_j + s_j * N(0,1))) >= 0, missing with prob. p_dense_missing
//   z_j  = ln(x_j + 1)  (the model's dense input; 0 when missing)
//   logit = b + sum_f a * g(f, c_f) + sum_j d * g(j) * (z_j - zbar_j)           (first order)
//         + sum_{(p,q) in P} pair_scale * <u_p(c_p), v_q(c_q)> / sqrt(rank)     (categorical
//         crosses)
//         + sum_{(j,f) in Q} dense_cross_scale * (z_j - zbar_j) * g(j, f, c_f)  (dense x
//         categorical)
//   y ~ Bernoulli(sigmoid(logit)), b chosen so that the mean positive rate is `positive_rate`.
// g(...) are N(0,1)-like values hashed from (seed, term, feature, value); u, v likewise.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "recnas/core/error.hpp"
#include "recnas/core/rng.hpp"
#include "recnas/data/block.hpp"
#include "recnas/data/preprocess.hpp"
#include "recnas/data/schema.hpp"
#include "recnas/data/text.hpp"

namespace recnas::data {

struct synthetic_config {
  std::uint64_t seed = 2018;
  index num_dense = 13;
  index num_categorical = 26;
  /// Latent cardinality K_f per categorical feature; empty = a Criteo-like profile capped at
  /// 20000 (cycled when there are more than 26 features).
  std::vector<std::int64_t> cardinalities;
  double skew = 2.0;  // >1 makes small category values frequent (Zipf-like)
  double positive_rate = 0.25;
  double first_order_scale = 0.4;
  double dense_scale = 0.3;
  int pairs = 6;  // planted categorical x categorical interactions
  int pair_rank = 2;
  double pair_scale = 1.0;
  int dense_crosses = 3;  // planted dense x categorical interactions
  double dense_cross_scale = 0.5;
  double dense_missing = 0.1;
  double categorical_missing = 0.05;
};

class synthetic_generator {
 public:
  explicit synthetic_generator(synthetic_config cfg) : cfg_(std::move(cfg)) {
    expects(cfg_.num_dense >= 0 && cfg_.num_categorical >= 1,
            "synthetic: >= 1 categorical feature");
    expects(cfg_.positive_rate > 0 && cfg_.positive_rate < 1, "synthetic: positive_rate in (0,1)");
    expects(cfg_.pair_rank >= 1 && cfg_.skew > 0, "synthetic: pair_rank >= 1, skew > 0");
    static constexpr std::int64_t criteo_like[26] = {
        1460, 583,   20000, 20000, 305,  24,   12517, 633,   3,  20000, 5683,  20000, 3194,
        27,   14992, 20000, 10,    5652, 2173, 4,     20000, 18, 15,    20000, 105,   20000};
    if (cfg_.cardinalities.empty())
      for (index f = 0; f < cfg_.num_categorical; ++f)
        cfg_.cardinalities.push_back(criteo_like[f % 26]);
    expects(static_cast<index>(cfg_.cardinalities.size()) == cfg_.num_categorical,
            "synthetic: one cardinality per categorical feature");
    schema_.name = "synthetic";
    for (index j = 0; j < cfg_.num_dense; ++j)
      schema_.dense_names.push_back(numbered_name("I", j + 1));
    for (index f = 0; f < cfg_.num_categorical; ++f) {
      const auto k = cfg_.cardinalities[static_cast<std::size_t>(f)];
      expects(k >= 1 && k < (std::int64_t{1} << 30), "synthetic: cardinality in [1, 2^30)");
      schema_.categorical_names.push_back(numbered_name("C", f + 1));
      schema_.table_sizes.push_back(k + 1);  // ids 1..K are injective; 0 = missing
    }
    // Dense marginals and planted terms: drawn once from the seed.
    rng g = rng::stream(cfg_.seed, ~std::uint64_t{0});
    for (index j = 0; j < cfg_.num_dense; ++j) {
      mu_.push_back(g.uniform(0.0, 4.0));
      sigma_.push_back(g.uniform(0.5, 1.5));
      zbar_.push_back(mu_.back() + 0.5);  // about E[ln(x+1)]; exact centring does not matter
    }
    const auto F = static_cast<std::uint64_t>(cfg_.num_categorical);
    for (int p = 0; p < cfg_.pairs && F >= 2; ++p) {
      const auto a = static_cast<index>(g.below(F));
      auto b = static_cast<index>(g.below(F - 1));
      if (b >= a) ++b;
      pairs_.emplace_back(a, b);
    }
    for (int q = 0; q < cfg_.dense_crosses && cfg_.num_dense > 0; ++q)
      dense_crosses_.emplace_back(
          static_cast<index>(g.below(static_cast<std::uint64_t>(cfg_.num_dense))),
          static_cast<index>(g.below(F)));
    calibrate();
  }

  [[nodiscard]] const synthetic_config& config() const noexcept { return cfg_; }
  [[nodiscard]] const schema& features() const noexcept { return schema_; }
  [[nodiscard]] double bias() const noexcept { return bias_; }
  [[nodiscard]] const std::vector<std::pair<index, index>>& planted_pairs() const noexcept {
    return pairs_;
  }
  [[nodiscard]] const std::vector<std::pair<index, index>>& planted_dense_crosses() const noexcept {
    return dense_crosses_;
  }

  /// Raw values of rows [begin, begin+count): dense integer counts, categorical latent values.
  void generate_raw(std::int64_t begin, index count, raw_block& out) const {
    out = raw_block(cfg_.num_dense, cfg_.num_categorical);
    out.reserve(count);
    for (index i = 0; i < count; ++i) append_row(begin + i, out);
  }

  /// Raw values of the listed rows (any order), appended to `out`.
  template <class Int>
  void generate_raw_rows(std::span<const Int> rows, raw_block& out) const {
    out = raw_block(cfg_.num_dense, cfg_.num_categorical);
    out.reserve(static_cast<index>(rows.size()));
    for (auto r : rows) append_row(static_cast<std::int64_t>(r), out);
  }

  /// Model-ready rows [begin, begin+count) into rows [at, ...) of `out`.
  void generate(std::int64_t begin, index count, example_block& out, index at = 0) const {
    raw_block raw;
    generate_raw(begin, count, raw);
    preprocess(raw, 0, count, schema_, out, at);
  }

  /// Model-ready listed rows into rows [0, n) of `out` (one preprocessing pass for all).
  template <class Int>
  void generate_rows(std::span<const Int> rows, example_block& out) const {
    raw_block raw;
    generate_raw_rows(rows, raw);
    preprocess(raw, 0, raw.rows(), schema_, out, 0);
    out.set_rows(raw.rows());
  }

  /// The true logit of a raw row (the Bayes-optimal score; tests compare models against it).
  [[nodiscard]] double logit(const double* dense, const std::uint64_t* cat) const noexcept {
    return bias_ + logit_without_bias(dense, cat);
  }

  /// Writes rows [0, rows) as Criteo-layout TSV (label, integers, 8-hex-digit categoricals).
  void write_text(const std::string& path, std::int64_t rows) const {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) throw input_error(path, 0, "", "cannot create");
    std::string buf;
    raw_block raw;
    constexpr index step = 8192;
    for (std::int64_t r0 = 0; r0 < rows; r0 += step) {
      const index n = static_cast<index>(std::min<std::int64_t>(step, rows - r0));
      generate_raw(r0, n, raw);
      buf.clear();
      for (index r = 0; r < n; ++r) {
        buf += static_cast<char>('0' + raw.labels[static_cast<std::size_t>(r)]);
        for (index j = 0; j < cfg_.num_dense; ++j) {
          buf += '\t';
          const double x = raw.dense[static_cast<std::size_t>(r * cfg_.num_dense + j)];
          if (!std::isnan(x)) buf += std::to_string(static_cast<std::int64_t>(x));
        }
        for (index c = 0; c < cfg_.num_categorical; ++c) {
          buf += '\t';
          const auto v = raw.categorical[static_cast<std::size_t>(r * cfg_.num_categorical + c)];
          if (v != missing_categorical) {
            char h[20];
            std::snprintf(h, sizeof h, "%08llx", static_cast<unsigned long long>(v));
            buf += h;
          }
        }
        buf += '\n';
      }
      if (std::fwrite(buf.data(), 1, buf.size(), f) != buf.size()) {
        std::fclose(f);
        throw input_error(path, 0, "", "write failed");
      }
    }
    if (std::fclose(f) != 0) throw input_error(path, 0, "", "write failed");
  }

  /// The text format that reads write_text's output back with this generator's schema.
  [[nodiscard]] text_format text_layout() const {
    text_format f;
    f.features = schema_;
    f.delimiter = '\t';
    f.fields = static_cast<int>(1 + cfg_.num_dense + cfg_.num_categorical);
    f.columns.push_back({"label", column_kind::label01, -1, 0, {}});
    for (index j = 0; j < cfg_.num_dense; ++j)
      f.columns.push_back({schema_.dense_names[static_cast<std::size_t>(j)],
                           column_kind::dense_int,
                           static_cast<int>(j),
                           static_cast<int>(1 + j),
                           {}});
    for (index c = 0; c < cfg_.num_categorical; ++c)
      f.columns.push_back({schema_.categorical_names[static_cast<std::size_t>(c)],
                           column_kind::cat_hex,
                           static_cast<int>(c),
                           static_cast<int>(1 + cfg_.num_dense + c),
                           {}});
    return f;
  }

  [[nodiscard]] static double sigmoid(double x) noexcept { return 1.0 / (1.0 + std::exp(-x)); }

 private:
  void append_row(std::int64_t row, raw_block& out) const {
    const index r = out.push_row();
    rng g = rng::stream(cfg_.seed, static_cast<std::uint64_t>(row));
    double* dense = out.dense.data() + r * cfg_.num_dense;
    std::uint64_t* cat = out.categorical.data() + r * cfg_.num_categorical;
    draw_features(g, dense, cat);
    out.labels[static_cast<std::size_t>(r)] = g.uniform() < sigmoid(logit(dense, cat)) ? 1 : 0;
  }

  /// An N(0,1)-like value hashed from a key (sum of four 16-bit uniforms, variance 1).
  [[nodiscard]] double g(std::uint64_t term, std::uint64_t a, std::uint64_t b = 0,
                         std::uint64_t c = 0) const noexcept {
    std::uint64_t x = cfg_.seed ^ (term * 0x9E3779B97F4A7C15ULL);
    x = splitmix64(x) ^ (a * 0xC2B2AE3D27D4EB4FULL);
    x = splitmix64(x) ^ (b * 0x165667B19E3779F9ULL);
    x = splitmix64(x) ^ c;
    const std::uint64_t h = splitmix64(x);
    double s = 0;
    for (int i = 0; i < 4; ++i) s += static_cast<double>((h >> (16 * i)) & 0xffff) / 65536.0;
    return (s - 2.0 + 0.5 / 65536.0 * 4) * std::sqrt(3.0);
  }

  [[nodiscard]] std::uint64_t latent(std::uint64_t raw, index f) const noexcept {
    // Missing categories get their own value K_f.
    return raw == missing_categorical
               ? static_cast<std::uint64_t>(cfg_.cardinalities[static_cast<std::size_t>(f)])
               : raw;
  }

  void draw_features(rng& gen, double* dense, std::uint64_t* cat) const {
    for (index j = 0; j < cfg_.num_dense; ++j) {
      const bool miss = gen.uniform() < cfg_.dense_missing;
      const double x = std::floor(std::exp(mu_[static_cast<std::size_t>(j)] +
                                           sigma_[static_cast<std::size_t>(j)] * gen.normal()));
      dense[j] = miss ? std::numeric_limits<double>::quiet_NaN() : std::min(x, 1e12);
    }
    for (index f = 0; f < cfg_.num_categorical; ++f) {
      const bool miss = gen.uniform() < cfg_.categorical_missing;
      const auto k = static_cast<double>(cfg_.cardinalities[static_cast<std::size_t>(f)]);
      const double u = gen.uniform();
      const double w = cfg_.skew == 2.0 ? u * u : std::pow(u, cfg_.skew);
      const auto c = static_cast<std::uint64_t>(std::min(k - 1, std::floor(k * w)));
      cat[f] = miss ? missing_categorical : c;
    }
  }

  [[nodiscard]] double logit_without_bias(const double* dense,
                                          const std::uint64_t* cat) const noexcept {
    double l = 0;
    auto z = [&](index j) {
      return static_cast<double>(dense_transform(dense[j])) - zbar_[static_cast<std::size_t>(j)];
    };
    for (index f = 0; f < cfg_.num_categorical; ++f)
      l += cfg_.first_order_scale * g(1, static_cast<std::uint64_t>(f), latent(cat[f], f));
    for (index j = 0; j < cfg_.num_dense; ++j)
      l += cfg_.dense_scale * g(2, static_cast<std::uint64_t>(j)) * z(j);
    const double norm = 1.0 / std::sqrt(static_cast<double>(cfg_.pair_rank));
    for (std::size_t p = 0; p < pairs_.size(); ++p) {
      const auto [a, b] = pairs_[p];
      double dot = 0;
      for (int k = 0; k < cfg_.pair_rank; ++k)
        dot += g(3, p, latent(cat[a], a), static_cast<std::uint64_t>(k)) *
               g(4, p, latent(cat[b], b), static_cast<std::uint64_t>(k));
      l += cfg_.pair_scale * norm * dot;
    }
    for (std::size_t q = 0; q < dense_crosses_.size(); ++q) {
      const auto [j, f] = dense_crosses_[q];
      l += cfg_.dense_cross_scale * z(j) * g(5, q, latent(cat[f], f));
    }
    return l;
  }

  /// Bisection on the bias so that the mean of sigmoid(logit) over 8192 rows hits the target.
  void calibrate() {
    constexpr index n = 8192;
    std::vector<double> l(n);
    raw_block tmp(cfg_.num_dense, cfg_.num_categorical);
    for (index i = 0; i < n; ++i) {
      const index r = tmp.push_row();
      rng gen = rng::stream(cfg_.seed ^ 0xA5A5A5A5ULL, static_cast<std::uint64_t>(i));
      draw_features(gen, tmp.dense.data() + r * cfg_.num_dense,
                    tmp.categorical.data() + r * cfg_.num_categorical);
      l[static_cast<std::size_t>(i)] = logit_without_bias(
          tmp.dense.data() + r * cfg_.num_dense, tmp.categorical.data() + r * cfg_.num_categorical);
    }
    double lo = -30, hi = 30;
    for (int it = 0; it < 60; ++it) {
      const double mid = 0.5 * (lo + hi);
      double m = 0;
      for (double v : l) m += sigmoid(v + mid);
      (m / n < cfg_.positive_rate ? lo : hi) = mid;
    }
    bias_ = 0.5 * (lo + hi);
  }

  synthetic_config cfg_;
  schema schema_;
  std::vector<double> mu_, sigma_, zbar_;
  std::vector<std::pair<index, index>> pairs_, dense_crosses_;
  double bias_ = 0;
};

}  // namespace recnas::data
