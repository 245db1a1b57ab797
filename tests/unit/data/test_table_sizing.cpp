// Tables sized from the training split: ids seen >= min_count times in training get a row of
// their own, all others (rare, or seen only in validation/test) share the out-of-vocabulary
// row; cap= keeps the reference's modulo hashing.
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <recnas/core/rng.hpp>
#include <recnas/data/spec.hpp>

namespace rd = recnas::data;

namespace {

struct criteo_file {
  std::filesystem::path path;
  std::vector<std::vector<std::uint32_t>> cats;  // [row][feature]; 0 = missing
};

/// Criteo-format rows: label, 13 integers, 26 hex categories (skewed: many ids seen once).
criteo_file write_criteo(int rows) {
  criteo_file f;
  f.path = std::filesystem::temp_directory_path() /
           ("recnas_tables_" + std::to_string(::getpid()) + ".txt");
  std::FILE* out = std::fopen(f.path.c_str(), "wb");
  REQUIRE(out != nullptr);
  recnas::rng g(42);
  for (int r = 0; r < rows; ++r) {
    std::fprintf(out, "%d", g.uniform() < 0.25 ? 1 : 0);
    for (int j = 0; j < 13; ++j) std::fprintf(out, "\t%d", static_cast<int>(g.uniform() * 20));
    std::vector<std::uint32_t> c(26);
    for (int j = 0; j < 26; ++j) {
      const double u = g.uniform();
      // 0.05 missing; otherwise ids from a steep distribution over 1..rows
      c[j] = u < 0.05 ? 0 : 1 + static_cast<std::uint32_t>(u * u * u * rows);
      if (c[j] == 0)
        std::fprintf(out, "\t");
      else
        std::fprintf(out, "\t%08x", c[j]);
    }
    std::fprintf(out, "\n");
    f.cats.push_back(c);
  }
  std::fclose(out);
  return f;
}

}  // namespace

TEST_CASE("open_split: table rows come from the training split's ids with min_count") {
  const auto f = write_criteo(3000);
  for (int min_count : {1, 2, 3}) {
    CAPTURE(min_count);
    const auto d = rd::open_split(rd::parse_data_spec("criteo:" + f.path.string() +
                                                      ",min_count=" + std::to_string(min_count)));
    REQUIRE(d.train.size() + d.val.size() + d.test.size() == f.cats.size());
    const auto& sc = d.data.features();
    std::vector<std::map<std::uint32_t, int>> count(26);
    for (auto r : d.train)
      for (int j = 0; j < 26; ++j)
        if (f.cats[r][j] != 0) ++count[j][f.cats[r][j]];
    std::int64_t total = 0;
    for (int j = 0; j < 26; ++j) {
      std::int64_t kept = 0;
      for (const auto& [v, c] : count[j]) kept += c >= min_count;
      CHECK(sc.table_sizes[j] == kept + 2);  // + missing + out-of-vocabulary
      total += sc.table_sizes[j];
    }
    CHECK(d.table_rows == total);
    // Every row's ids: missing 0, kept values one stable id >= 2, everything else 1.
    rd::example_block b(static_cast<recnas::index>(f.cats.size()), 13, 26);
    d.data.read(0, static_cast<recnas::index>(f.cats.size()), b, 0);
    std::vector<std::map<std::uint32_t, std::int32_t>> id_of(26);
    int oov_in_test = 0;
    for (std::size_t r = 0; r < f.cats.size(); ++r)
      for (int j = 0; j < 26; ++j) {
        const auto raw = f.cats[r][j];
        const auto id = b.cat_row(static_cast<recnas::index>(r))[j];
        if (raw == 0) {
          CHECK(id == 0);
          continue;
        }
        const auto it = count[j].find(raw);
        const bool kept = it != count[j].end() && it->second >= min_count;
        if (!kept) {
          CHECK(id == 1);
          continue;
        }
        CHECK(id >= 2);
        CHECK(id < sc.table_sizes[j]);
        auto [pos, fresh] = id_of[j].emplace(raw, id);
        CHECK(pos->second == id);
      }
    for (auto r : d.test)
      for (int j = 0; j < 26; ++j)
        oov_in_test += f.cats[r][j] != 0 && b.cat_row(static_cast<recnas::index>(r))[j] == 1;
    CHECK(oov_in_test > 0);  // ids never seen in training exist and get the shared row
  }
  std::filesystem::remove(f.path);
}

TEST_CASE("open_split: cap= keeps modulo hashing; bad sizing options are refused by name") {
  const auto f = write_criteo(600);
  const auto capped =
      rd::open_split(rd::parse_data_spec("criteo:" + f.path.string() + ",cap=1000"));
  for (auto t : capped.data.features().table_sizes) CHECK(t <= 1000);
  rd::example_block b(600, 13, 26);
  capped.data.read(0, 600, b, 0);
  const auto& sizes = capped.data.features().table_sizes;
  for (int r = 0; r < 600; ++r)
    for (int j = 0; j < 26; ++j)
      CHECK(
          b.cat_row(r)[j] ==
          rd::hash_category(f.cats[r][j] == 0 ? rd::missing_categorical : f.cats[r][j], sizes[j]));
  const auto spec = [&](const std::string& opts) {
    return rd::parse_data_spec("criteo:" + f.path.string() + opts);
  };
  CHECK_THROWS_WITH_AS((void)rd::open_split(spec(",min_count=0")), doctest::Contains("min_count"),
                       recnas::input_error);
  CHECK_THROWS_WITH_AS((void)rd::open_split(spec(",cap=1")), doctest::Contains("cap"),
                       recnas::input_error);
  CHECK_THROWS_WITH_AS((void)rd::open_split(spec(",cap=100,min_count=2")),
                       doctest::Contains("give one of them"), recnas::input_error);
  std::filesystem::remove(f.path);
}
