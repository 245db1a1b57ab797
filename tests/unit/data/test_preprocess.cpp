// The fast preprocessing paths equal the plain formulas of the reference exactly.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <doctest/doctest.h>

#include <recnas/core/rng.hpp>
#include <recnas/data/preprocess.hpp>
#include <recnas/data/text.hpp>

namespace rd = recnas::data;

TEST_CASE("category_hasher equals v mod (n-1) + 1 for 32- and 64-bit values and any table size") {
  recnas::rng g(1);
  for (std::int64_t n :
       {std::int64_t{2}, std::int64_t{3}, std::int64_t{5}, std::int64_t{1461},
        std::int64_t{10131227}, std::int64_t{500000}, (std::int64_t{1} << 31) - 1}) {
    const rd::category_hasher h(n);
    const auto d = static_cast<std::uint64_t>(n - 1);
    CHECK(h(rd::missing_categorical) == 0);
    CHECK(h(0) == 1);
    CHECK(h(0xffffffffULL) == static_cast<std::int32_t>(0xffffffffULL % d + 1));
    for (int i = 0; i < 20000; ++i) {
      const std::uint64_t v32 = g() >> 32, v64 = g() >> 1;
      REQUIRE(h(v32) == static_cast<std::int32_t>(v32 % d + 1));
      REQUIRE(h(v64) == static_cast<std::int32_t>(v64 % d + 1));
      REQUIRE(h(v32) == rd::hash_category(v32, n));
    }
  }
}

TEST_CASE("dense_transform: table path equals the direct formula; negatives and missing map to 0") {
  for (int x = -5; x < 5000; ++x) REQUIRE(rd::dense_transform(x) == rd::dense_transform_exact(x));
  CHECK(rd::dense_transform(1.5) == static_cast<float>(std::log(2.5)));
  CHECK(rd::dense_transform(-7) == 0.0f);
  CHECK(rd::dense_transform(std::numeric_limits<double>::quiet_NaN()) == 0.0f);
  CHECK(rd::dense_transform(1e12) == static_cast<float>(std::log(1e12 + 1)));
}

TEST_CASE("Avazu/KDD raw values: Python's int(v, 10) or else int(v, 16), mod 2^31-1, exactly") {
  auto mod31 = [](const std::string& v) {
    std::uint64_t out = 0;
    const char* why = rd::detail::parse_mod31(v.data(), v.data() + v.size(), out);
    REQUIRE(why == nullptr);
    return out;
  };
  const std::uint64_t m = 2147483647ULL;
  CHECK(mod31("14102100") == 14102100);                                 // decimal (Avazu hour)
  CHECK(mod31("1fbe01fe") == 0x1fbe01feULL % m);                        // not all digits: hex
  CHECK(mod31("12345678") == 12345678);                                 // all digits: decimal wins
  CHECK(mod31("10000169349117863715") == 10000169349117863715ULL % m);  // 20 digits
  CHECK(mod31("123456789012345678901234567890") == 281742486ULL);       // beyond 64 bits, exact
  CHECK(mod31("-1") == m - 1);  // Python's % is non-negative
  CHECK(mod31("0x10") == 16);
  std::uint64_t out = 0;
  const std::string bad = "12g4";
  CHECK(rd::detail::parse_mod31(bad.data(), bad.data() + bad.size(), out) != nullptr);
}
