#pragma once
// Row blocks. A raw_block holds parsed but not yet preprocessed values (what the text said);
// an example_block holds model inputs (label, log-transformed dense floats, table ids); a
// batch_view is the non-owning view that training code consumes.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "recnas/core/aligned_buffer.hpp"
#include "recnas/core/error.hpp"
#include "recnas/core/tensor.hpp"

namespace recnas::data {

/// An allocator whose resize() leaves new trivial elements uninitialised: parsers resize a
/// block to its final row count and every row is written exactly once, in parallel.
template <class T>
struct default_init_allocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = default_init_allocator<U>;
  };
  default_init_allocator() = default;
  template <class U>
  default_init_allocator(const default_init_allocator<U>&) noexcept {}  // NOLINT
  template <class U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
template <class T>
using raw_vector = std::vector<T, default_init_allocator<T>>;

/// Raw categorical value that marks "field was empty".
inline constexpr std::uint64_t missing_categorical = ~std::uint64_t{0};

/// Parsed values before preprocessing. Dense missing = NaN; categorical missing =
/// missing_categorical. Row-major [rows, nd] and [rows, nc].
struct raw_block {
  index nd = 0;
  index nc = 0;
  raw_vector<std::uint8_t> labels;
  raw_vector<double> dense;
  raw_vector<std::uint64_t> categorical;

  raw_block() = default;
  raw_block(index num_dense, index num_cat) : nd(num_dense), nc(num_cat) {}
  [[nodiscard]] index rows() const noexcept { return static_cast<index>(labels.size()); }
  void clear() noexcept {
    labels.clear();
    dense.clear();
    categorical.clear();
  }
  void reserve(index rows) {
    labels.reserve(static_cast<std::size_t>(rows));
    dense.reserve(static_cast<std::size_t>(rows * nd));
    categorical.reserve(static_cast<std::size_t>(rows * nc));
  }
  /// Sets the row count; new rows are uninitialised (call clear_row before filling one).
  void resize_rows(index rows) {
    labels.resize(static_cast<std::size_t>(rows));
    dense.resize(static_cast<std::size_t>(rows * nd));
    categorical.resize(static_cast<std::size_t>(rows * nc));
  }
  /// Makes row r all-missing with label 0.
  void clear_row(index r) noexcept {
    labels[static_cast<std::size_t>(r)] = 0;
    std::fill_n(dense.data() + r * nd, nd, std::numeric_limits<double>::quiet_NaN());
    std::fill_n(categorical.data() + r * nc, nc, missing_categorical);
  }
  /// Removes the rows listed (ascending), keeping the order of the others.
  void erase_rows(const std::vector<index>& sorted_rows) {
    index w = 0, k = 0;
    for (index r = 0; r < rows(); ++r) {
      if (k < static_cast<index>(sorted_rows.size()) &&
          sorted_rows[static_cast<std::size_t>(k)] == r) {
        ++k;
        continue;
      }
      if (w != r) {
        labels[static_cast<std::size_t>(w)] = labels[static_cast<std::size_t>(r)];
        std::copy_n(dense.data() + r * nd, nd, dense.data() + w * nd);
        std::copy_n(categorical.data() + r * nc, nc, categorical.data() + w * nc);
      }
      ++w;
    }
    resize_rows(w);
  }
  /// Appends one all-missing row and returns its index (the parser then fills it in).
  index push_row() {
    labels.push_back(0);
    dense.resize(dense.size() + static_cast<std::size_t>(nd),
                 std::numeric_limits<double>::quiet_NaN());
    categorical.resize(categorical.size() + static_cast<std::size_t>(nc), missing_categorical);
    return rows() - 1;
  }
  void pop_row() {
    labels.pop_back();
    dense.resize(dense.size() - static_cast<std::size_t>(nd));
    categorical.resize(categorical.size() - static_cast<std::size_t>(nc));
  }
  void append(const raw_block& o) {
    expects(o.nd == nd && o.nc == nc, "raw_block::append needs the same widths");
    labels.insert(labels.end(), o.labels.begin(), o.labels.end());
    dense.insert(dense.end(), o.dense.begin(), o.dense.end());
    categorical.insert(categorical.end(), o.categorical.begin(), o.categorical.end());
  }
};

/// A view of `size` consecutive examples: labels [B] (0/1 floats), dense [B, Nd] (already
/// ln(max(x,0)+1)), categorical [B, F] int32 ids (already in each feature's table range).
struct batch_view {
  std::span<const float> labels;
  matrix_view<const float> dense;
  matrix_view<const std::int32_t> categorical;
  [[nodiscard]] index size() const noexcept { return static_cast<index>(labels.size()); }
};

/// Owning storage of model-ready examples, densely packed (ld = number of columns), with a
/// fixed capacity so that batch buffers are allocated once and recycled.
class example_block {
 public:
  example_block() = default;
  example_block(index capacity, index nd, index nc)
      : capacity_(capacity),
        nd_(nd),
        nc_(nc),
        labels_(static_cast<std::size_t>(capacity)),
        dense_(static_cast<std::size_t>(capacity * nd)),
        cat_(static_cast<std::size_t>(capacity * nc)) {
    expects(capacity >= 0 && nd >= 0 && nc >= 0, "example_block extents are non-negative");
  }
  example_block(example_block&&) noexcept = default;
  example_block& operator=(example_block&&) noexcept = default;

  [[nodiscard]] index rows() const noexcept { return rows_; }
  [[nodiscard]] index capacity() const noexcept { return capacity_; }
  /// A copy holding just the rows (move-only type: copies are spelled out).
  [[nodiscard]] example_block clone_rows() const {
    example_block c(rows_, nd_, nc_);
    for (index r = 0; r < rows_; ++r) c.copy_row(r, *this, r);
    c.set_rows(rows_);
    return c;
  }
  [[nodiscard]] index num_dense() const noexcept { return nd_; }
  [[nodiscard]] index num_categorical() const noexcept { return nc_; }
  void set_rows(index n) {
    expects(n >= 0 && n <= capacity_, "example_block::set_rows within capacity");
    rows_ = n;
  }

  [[nodiscard]] float* labels() noexcept { return labels_.data(); }
  [[nodiscard]] const float* labels() const noexcept { return labels_.data(); }
  [[nodiscard]] float* dense_row(index r) noexcept { return dense_.data() + r * nd_; }
  [[nodiscard]] const float* dense_row(index r) const noexcept { return dense_.data() + r * nd_; }
  [[nodiscard]] std::int32_t* cat_row(index r) noexcept { return cat_.data() + r * nc_; }
  [[nodiscard]] const std::int32_t* cat_row(index r) const noexcept {
    return cat_.data() + r * nc_;
  }

  /// Copies row `src_row` of `src` into row `dst_row` of this block.
  void copy_row(index dst_row, const example_block& src, index src_row) noexcept {
    labels_[static_cast<std::size_t>(dst_row)] = src.labels()[src_row];
    if (nd_ != 0)
      std::memcpy(dense_row(dst_row), src.dense_row(src_row),
                  sizeof(float) * static_cast<std::size_t>(nd_));
    if (nc_ != 0)
      std::memcpy(cat_row(dst_row), src.cat_row(src_row),
                  sizeof(std::int32_t) * static_cast<std::size_t>(nc_));
  }

  [[nodiscard]] batch_view view() const noexcept { return view(0, rows_); }
  [[nodiscard]] batch_view view(index begin, index count) const noexcept {
    return {std::span<const float>(labels_.data() + begin, static_cast<std::size_t>(count)),
            matrix_view<const float>(dense_.data() + begin * nd_, count, nd_, nd_),
            matrix_view<const std::int32_t>(cat_.data() + begin * nc_, count, nc_, nc_)};
  }

 private:
  index capacity_ = 0;
  index rows_ = 0;
  index nd_ = 0;
  index nc_ = 0;
  aligned_buffer<float> labels_;
  aligned_buffer<float> dense_;
  aligned_buffer<std::int32_t> cat_;
};

/// Exact equality of two batches (labels, dense bits, ids): for round-trip checks.
[[nodiscard]] inline bool same_examples(const batch_view& a, const batch_view& b) noexcept {
  if (a.size() != b.size() || a.dense.cols() != b.dense.cols() ||
      a.categorical.cols() != b.categorical.cols())
    return false;
  for (index r = 0; r < a.size(); ++r) {
    if (a.labels[static_cast<std::size_t>(r)] != b.labels[static_cast<std::size_t>(r)])
      return false;
    if (a.dense.cols() != 0 &&
        std::memcmp(a.dense.row(r), b.dense.row(r),
                    sizeof(float) * static_cast<std::size_t>(a.dense.cols())) != 0)
      return false;
    if (a.categorical.cols() != 0 &&
        std::memcmp(a.categorical.row(r), b.categorical.row(r),
                    sizeof(std::int32_t) * static_cast<std::size_t>(a.categorical.cols())) != 0)
      return false;
  }
  return true;
}

}  // namespace recnas::data
