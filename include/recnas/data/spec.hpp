#pragma once
// The `--data` argument shared by every recnas subcommand:
//   criteo:PATH | avazu:PATH | kdd:PATH[,profile=PATH] | csv:PATH,schema=FILE | cache:PATH |
//   synthetic[:rows=N,seed=S,dense=Nd,categorical=F,positive_rate=P,materialize=0|1]
// with, on the text formats, either `cap=N` (the reference's modulo hashing into tables of at
// most N rows) or, by default, tables sized from the training split's ids (`min_count=N`: ids
// seen fewer than N times, default 2, share one out-of-vocabulary row; see open_split).
// A CSV schema file is JSON:
//   {"delimiter": ",", "header": true, "label": "click", "label_is_count": false,
//    "dense": ["I1", {"column": "I2", "integer": true}],
//    "categorical": [{"column": "C1", "table_size": 100000, "encoding": "hex"}]}
// This header needs nlohmann/json (the rest of recnas/data does not).

#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "recnas/core/error.hpp"
#include "recnas/data/dataset.hpp"
#include "recnas/data/preprocess.hpp"
#include "recnas/data/split.hpp"
#include "recnas/data/synthetic.hpp"
#include "recnas/data/text.hpp"

namespace recnas::data {

struct data_spec {
  std::string kind;  // criteo, avazu, kdd, csv, cache, synthetic
  std::string path;
  std::map<std::string, std::string> options;

  [[nodiscard]] bool is_text() const noexcept {
    return kind == "criteo" || kind == "avazu" || kind == "kdd" || kind == "csv";
  }
  [[nodiscard]] std::int64_t int_option(const std::string& key, std::int64_t fallback) const {
    const auto it = options.find(key);
    if (it == options.end()) return fallback;
    try {
      std::size_t used = 0;
      const auto v = std::stoll(it->second, &used);
      if (used == it->second.size()) return v;
    } catch (const std::exception&) {
    }
    throw input_error("--data", 0, key, "expected an integer, got '" + it->second + "'");
  }
  [[nodiscard]] double real_option(const std::string& key, double fallback) const {
    const auto it = options.find(key);
    if (it == options.end()) return fallback;
    try {
      std::size_t used = 0;
      const auto v = std::stod(it->second, &used);
      if (used == it->second.size()) return v;
    } catch (const std::exception&) {
    }
    throw input_error("--data", 0, key, "expected a number, got '" + it->second + "'");
  }
};

[[nodiscard]] inline data_spec parse_data_spec(const std::string& text) {
  data_spec s;
  const auto colon = text.find(':');
  s.kind = text.substr(0, colon);
  std::string rest = colon == std::string::npos ? "" : text.substr(colon + 1);
  const bool known = s.kind == "criteo" || s.kind == "avazu" || s.kind == "kdd" ||
                     s.kind == "csv" || s.kind == "cache" || s.kind == "synthetic";
  if (!known)
    throw input_error("--data", 0, "",
                      "unknown data kind '" + s.kind + "' (criteo|avazu|kdd|csv|cache|synthetic)");
  // PATH[,key=value]...; synthetic has only key=value pairs.
  std::size_t i = 0;
  bool first = s.kind != "synthetic";
  while (i <= rest.size() && !rest.empty()) {
    const auto comma = rest.find(',', i);
    const std::string part = rest.substr(i, comma - i);
    if (first) {
      s.path = part;
      first = false;
    } else if (!part.empty()) {
      const auto eq = part.find('=');
      if (eq == std::string::npos) throw input_error("--data", 0, part, "expected key=value");
      s.options[part.substr(0, eq)] = part.substr(eq + 1);
    }
    if (comma == std::string::npos) break;
    i = comma + 1;
  }
  if (s.kind != "synthetic" && s.path.empty())
    throw input_error("--data", 0, s.kind, "needs a PATH");
  if (s.kind == "csv" && !s.options.contains("schema"))
    throw input_error("--data", 0, "schema", "csv:PATH needs ,schema=FILE");
  return s;
}

/// Reads a CSV schema file (format in the header comment).
[[nodiscard]] inline csv_schema read_csv_schema(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw input_error(path, 0, "", "cannot open the schema file");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const std::exception& e) {
    throw input_error(path, 0, "", std::string("not valid JSON: ") + e.what());
  }
  csv_schema cs;
  try {
    cs.name = j.value("name", std::string("csv"));
    const auto d = j.value("delimiter", std::string(","));
    cs.delimiter = d == "\\t" || d == "tab" ? '\t' : d.empty() ? ',' : d[0];
    cs.header = j.value("header", true);
    cs.label = j.at("label").get<std::string>();
    cs.label_is_count = j.value("label_is_count", false);
    for (const auto& c : j.value("dense", nlohmann::json::array())) {
      if (c.is_string())
        cs.dense.push_back({c.get<std::string>(), false});
      else
        cs.dense.push_back({c.at("column").get<std::string>(), c.value("integer", false)});
    }
    for (const auto& c : j.at("categorical")) {
      csv_schema::categorical_column cc;
      cc.column = c.at("column").get<std::string>();
      cc.table_size = c.at("table_size").get<std::int64_t>();
      const auto enc = c.value("encoding", std::string("hex"));
      cc.encoding = enc == "hex"       ? column_kind::cat_hex
                    : enc == "decimal" ? column_kind::cat_decimal
                    : enc == "mod31"   ? column_kind::cat_mod31
                    : enc == "string"
                        ? column_kind::cat_string
                        : throw input_error(path, 0, cc.column,
                                            "encoding must be hex, decimal, mod31 or string");
      cs.categorical.push_back(cc);
    }
  } catch (const nlohmann::json::exception& e) {
    throw input_error(path, 0, "", std::string("schema: ") + e.what());
  }
  return cs;
}

/// The text format of a text spec (criteo, avazu, kdd, csv).
[[nodiscard]] inline text_format text_format_of(const data_spec& s) {
  const auto cap = s.int_option("cap", 0);
  if (s.kind == "criteo") return criteo_format(cap);
  if (s.kind == "avazu") return avazu_format(cap);
  if (s.kind == "kdd") {
    std::shared_ptr<const user_profile> prof;
    if (const auto it = s.options.find("profile"); it != s.options.end())
      prof = read_user_profile(it->second);
    return kdd_format(std::move(prof), cap);
  }
  if (s.kind == "csv") return csv_format(read_csv_schema(s.options.at("schema")), cap);
  throw input_error("--data", 0, s.kind, "not a text format");
}

/// The synthetic generator configuration of a `synthetic:...` spec.
[[nodiscard]] inline synthetic_config synthetic_config_of(const data_spec& s) {
  synthetic_config c;
  c.seed = static_cast<std::uint64_t>(s.int_option("seed", static_cast<std::int64_t>(c.seed)));
  c.num_dense = s.int_option("dense", c.num_dense);
  c.num_categorical = s.int_option("categorical", c.num_categorical);
  c.positive_rate = s.real_option("positive_rate", c.positive_rate);
  return c;
}

/// Opens any spec as a dataset. Text files are parsed into memory (convert large files to a
/// cache first: `recnas data convert`); synthetic rows are generated on demand.
[[nodiscard]] inline dataset open_dataset(const data_spec& s, bool skip_bad_rows = false) {
  if (s.kind == "cache") return dataset::from_cache(s.path);
  if (s.kind == "synthetic") {
    // Up to 4M rows (~640 MB) are generated once into memory; beyond, rows are computed on demand.
    const auto rows = s.int_option("rows", 1'000'000);
    return dataset::synthetic(synthetic_config_of(s), rows,
                              s.int_option("materialize", rows <= 4'000'000) != 0);
  }
  text_reader r(text_format_of(s), s.path, {.skip_bad_rows = skip_bad_rows});
  const raw_block raw = r.read_all();
  return dataset::in_memory(preprocess(raw, r.features()), r.features());
}

/// A dataset with its AutoCTR 8:1:1 split (stratified 10-fold, seed 2018: folds 0-7 train, 8
/// validation, 9 test) and how its embedding tables were sized.
struct split_dataset {
  dataset data;
  std::vector<std::uint32_t> train, val, test;
  std::string tables;           // the table-sizing rule, for people
  std::int64_t table_rows = 0;  // rows over all tables
};

/// The default `min_count`: an id must be seen twice in training to get a row of its own. Ids
/// seen once are, like ids never seen, what test rows mostly hold on small data; pooling them
/// trains the out-of-vocabulary row that unseen ids then use.
inline constexpr std::int64_t default_min_count = 2;

/// Opens `s` with its AutoCTR split. Text data without `cap=` get tables sized from the ids of
/// the training rows only (validation and test ids never give a table row, so choices made on
/// them stay honest); with `cap=N` they use the reference's modulo hashing into min(N, size)
/// rows. Caches and synthetic data keep their own table sizes.
[[nodiscard]] inline split_dataset open_split(const data_spec& s, bool skip_bad_rows = false) {
  if (s.options.contains("cap") && s.int_option("cap", 0) < 2)
    throw input_error("--data", 0, "cap", "cap=N needs N >= 2 rows per table");
  const auto min_count = s.int_option("min_count", default_min_count);
  if (min_count < 1) throw input_error("--data", 0, "min_count", "min_count=N needs N >= 1");
  const bool vocabulary = s.is_text() && !s.options.contains("cap");
  if (!vocabulary && s.options.contains("min_count"))
    throw input_error("--data", 0, "min_count",
                      s.is_text() ? "min_count sizes tables from the data; cap= hashes into "
                                    "fixed-size tables instead: give one of them"
                                  : "min_count applies to text data only");
  const auto make = [](dataset data, std::span<const std::uint8_t> folds, std::string tables) {
    std::int64_t rows = 0;
    for (auto t : data.features().table_sizes) rows += t;
    return split_dataset{std::move(data),
                         rows_of(folds, split_part::train),
                         rows_of(folds, split_part::val),
                         rows_of(folds, split_part::test),
                         std::move(tables),
                         rows};
  };
  if (!vocabulary) {
    dataset data = open_dataset(s, skip_bad_rows);
    const auto folds = stratified_folds(data.labels());
    return make(std::move(data), folds,
                s.is_text()
                    ? "modulo hashing into at most " + s.options.at("cap") + " rows per table"
                    : "the data's own table sizes");
  }
  text_reader r(text_format_of(s), s.path, {.skip_bad_rows = skip_bad_rows});
  const raw_block raw = r.read_all();
  std::vector<std::uint8_t> y(raw.labels.size());
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = raw.labels[i] != 0 ? 1 : 0;
  const auto folds = stratified_folds(y);
  const auto train = rows_of(folds, split_part::train);
  frequency_vocabulary vocab(raw.nc);
  vocab.count(raw, std::span<const std::uint32_t>(train));
  vocab.finalize(static_cast<std::uint64_t>(min_count));
  const schema sc = vocab.apply(r.features());
  return make(dataset::in_memory(preprocess(raw, sc, &vocab), sc), folds,
              "sized from " + std::to_string(train.size()) +
                  " training rows: ids seen >= " + std::to_string(min_count) +
                  " times get a row, others share the out-of-vocabulary row");
}

}  // namespace recnas::data
