#pragma once
// Owning, 64-byte aligned, fixed-size arrays: parameter sets, activations, workspaces.
// 64 bytes = one cache line = one AVX-512 register, so every row start can be aligned.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <type_traits>
#include <utility>

namespace recnas {

inline constexpr std::size_t default_alignment = 64;

/// Rounds n up to a multiple of `multiple` (a power of two or not).
[[nodiscard]] constexpr std::size_t round_up(std::size_t n, std::size_t multiple) noexcept {
  return multiple == 0 ? n : (n + multiple - 1) / multiple * multiple;
}

/// A heap array of trivially copyable T, aligned to `Alignment`, zero-initialised.
/// Move-only on purpose: copying megabytes of weights should be spelled `clone()`.
template <class T, std::size_t Alignment = default_alignment>
class aligned_buffer {
  static_assert(std::is_trivially_copyable_v<T>,
                "aligned_buffer<T> holds raw numeric data: T must be trivially copyable.");
  static_assert(Alignment >= alignof(T) && (Alignment & (Alignment - 1)) == 0,
                "aligned_buffer: Alignment must be a power of two and at least alignof(T).");

  struct deleter {
    void operator()(T* p) const noexcept { ::operator delete[](p, std::align_val_t{Alignment}); }
  };

 public:
  using value_type = T;

  aligned_buffer() = default;
  explicit aligned_buffer(std::size_t n) : size_(n) {
    if (n == 0) return;
    // Allocate whole alignment units so vector loads of the last row never cross the end.
    const std::size_t bytes = round_up(n * sizeof(T), Alignment);
    data_.reset(static_cast<T*>(::operator new[](bytes, std::align_val_t{Alignment})));
    std::memset(static_cast<void*>(data_.get()), 0, bytes);
  }
  aligned_buffer(aligned_buffer&&) noexcept = default;
  aligned_buffer& operator=(aligned_buffer&&) noexcept = default;

  [[nodiscard]] aligned_buffer clone() const {
    aligned_buffer copy(size_);
    if (size_ != 0) std::memcpy(copy.data(), data(), size_ * sizeof(T));
    return copy;
  }

  [[nodiscard]] T* data() noexcept { return data_.get(); }
  [[nodiscard]] const T* data() const noexcept { return data_.get(); }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  T& operator[](std::size_t i) noexcept { return data_.get()[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_.get()[i]; }
  T* begin() noexcept { return data(); }
  T* end() noexcept { return data() + size_; }
  const T* begin() const noexcept { return data(); }
  const T* end() const noexcept { return data() + size_; }
  [[nodiscard]] std::span<T> span() noexcept { return {data(), size_}; }
  [[nodiscard]] std::span<const T> span() const noexcept { return {data(), size_}; }

  void fill(const T& value) noexcept { std::fill(begin(), end(), value); }
  /// Grows (never shrinks) to at least n elements; contents are not kept. For workspaces.
  void reserve_discard(std::size_t n) {
    if (n > size_) *this = aligned_buffer(n);
  }

 private:
  std::unique_ptr<T[], deleter> data_;
  std::size_t size_ = 0;
};

/// Whether a pointer is aligned to `alignment` bytes.
[[nodiscard]] inline bool is_aligned(const void* p, std::size_t alignment = default_alignment) noexcept {
  return reinterpret_cast<std::uintptr_t>(p) % alignment == 0;
}

}  // namespace recnas
