#pragma once
// Non-owning views over row-major float data: 2-D "dense" tensors [B, w] and 3-D "token"
// tensors [B, T, E]. Kernels take raw pointers and strides; these views carry them safely to
// the kernel boundary and convert to Eigen maps for matrix plumbing.

#include <cstddef>
#include <type_traits>

#include <Eigen/Core>

#include "recnas/core/aligned_buffer.hpp"
#include "recnas/core/error.hpp"

namespace recnas {

/// Signed index type of every extent and stride (Eigen's convention, no unsigned wrap-around).
/// Name it qualified or bring it into a namespace of your own: POSIX declares a function
/// ::index() (<strings.h>, included by many system headers), so `using recnas::index;` at
/// global scope fails to compile wherever that declaration is visible.
using index = std::ptrdiff_t;

/// Row-major matrix view: element (r, c) is data[r * ld + c], with ld >= cols.
template <class T>
class matrix_view {
 public:
  using value_type = std::remove_const_t<T>;
  using eigen_matrix = Eigen::Matrix<value_type, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using eigen_map =
      Eigen::Map<std::conditional_t<std::is_const_v<T>, const eigen_matrix, eigen_matrix>, 0,
                 Eigen::OuterStride<>>;

  constexpr matrix_view() = default;
  constexpr matrix_view(T* data, index rows, index cols, index ld) noexcept
      : data_(data), rows_(rows), cols_(cols), ld_(ld) {}
  constexpr matrix_view(T* data, index rows, index cols) noexcept
      : matrix_view(data, rows, cols, cols) {}
  /// A mutable view converts to a const one.
  template <class U>
    requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>)
  constexpr matrix_view(matrix_view<U> other) noexcept  // NOLINT(google-explicit-constructor)
      : matrix_view(other.data(), other.rows(), other.cols(), other.ld()) {}

  [[nodiscard]] constexpr T* data() const noexcept { return data_; }
  [[nodiscard]] constexpr index rows() const noexcept { return rows_; }
  [[nodiscard]] constexpr index cols() const noexcept { return cols_; }
  [[nodiscard]] constexpr index ld() const noexcept { return ld_; }
  [[nodiscard]] constexpr index size() const noexcept { return rows_ * cols_; }
  [[nodiscard]] constexpr bool empty() const noexcept { return rows_ == 0 || cols_ == 0; }
  [[nodiscard]] constexpr T* row(index r) const noexcept { return data_ + r * ld_; }
  constexpr T& operator()(index r, index c) const noexcept { return data_[r * ld_ + c]; }

  /// Rows [r0, r0+n) and columns [c0, c0+m): the prefix slicing of weight sharing is a block.
  [[nodiscard]] matrix_view block(index r0, index c0, index n, index m) const {
    expects(r0 >= 0 && c0 >= 0 && n >= 0 && m >= 0 && r0 + n <= rows_ && c0 + m <= cols_,
            "matrix_view::block inside the matrix");
    return {data_ + r0 * ld_ + c0, n, m, ld_};
  }
  [[nodiscard]] matrix_view top_rows(index n) const { return block(0, 0, n, cols_); }
  [[nodiscard]] matrix_view left_cols(index m) const { return block(0, 0, rows_, m); }

  [[nodiscard]] eigen_map eigen() const noexcept {
    return eigen_map(data_, rows_, cols_, Eigen::OuterStride<>(ld_));
  }

 private:
  T* data_ = nullptr;
  index rows_ = 0;
  index cols_ = 0;
  index ld_ = 0;
};

/// 3-D token tensor [batch, tokens, width], row-major inside a token:
/// element (b, t, e) is data[b * batch_stride + t * token_stride + e].
/// NASRec's sparse tensors are [B, T, 16]; width is the embedding dimension.
template <class T>
class token_view {
 public:
  constexpr token_view() = default;
  constexpr token_view(T* data, index batch, index tokens, index width, index batch_stride,
                       index token_stride) noexcept
      : data_(data),
        batch_(batch),
        tokens_(tokens),
        width_(width),
        batch_stride_(batch_stride),
        token_stride_(token_stride) {}
  /// Densely packed [batch, tokens, width].
  constexpr token_view(T* data, index batch, index tokens, index width) noexcept
      : token_view(data, batch, tokens, width, tokens * width, width) {}
  template <class U>
    requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>)
  constexpr token_view(token_view<U> o) noexcept  // NOLINT(google-explicit-constructor)
      : token_view(o.data(), o.batch(), o.tokens(), o.width(), o.batch_stride(),
                   o.token_stride()) {}

  [[nodiscard]] constexpr T* data() const noexcept { return data_; }
  [[nodiscard]] constexpr index batch() const noexcept { return batch_; }
  [[nodiscard]] constexpr index tokens() const noexcept { return tokens_; }
  [[nodiscard]] constexpr index width() const noexcept { return width_; }
  [[nodiscard]] constexpr index batch_stride() const noexcept { return batch_stride_; }
  [[nodiscard]] constexpr index token_stride() const noexcept { return token_stride_; }
  constexpr T& operator()(index b, index t, index e) const noexcept {
    return data_[b * batch_stride_ + t * token_stride_ + e];
  }
  /// Example b as a [tokens, width] matrix.
  [[nodiscard]] constexpr matrix_view<T> example(index b) const noexcept {
    return {data_ + b * batch_stride_, tokens_, width_, token_stride_};
  }
  /// Tokens [t0, t0+n) of every example: how a block's token output is sliced.
  [[nodiscard]] token_view token_slice(index t0, index n) const {
    expects(t0 >= 0 && n >= 0 && t0 + n <= tokens_, "token_view::token_slice inside the tensor");
    return {data_ + t0 * token_stride_, batch_, n, width_, batch_stride_, token_stride_};
  }
  /// The whole tensor as a [batch, tokens*width] matrix; requires packed tokens.
  [[nodiscard]] matrix_view<T> flatten() const {
    expects(token_stride_ == width_, "token_view::flatten needs packed tokens");
    return {data_, batch_, tokens_ * width_, batch_stride_};
  }

 private:
  T* data_ = nullptr;
  index batch_ = 0;
  index tokens_ = 0;
  index width_ = 0;
  index batch_stride_ = 0;
  index token_stride_ = 0;
};

/// An owning row-major matrix whose rows are padded to whole cache lines.
template <class T>
class matrix {
 public:
  matrix() = default;
  matrix(index rows, index cols)
      : rows_(rows),
        cols_(cols),
        ld_(static_cast<index>(round_up(static_cast<std::size_t>(cols), default_alignment / sizeof(T)))),
        buf_(static_cast<std::size_t>(rows * ld_)) {
    expects(rows >= 0 && cols >= 0, "matrix extents are non-negative");
  }
  [[nodiscard]] matrix_view<T> view() noexcept { return {buf_.data(), rows_, cols_, ld_}; }
  [[nodiscard]] matrix_view<const T> view() const noexcept { return {buf_.data(), rows_, cols_, ld_}; }
  T& operator()(index r, index c) noexcept { return buf_[static_cast<std::size_t>(r * ld_ + c)]; }
  const T& operator()(index r, index c) const noexcept {
    return buf_[static_cast<std::size_t>(r * ld_ + c)];
  }
  [[nodiscard]] index rows() const noexcept { return rows_; }
  [[nodiscard]] index cols() const noexcept { return cols_; }
  [[nodiscard]] index ld() const noexcept { return ld_; }
  [[nodiscard]] T* data() noexcept { return buf_.data(); }
  [[nodiscard]] const T* data() const noexcept { return buf_.data(); }

 private:
  index rows_ = 0;
  index cols_ = 0;
  index ld_ = 0;
  aligned_buffer<T> buf_;
};

}  // namespace recnas
