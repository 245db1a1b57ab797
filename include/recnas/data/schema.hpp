#pragma once
// The shape of a CTR dataset as the models see it: Nd dense features (already log-transformed
// floats), F categorical features (int32 ids in [0, table_size)), one 0/1 label. Presets hold
// the reference's per-feature cardinalities (NASRec utils/config.py) for the three benchmarks.

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "recnas/core/datasets.hpp"
#include "recnas/core/error.hpp"
#include "recnas/core/tensor.hpp"

namespace recnas::data {

/// Feature names and embedding-table sizes. Id 0 of every table is reserved for "missing".
struct schema {
  std::string name;
  std::vector<std::string> dense_names;
  std::vector<std::string> categorical_names;
  std::vector<std::int64_t> table_sizes;  // one per categorical feature, each >= 2

  [[nodiscard]] index num_dense() const noexcept { return static_cast<index>(dense_names.size()); }
  [[nodiscard]] index num_categorical() const noexcept {
    return static_cast<index>(categorical_names.size());
  }
  /// Total embedding rows over all tables.
  [[nodiscard]] std::int64_t total_table_rows() const noexcept {
    std::int64_t s = 0;
    for (auto n : table_sizes) s += n;
    return s;
  }

  /// Throws input_error when sizes are inconsistent (hashing needs n >= 2: ids 0 and >= 1).
  void validate() const {
    if (table_sizes.size() != categorical_names.size())
      throw input_error(name, 0, "table_sizes", "one table size per categorical feature needed");
    for (std::size_t f = 0; f < table_sizes.size(); ++f)
      if (table_sizes[f] < 2 || table_sizes[f] > (std::int64_t{1} << 31) - 1)
        throw input_error(name, 0, categorical_names[f],
                          "table size must be in [2, 2^31-1] (id 0 is the missing value)");
  }

  /// The same schema with every table capped at `cap` rows (the reference's search used 0.5M).
  /// cap <= 0 means no cap.
  [[nodiscard]] schema capped(std::int64_t cap) const {
    schema s = *this;
    if (cap > 0) {
      expects(cap >= 2, "a table cap must be >= 2");
      for (auto& n : s.table_sizes) n = std::min(n, cap);
    }
    return s;
  }

  friend bool operator==(const schema&, const schema&) = default;
};

/// prefix followed by n ("C" and 3 give "C3"); appended, not operator+, which trips a GCC 12
/// -Wrestrict false positive.
[[nodiscard]] inline std::string numbered_name(const char* prefix, long long n) {
  std::string s(prefix);
  s.append(std::to_string(n));
  return s;
}

namespace detail {
inline std::vector<std::string> numbered(const char* prefix, int n, int first = 1) {
  std::vector<std::string> v;
  v.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v.push_back(numbered_name(prefix, i + first));
  return v;
}
}  // namespace detail

/// Criteo Kaggle/DAC: 13 integer features I1..I13, 26 hashed categorical features C1..C26.
[[nodiscard]] inline schema criteo_schema(std::int64_t cap = 0) {
  schema s{"criteo",
           detail::numbered("I", static_cast<int>(datasets::criteo_dense_features)),
           detail::numbered("C", static_cast<int>(datasets::criteo_table_sizes.size())),
           {datasets::criteo_table_sizes.begin(), datasets::criteo_table_sizes.end()}};
  return s.capped(cap);
}

/// Avazu: `id` kept as categorical feature 0 (table 10000) plus the 22 other columns; one
/// all-zero pseudo dense feature so that models always have a dense input.
[[nodiscard]] inline schema avazu_schema(std::int64_t cap = 0) {
  schema s{"avazu",
           {"dummy"},
           {"id",          "hour",          "C1",           "banner_pos",  "site_id",
            "site_domain", "site_category", "app_id",       "app_domain",  "app_category",
            "device_id",   "device_ip",     "device_model", "device_type", "device_conn_type",
            "C14",         "C15",           "C16",          "C17",         "C18",
            "C19",         "C20",           "C21"},
           {datasets::avazu_table_sizes.begin(), datasets::avazu_table_sizes.end()}};
  return s.capped(cap);
}

/// KDD Cup 2012 track 2 joined with userid_profile (gender, age).
[[nodiscard]] inline schema kdd_schema(std::int64_t cap = 0) {
  schema s{"kdd",
           {"Impression", "Depth", "Position"},
           {"DisplayURL", "AdID", "AdvertiserID", "QueryID", "KeywordID", "TitleID",
            "DescriptionID", "UserID", "Gender", "Age"},
           {datasets::kdd_table_sizes.begin(), datasets::kdd_table_sizes.end()}};
  return s.capped(cap);
}

}  // namespace recnas::data
