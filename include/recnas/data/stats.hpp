#pragma once
// Dataset statistics: rows, positive rate, per-feature missing rates and exact distinct
// counts (open-addressing sets of raw values: 16 bytes per distinct value at most).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "recnas/data/block.hpp"
#include "recnas/data/schema.hpp"

namespace recnas::data {

namespace detail {
/// Set of uint64 values (missing_categorical is the empty marker and is never inserted).
class flat_u64_set {
 public:
  void insert(std::uint64_t v) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = mix(v) & mask;
    while (slots_[i] != missing_categorical) {
      if (slots_[i] == v) return;
      i = (i + 1) & mask;
    }
    slots_[i] = v;
    ++size_;
  }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  static std::size_t mix(std::uint64_t v) noexcept {
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdULL;
    v ^= v >> 33;
    return static_cast<std::size_t>(v);
  }
  void grow() {
    std::vector<std::uint64_t> old = std::move(slots_);
    slots_.assign(std::max<std::size_t>(64, old.size() * 2), missing_categorical);
    size_ = 0;
    for (auto v : old)
      if (v != missing_categorical) insert(v);
  }
  std::vector<std::uint64_t> slots_;
  std::size_t size_ = 0;
};
}  // namespace detail

struct dense_feature_stats {
  std::string name;
  index missing = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  double sum = 0;  // of present raw values
};

struct categorical_feature_stats {
  std::string name;
  std::int64_t table_size = 0;
  index missing = 0;
  index distinct = 0;  // distinct present values (raw values for text, ids for caches)
};

struct dataset_stats {
  index rows = 0;
  index positives = 0;
  index skipped = 0;
  std::vector<dense_feature_stats> dense;
  std::vector<categorical_feature_stats> categorical;
  [[nodiscard]] double positive_rate() const noexcept {
    return rows == 0 ? 0.0 : static_cast<double>(positives) / static_cast<double>(rows);
  }
};

/// Accumulates statistics over raw blocks (from text) or model-ready batches (from caches).
class stats_accumulator {
 public:
  explicit stats_accumulator(const schema& s)
      : sets_(static_cast<std::size_t>(s.num_categorical())) {
    for (const auto& n : s.dense_names) st_.dense.push_back({n});
    for (std::size_t f = 0; f < s.categorical_names.size(); ++f)
      st_.categorical.push_back({s.categorical_names[f], s.table_sizes[f]});
  }

  void add(const raw_block& b) {
    const auto nd = static_cast<std::size_t>(b.nd), nc = static_cast<std::size_t>(b.nc);
    for (index r = 0; r < b.rows(); ++r) {
      const auto R = static_cast<std::size_t>(r);
      st_.positives += b.labels[R];
      for (std::size_t j = 0; j < nd; ++j) {
        const double x = b.dense[R * nd + j];
        auto& d = st_.dense[j];
        if (std::isnan(x)) {
          ++d.missing;
        } else {
          d.min = std::min(d.min, x);
          d.max = std::max(d.max, x);
          d.sum += x;
        }
      }
      for (std::size_t f = 0; f < nc; ++f) {
        const auto v = b.categorical[R * nc + f];
        if (v == missing_categorical)
          ++st_.categorical[f].missing;
        else
          sets_[f].insert(v);
      }
    }
    st_.rows += b.rows();
  }

  /// From model-ready rows: id 0 counts as missing; dense statistics are of transformed values.
  void add(const batch_view& b) {
    for (index r = 0; r < b.size(); ++r) {
      st_.positives += b.labels[static_cast<std::size_t>(r)] != 0.0f ? 1 : 0;
      for (index j = 0; j < b.dense.cols(); ++j) {
        const double x = b.dense(r, j);
        auto& d = st_.dense[static_cast<std::size_t>(j)];
        d.min = std::min(d.min, x);
        d.max = std::max(d.max, x);
        d.sum += x;
      }
      for (index f = 0; f < b.categorical.cols(); ++f) {
        const auto id = b.categorical(r, f);
        if (id == 0)
          ++st_.categorical[static_cast<std::size_t>(f)].missing;
        else
          sets_[static_cast<std::size_t>(f)].insert(static_cast<std::uint64_t>(id));
      }
    }
    st_.rows += b.size();
  }

  [[nodiscard]] dataset_stats finish(index skipped = 0) const {
    dataset_stats s = st_;
    s.skipped = skipped;
    for (std::size_t f = 0; f < sets_.size(); ++f)
      s.categorical[f].distinct = static_cast<index>(sets_[f].size());
    return s;
  }

 private:
  dataset_stats st_;
  std::vector<detail::flat_u64_set> sets_;
};

}  // namespace recnas::data
