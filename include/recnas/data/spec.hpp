#pragma once
// The `--data` argument shared by every recnas subcommand:
//   criteo:PATH | avazu:PATH | kdd:PATH[,profile=PATH] | csv:PATH,schema=FILE | cache:PATH |
//   synthetic[:rows=N,seed=S,dense=Nd,categorical=F,positive_rate=P,materialize=0|1]
// with an optional `cap=N` (table-size cap) on the text formats. A CSV schema file is JSON:
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

#include <nlohmann/json.hpp>

#include "recnas/core/error.hpp"
#include "recnas/data/dataset.hpp"
#include "recnas/data/preprocess.hpp"
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

}  // namespace recnas::data
