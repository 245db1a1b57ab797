#include <doctest/doctest.h>

#include <recnas/core/aligned_buffer.hpp>
#include <recnas/core/tensor.hpp>

TEST_CASE("aligned_buffer is aligned, zeroed, move-only and clonable") {
  recnas::aligned_buffer<float> b(37);
  CHECK(b.size() == 37);
  CHECK(recnas::is_aligned(b.data()));
  for (float v : b) CHECK(v == 0.0f);
  b[36] = 3.0f;
  auto c = b.clone();
  CHECK(c[36] == 3.0f);
  c[36] = 4.0f;
  CHECK(b[36] == 3.0f);
  auto moved = std::move(b);
  CHECK(moved.size() == 37);
  CHECK(moved[36] == 3.0f);
  recnas::aligned_buffer<float> empty(0);
  CHECK(empty.empty());
  CHECK(empty.data() == nullptr);
  empty.reserve_discard(10);
  CHECK(empty.size() == 10);
}

TEST_CASE("matrix rows are padded to cache lines and views slice without copying") {
  recnas::matrix<float> m(5, 7);
  CHECK(m.ld() == 16);
  for (recnas::index r = 0; r < 5; ++r) {
    CHECK(recnas::is_aligned(m.view().row(r)));
    for (recnas::index c = 0; c < 7; ++c) m(r, c) = static_cast<float>(10 * r + c);
  }
  auto blk = m.view().block(1, 2, 3, 4);
  CHECK(blk.rows() == 3);
  CHECK(blk.cols() == 4);
  CHECK(blk(0, 0) == 12.0f);
  CHECK(blk(2, 3) == 35.0f);
  CHECK(blk.data() == &m(1, 2));
  // Eigen map over the slice sees the same numbers.
  auto e = blk.eigen();
  CHECK(e(2, 3) == 35.0f);
  CHECK(e.sum() == doctest::Approx(12 + 13 + 14 + 15 + 22 + 23 + 24 + 25 + 32 + 33 + 34 + 35));
  recnas::matrix_view<const float> cv = blk;  // mutable -> const
  CHECK(cv(1, 1) == 23.0f);
  CHECK_THROWS_AS((void)m.view().block(4, 0, 2, 1), recnas::contract_error);
  CHECK_THROWS_AS((void)m.view().block(0, 6, 1, 2), recnas::contract_error);
}

TEST_CASE("token_view indexes [B, T, E] and slices tokens") {
  std::vector<float> data(2 * 3 * 4);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i);
  recnas::token_view<float> t(data.data(), 2, 3, 4);
  CHECK(t(1, 2, 3) == 23.0f);
  CHECK(t.example(1)(0, 0) == 12.0f);
  auto s = t.token_slice(1, 2);
  CHECK(s.tokens() == 2);
  CHECK(s(0, 0, 0) == 4.0f);
  CHECK(s(1, 1, 2) == 22.0f);
  auto flat = t.flatten();
  CHECK(flat.rows() == 2);
  CHECK(flat.cols() == 12);
  CHECK(flat(1, 11) == 23.0f);
  auto sf = s.flatten();  // a token slice is still [B, s*E] rows with the batch stride
  CHECK(sf(1, 0) == 16.0f);
  recnas::token_view<float> strided(data.data(), 2, 2, 3, 12, 4);  // padded tokens
  CHECK_THROWS_AS((void)strided.flatten(), recnas::contract_error);
  CHECK_THROWS_AS((void)t.token_slice(2, 2), recnas::contract_error);
}
