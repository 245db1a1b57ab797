// Parsing of the real samples in ../shared/data: counts and positive rates of its README, exact
// preprocessed values against an independent naive parser, and the AutoCTR split.
#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <recnas/data/data.hpp>
#include <recnas/data/spec.hpp>

#include "data_test_util.hpp"

namespace rd = recnas::data;
using data_test::have_shared;
using data_test::shared;

namespace {
std::vector<std::string> split(const std::string& s, char d) {
  std::vector<std::string> v;
  std::string cur;
  for (char c : s) {
    if (c == d) {
      v.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  v.push_back(cur);
  return v;
}
int positives(const rd::raw_block& b) {
  int p = 0;
  for (auto y : b.labels) p += y;
  return p;
}
}  // namespace

TEST_CASE("Criteo sample: 10,000 rows, 2,182 positives, exact preprocessed values") {
  const std::string rel = "criteo/autoint/train_examples.txt";
  if (!have_shared(rel)) return;
  rd::text_reader r(rd::criteo_format(), shared(rel));
  const rd::raw_block raw = r.read_all();
  REQUIRE(raw.rows() == 10000);
  CHECK(positives(raw) == 2182);
  const auto ex = rd::preprocess(raw, r.features());

  // Independent naive reference: getline + stoll/stoull, the formulas of the reference code
  // (ln(max(x,0)+1); int(v,16) mod (n-1) + 1; missing -> 0), with the published cardinalities.
  const std::int64_t card[26] = {1461,  584,  10131227, 2202609, 306, 25,     12518,   634,   4,
                                 93146, 5684, 8351593,  3195,    28,  14993,  5461307, 11,    5653,
                                 2174,  5,    7046548,  19,      16,  286182, 106,     142573};
  std::ifstream in(shared(rel));
  std::string line;
  int row = 0, mismatches = 0, negatives = 0;
  while (std::getline(in, line)) {
    const auto f = split(line, '\t');
    REQUIRE(f.size() == 40);
    if (ex.labels()[row] != std::stof(f[0])) ++mismatches;
    for (int j = 0; j < 13; ++j) {
      const double x = f[1 + j].empty() ? 0.0 : static_cast<double>(std::stoll(f[1 + j]));
      negatives += x < 0;
      const auto want = static_cast<float>(std::log(std::max(x, 0.0) + 1.0));
      if (ex.dense_row(row)[j] != want) ++mismatches;
    }
    for (int c = 0; c < 26; ++c) {
      const std::int64_t want =
          f[14 + c].empty()
              ? 0
              : static_cast<std::int64_t>(std::stoull(f[14 + c], nullptr, 16) % (card[c] - 1) + 1);
      if (ex.cat_row(row)[c] != want) ++mismatches;
    }
    ++row;
  }
  CHECK(row == 10000);
  CHECK(mismatches == 0);
  CHECK(negatives == 975);  // README: negative integers occur 975 times; they map to ln(1) = 0
  // Row 1 as quoted in the README: I1 = 1, I5 = 1382, C1 = 68fd1e64.
  CHECK(ex.dense_row(0)[0] == doctest::Approx(std::log(2.0)));
  CHECK(ex.dense_row(0)[4] == doctest::Approx(std::log(1383.0)));
  CHECK(ex.cat_row(0)[0] == static_cast<std::int32_t>(0x68fd1e64ULL % 1460 + 1));
  // Missing rates of the README: 20.9% integer, 11.4% categorical.
  rd::stats_accumulator acc(r.features());
  acc.add(raw);
  const auto st = acc.finish();
  double dm = 0, cm = 0;
  for (const auto& d : st.dense) dm += static_cast<double>(d.missing);
  for (const auto& c : st.categorical) cm += static_cast<double>(c.missing);
  CHECK(dm / (13 * 10000.0) == doctest::Approx(0.209).epsilon(0.005));
  CHECK(cm / (26 * 10000.0) == doctest::Approx(0.114).epsilon(0.005));
}

TEST_CASE("Criteo sample: parse is identical for every thread count and chunk size") {
  const std::string rel = "criteo/autoint/train_examples.txt";
  if (!have_shared(rel)) return;
  rd::text_reader one(rd::criteo_format(), shared(rel),
                      {.chunk_bytes = std::size_t{1} << 30, .threads = 1});
  const auto a = one.read_all();
  rd::text_reader many(rd::criteo_format(), shared(rel), {.chunk_bytes = 300'000, .threads = 2});
  const auto b = recnas::parallel::with_threads(2, [&] { return many.read_all(); });
  CHECK(a.labels == b.labels);
  CHECK(a.categorical == b.categorical);
  CHECK(std::equal(a.dense.begin(), a.dense.end(), b.dense.begin(), b.dense.end(),
                   [](double x, double y) { return (std::isnan(x) && std::isnan(y)) || x == y; }));
}

TEST_CASE("AutoCTR split equals scikit-learn's StratifiedKFold row for row") {
  const std::string rel = "criteo/autoint/train_examples.txt";
  if (!have_shared(rel) || !have_shared("criteo/autoint/split-autoctr.txt")) return;
  rd::text_reader r(rd::criteo_format(), shared(rel));
  const auto raw = r.read_all();
  const auto folds = rd::stratified_folds(raw.labels, 10, 2018);
  std::ifstream in(shared("criteo/autoint/split-autoctr.txt"));
  std::string line;
  int checked = 0, bad = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream is(line);
    int row = 0, fold = 0, label = 0;
    std::string part;
    is >> row >> fold >> part >> label;
    bad += folds[static_cast<std::size_t>(row)] != fold;
    bad += rd::to_string(rd::autoctr_part(folds[static_cast<std::size_t>(row)])) != part;
    bad += raw.labels[static_cast<std::size_t>(row)] != label;
    ++checked;
  }
  CHECK(checked == 10000);
  CHECK(bad == 0);
  // Sizes and positive rates of the README: 8000 / 1000 / 1000 rows, 0.2180 / 0.2190 / 0.2190.
  const auto tr = rd::rows_of(folds, rd::split_part::train),
             va = rd::rows_of(folds, rd::split_part::val),
             te = rd::rows_of(folds, rd::split_part::test);
  CHECK(tr.size() == 8000);
  CHECK(va.size() == 1000);
  CHECK(te.size() == 1000);
  auto pos = [&](const std::vector<std::uint32_t>& rows) {
    int p = 0;
    for (auto i : rows) p += raw.labels[i];
    return p;
  };
  CHECK(pos(tr) == 1744);
  CHECK(pos(va) == 219);
  CHECK(pos(te) == 219);
  // Stratified: every fold holds 218 or 219 positives; deterministic for the seed.
  std::vector<int> fold_pos(10, 0);
  for (std::size_t i = 0; i < folds.size(); ++i) fold_pos[folds[i]] += raw.labels[i];
  for (int p : fold_pos) CHECK((p == 218 || p == 219));
  CHECK(rd::stratified_folds(raw.labels, 10, 2018) == folds);
  CHECK(rd::stratified_folds(raw.labels, 10, 7) != folds);
}

TEST_CASE("Avazu samples: header detected in train.csv only, README counts, reference hashing") {
  if (!have_shared("avazu/wide_resdnn/train.csv")) return;
  struct expect {
    const char* file;
    int rows, pos;
  };
  for (const auto& e : {expect{"avazu/wide_resdnn/train.csv", 8087, 1397},
                        expect{"avazu/wide_resdnn/dev.csv", 480, 86},
                        expect{"avazu/wide_resdnn/test.csv", 432, 80}}) {
    CAPTURE(e.file);
    rd::text_reader r(rd::avazu_format(), shared(e.file));
    const auto raw = r.read_all();
    CHECK(raw.rows() == e.rows);
    CHECK(positives(raw) == e.pos);
  }
  rd::text_reader r(rd::avazu_format(), shared("avazu/wide_resdnn/train.csv"));
  const auto raw = r.read_all();
  const auto ex = rd::preprocess(raw, r.features());
  // First data row, naive: id decimal mod 2^31-1; site_id "1fbe01fe" is hex; hour decimal.
  std::ifstream in(shared("avazu/wide_resdnn/train.csv"));
  std::string header, line;
  std::getline(in, header);
  std::getline(in, line);
  const auto f = split(line, ',');
  const auto sizes = rd::avazu_schema().table_sizes;
  const std::uint64_t id = std::stoull(f[0]) % 2147483647ULL;
  CHECK(ex.cat_row(0)[0] == static_cast<std::int32_t>(id % (sizes[0] - 1) + 1));
  CHECK(ex.cat_row(0)[1] ==
        static_cast<std::int32_t>(std::stoull(f[2]) % 2147483647ULL % (sizes[1] - 1) + 1));
  const std::uint64_t site = std::stoull(f[5], nullptr, 16) % 2147483647ULL;
  CHECK(ex.cat_row(0)[4] == static_cast<std::int32_t>(site % (sizes[4] - 1) + 1));
  CHECK(ex.dense_row(0)[0] == 0.0f);  // the all-zero pseudo dense feature
  CHECK(ex.labels()[0] == std::stof(f[1]));
}

TEST_CASE("KDD12 sample: 11 rows, no positives, user profile joined (unknown user -> 0, 0)") {
  const std::string dir = "kdd12/deeplearning_kdd2012/";
  if (!have_shared(dir + "training.txt")) return;
  const auto prof = rd::read_user_profile(shared(dir + "user.txt"));
  CHECK(prof->size() == 11);
  CHECK(prof->at(3).first == 1);
  CHECK(prof->at(3).second == 5);
  rd::text_reader r(rd::kdd_format(prof), shared(dir + "training.txt"));
  const auto raw = r.read_all();
  REQUIRE(raw.rows() == 11);
  CHECK(positives(raw) == 0);
  const auto ex = rd::preprocess(raw, r.features());
  // Row 1 (quoted in the README): Impression 1, DisplayURL 4298118681424644510, Depth 3, UserID
  // 490234.
  CHECK(ex.dense_row(0)[0] == doctest::Approx(std::log(2.0)));
  CHECK(ex.dense_row(0)[1] == doctest::Approx(std::log(4.0)));
  const auto sizes = rd::kdd_schema().table_sizes;
  CHECK(ex.cat_row(0)[0] ==
        static_cast<std::int32_t>(4298118681424644510ULL % 2147483647ULL % (sizes[0] - 1) + 1));
  CHECK(ex.cat_row(0)[7] == static_cast<std::int32_t>(490234 % (sizes[7] - 1) + 1));
  // User 490234 is not in the 11-line profile sample: gender = age = raw 0 -> id 1.
  CHECK(ex.cat_row(0)[8] == 1);
  CHECK(ex.cat_row(0)[9] == 1);
  // Without a profile every row gets the unknown-user values too.
  rd::text_reader r2(rd::kdd_format(nullptr), shared(dir + "training.txt"));
  CHECK(r2.read_all().categorical == raw.categorical);
}

TEST_CASE("Generic CSV schema reads the DeepCTR Criteo export (header, float integers)") {
  const std::string rel = "criteo/deepctr/criteo_sample.txt";
  if (!have_shared(rel)) return;
  rd::csv_schema cs;
  cs.label = "label";
  for (int i = 1; i <= 13; ++i) cs.dense.push_back({rd::numbered_name("I", i), false});
  for (int i = 1; i <= 26; ++i)
    cs.categorical.push_back({rd::numbered_name("C", i), 1000, recnas::data::column_kind::cat_hex});
  rd::text_reader r(rd::csv_format(cs), shared(rel));
  const auto raw = r.read_all();
  CHECK(raw.rows() == 200);
  CHECK(positives(raw) == 49);
  // Through the --data spec and a JSON schema file, too.
  data_test::temp_file schema_file("schema.json",
                                   R"({"label": "label", "dense": ["I1", {"column": "I2"}],
                                       "categorical": [{"column": "C1", "table_size": 50},
                                                       {"column": "C2", "table_size": 60, "encoding": "string"}]})");
  const auto d =
      rd::open_dataset(rd::parse_data_spec("csv:" + shared(rel) + ",schema=" + schema_file.path));
  CHECK(d.rows() == 200);
  CHECK(d.features().num_dense() == 2);
  CHECK(d.features().table_sizes == std::vector<std::int64_t>{50, 60});
}
