#pragma once
// XXH64 (Yann Collet's xxHash, 64-bit variant): the checksum of checkpoints and cache files.
// Fast (several GB/s) and well specified, so files can be verified by other tools.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace recnas {

class xxh64 {
 public:
  explicit xxh64(std::uint64_t seed = 0) noexcept { reset(seed); }

  void reset(std::uint64_t seed = 0) noexcept {
    v_[0] = seed + p1 + p2;
    v_[1] = seed + p2;
    v_[2] = seed;
    v_[3] = seed - p1;
    seed_ = seed;
    total_ = 0;
    buffered_ = 0;
  }

  void update(const void* data, std::size_t n) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    total_ += n;
    if (buffered_ + n < 32) {
      std::memcpy(buf_ + buffered_, p, n);
      buffered_ += n;
      return;
    }
    if (buffered_ != 0) {
      const std::size_t take = 32 - buffered_;
      std::memcpy(buf_ + buffered_, p, take);
      stripe(buf_);
      p += take;
      n -= take;
      buffered_ = 0;
    }
    while (n >= 32) {
      stripe(p);
      p += 32;
      n -= 32;
    }
    std::memcpy(buf_, p, n);
    buffered_ = n;
  }
  void update(std::span<const std::byte> bytes) noexcept { update(bytes.data(), bytes.size()); }

  [[nodiscard]] std::uint64_t digest() const noexcept {
    std::uint64_t h;
    if (total_ >= 32) {
      h = std::rotl(v_[0], 1) + std::rotl(v_[1], 7) + std::rotl(v_[2], 12) + std::rotl(v_[3], 18);
      for (std::uint64_t v : v_) h = (h ^ round(0, v)) * p1 + p4;
    } else {
      h = seed_ + p5;
    }
    h += total_;
    const unsigned char* p = buf_;
    std::size_t n = buffered_;
    while (n >= 8) {
      h ^= round(0, load64(p));
      h = std::rotl(h, 27) * p1 + p4;
      p += 8;
      n -= 8;
    }
    if (n >= 4) {
      h ^= static_cast<std::uint64_t>(load32(p)) * p1;
      h = std::rotl(h, 23) * p2 + p3;
      p += 4;
      n -= 4;
    }
    while (n > 0) {
      h ^= (*p) * p5;
      h = std::rotl(h, 11) * p1;
      ++p;
      --n;
    }
    h ^= h >> 33;
    h *= p2;
    h ^= h >> 29;
    h *= p3;
    h ^= h >> 32;
    return h;
  }

  [[nodiscard]] static std::uint64_t of(const void* data, std::size_t n,
                                        std::uint64_t seed = 0) noexcept {
    xxh64 h(seed);
    h.update(data, n);
    return h.digest();
  }

 private:
  static constexpr std::uint64_t p1 = 0x9E3779B185EBCA87ULL;
  static constexpr std::uint64_t p2 = 0xC2B2AE3D27D4EB4FULL;
  static constexpr std::uint64_t p3 = 0x165667B19E3779F9ULL;
  static constexpr std::uint64_t p4 = 0x85EBCA77C2B2AE63ULL;
  static constexpr std::uint64_t p5 = 0x27D4EB2F165667C5ULL;

  static std::uint64_t load64(const unsigned char* p) noexcept {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    if constexpr (std::endian::native == std::endian::big) v = byteswap64(v);
    return v;
  }
  static std::uint32_t load32(const unsigned char* p) noexcept {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    if constexpr (std::endian::native == std::endian::big) {
      v = static_cast<std::uint32_t>(byteswap64(v) >> 32);
    }
    return v;
  }
  static constexpr std::uint64_t byteswap64(std::uint64_t v) noexcept {
    v = ((v & 0x00FF00FF00FF00FFULL) << 8) | ((v >> 8) & 0x00FF00FF00FF00FFULL);
    v = ((v & 0x0000FFFF0000FFFFULL) << 16) | ((v >> 16) & 0x0000FFFF0000FFFFULL);
    return (v << 32) | (v >> 32);
  }
  static constexpr std::uint64_t round(std::uint64_t acc, std::uint64_t input) noexcept {
    acc += input * p2;
    acc = std::rotl(acc, 31);
    return acc * p1;
  }
  void stripe(const unsigned char* p) noexcept {
    for (int i = 0; i < 4; ++i) v_[i] = round(v_[i], load64(p + 8 * i));
  }

  std::uint64_t v_[4]{};
  std::uint64_t seed_ = 0;
  std::uint64_t total_ = 0;
  unsigned char buf_[32]{};
  std::size_t buffered_ = 0;
};

}  // namespace recnas
