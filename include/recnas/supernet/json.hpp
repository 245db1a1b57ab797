#pragma once
// JSON for architectures (opt-in header: needs nlohmann/json). Two formats are read:
//  * recnas's own: {"format": "recnas-architecture", "version": 1, "space": "nasrec-full",
//    "blocks": [{"dense_op": "fc", "sparse_op": "efc", "dense_in": [0, 2], "sparse_in": [0],
//    "left": 0, "right": 1, "dense_dim": 128, "sparse_dim": 32,
//    "mergers": ["dense_to_sparse"]}, ...]}; a block with extra operators (micro any-path) also
//    has "extra_dense_ops"/"extra_sparse_ops": lists of operator names
//    (active_nodes with several dense or sparse nodes in the reference's format).
//  * the reference's released configs (NasRec `configs/<ds>/*.json`: "macro", "micro",
//    "config", ...), see nasrec-spec.md section 2.2. Source lists may come in any order.
// Errors are recnas::input_error naming the field, e.g. `macro[3].dense_idx: ...`.

#include <bit>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "recnas/core/error.hpp"
#include "recnas/supernet/architecture.hpp"

namespace recnas::supernet {

namespace detail {

inline const nlohmann::json& member(const nlohmann::json& j, const char* key,
                                    const std::string& file, const std::string& path) {
  if (!j.is_object() || !j.contains(key)) {
    throw input_error(file, 0, path.empty() ? key : path + "." + key, "missing field");
  }
  return j.at(key);
}

inline long long as_int(const nlohmann::json& v, const std::string& file, const std::string& path) {
  if (v.is_number_integer() || v.is_number_unsigned()) return v.get<long long>();
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (d == static_cast<double>(static_cast<long long>(d))) return static_cast<long long>(d);
  }
  throw input_error(file, 0, path, "expected an integer, got " + v.dump());
}

inline connect::source_set as_set(const nlohmann::json& v, const std::string& file,
                                  const std::string& path) {
  if (!v.is_array()) throw input_error(file, 0, path, "expected a list of source indices");
  connect::source_set s = 0;
  for (std::size_t k = 0; k < v.size(); ++k) {
    const long long j = as_int(v[k], file, path + "[" + std::to_string(k) + "]");
    if (j < 0 || j > 62) {
      throw input_error(file, 0, path, "source index " + std::to_string(j) + " out of range");
    }
    if (connect::contains(s, static_cast<int>(j))) {
      throw input_error(file, 0, path, "source " + std::to_string(j) + " listed twice");
    }
    s |= connect::source_set{1} << j;
  }
  return s;
}

inline int as_single(const nlohmann::json& v, const std::string& file, const std::string& path) {
  if (v.is_array()) {
    if (v.size() != 1) {
      throw input_error(file, 0, path,
                        "expected exactly one source, got " + std::to_string(v.size()));
    }
    return static_cast<int>(as_int(v[0], file, path + "[0]"));
  }
  return static_cast<int>(as_int(v, file, path));
}

inline nlohmann::json set_to_json(connect::source_set s) {
  nlohmann::json a = nlohmann::json::array();
  for (int j = 0; j < 64; ++j) {
    if (connect::contains(s, j)) a.push_back(j);
  }
  return a;
}

template <class S>
constexpr std::string_view reference_name_of() {
  if constexpr (requires { S::reference_name; }) {
    return S::reference_name;
  } else {
    return {};
  }
}

}  // namespace detail

/// Whether j is one of the reference's configs (rather than recnas's format).
[[nodiscard]] inline bool is_reference_json(const nlohmann::json& j) {
  return j.is_object() && j.contains("macro") && j.contains("micro");
}

/// The space a JSON file names: "nasrec-full"/"nasrec-small" (reference "xlarge"/"autoctr"),
/// or empty when it does not say.
[[nodiscard]] inline std::string space_name_of(const nlohmann::json& j) {
  if (!j.is_object()) return {};
  if (is_reference_json(j) && j.contains("config") && j["config"].is_string()) {
    const auto c = j["config"].get<std::string>();
    if (c == "xlarge") return "nasrec-full";
    if (c == "autoctr") return "nasrec-small";
    return c;
  }
  if (j.contains("space") && j["space"].is_string()) return j["space"].get<std::string>();
  return {};
}

/// Imports one of the reference's released configs into space S.
template <class S>
[[nodiscard]] architecture from_reference_json(const nlohmann::json& j,
                                               const std::string& file = {}) {
  using detail::as_int;
  using detail::member;
  if (!j.is_object()) throw input_error(file, 0, "", "expected a JSON object");
  constexpr auto ref = detail::reference_name_of<S>();
  if (j.contains("config")) {
    if (!j["config"].is_string()) throw input_error(file, 0, "config", "expected a string");
    const auto c = j["config"].get<std::string>();
    if (!ref.empty() && c != ref) {
      throw input_error(file, 0, "config",
                        "\"" + c + "\" is not the space being read (" + std::string(S::name) +
                            " = reference \"" + std::string(ref) + "\")");
    }
  }
  const auto& macro = member(j, "macro", file, "");
  const auto& micro = member(j, "micro", file, "");
  if (!macro.is_array()) throw input_error(file, 0, "macro", "expected a list of blocks");
  if (!micro.is_array()) throw input_error(file, 0, "micro", "expected a list of blocks");
  if (j.contains("num_blocks") && as_int(j["num_blocks"], file, "num_blocks") != S::num_blocks) {
    throw input_error(file, 0, "num_blocks",
                      "the space has " + std::to_string(S::num_blocks) + " blocks");
  }
  if (static_cast<int>(macro.size()) != S::num_blocks) {
    throw input_error(file, 0, "macro",
                      "has " + std::to_string(macro.size()) + " blocks, the space has " +
                          std::to_string(S::num_blocks));
  }
  if (static_cast<int>(micro.size()) != S::num_blocks) {
    throw input_error(file, 0, "micro",
                      "has " + std::to_string(micro.size()) + " blocks, the space has " +
                          std::to_string(S::num_blocks));
  }
  const int dsi = S::merger_index("dense_to_sparse");
  const int fm = S::merger_index("sparse_to_dense");
  architecture a;
  for (int i = 0; i < S::num_blocks; ++i) {
    const std::string mp = "macro[" + std::to_string(i) + "]";
    const std::string up = "micro[" + std::to_string(i) + "]";
    const auto& ma = macro[static_cast<std::size_t>(i)];
    const auto& mi = micro[static_cast<std::size_t>(i)];
    block_choice b;
    b.dense_in = detail::as_set(member(ma, "dense_idx", file, mp), file, mp + ".dense_idx");
    b.sparse_in = detail::as_set(member(ma, "sparse_idx", file, mp), file, mp + ".sparse_idx");
    b.left =
        detail::as_single(member(ma, "dense_left_idx", file, mp), file, mp + ".dense_left_idx");
    b.right =
        detail::as_single(member(ma, "dense_right_idx", file, mp), file, mp + ".dense_right_idx");
    // active_nodes: the block's operators in the space's node order (dense, then sparse). The
    // first dense and first sparse node are the main operators, further ones the extras
    // (the reference's micro any-path sums them).
    const auto& nodes = member(mi, "active_nodes", file, up);
    const std::string np = up + ".active_nodes";
    if (!nodes.is_array() || nodes.size() < 2) {
      throw input_error(file, 0, np, "expected a list [dense node(s)..., sparse node(s)...]");
    }
    std::uint32_t dense_nodes = 0, sparse_nodes = 0;
    for (std::size_t k = 0; k < nodes.size(); ++k) {
      const long long n = as_int(nodes[k], file, np + "[" + std::to_string(k) + "]");
      if (n < 0 || n >= S::num_dense_ops + S::num_sparse_ops) {
        throw input_error(file, 0, np,
                          "node " + std::to_string(n) + " is not an operator of " +
                              std::string(S::name) + " (0.." +
                              std::to_string(S::num_dense_ops + S::num_sparse_ops - 1) + ")");
      }
      auto& set = n < S::num_dense_ops ? dense_nodes : sparse_nodes;
      const int bit = static_cast<int>(n < S::num_dense_ops ? n : n - S::num_dense_ops);
      if (((set >> bit) & 1U) != 0) {
        throw input_error(file, 0, np, "node " + std::to_string(n) + " listed twice");
      }
      set |= 1U << bit;
    }
    if (dense_nodes == 0) {
      throw input_error(file, 0, np,
                        "no dense operator node (0.." + std::to_string(S::num_dense_ops - 1) + ")");
    }
    if (sparse_nodes == 0) {
      throw input_error(file, 0, np,
                        "no sparse operator node (" + std::to_string(S::num_dense_ops) + ".." +
                            std::to_string(S::num_dense_ops + S::num_sparse_ops - 1) + ")");
    }
    b.dense_op = std::countr_zero(dense_nodes);
    b.sparse_op = std::countr_zero(sparse_nodes);
    b.extra_dense_ops = dense_nodes & (dense_nodes - 1);
    b.extra_sparse_ops = sparse_nodes & (sparse_nodes - 1);
    b.d = as_int(member(mi, "dense_in_dims", file, up), file, up + ".dense_in_dims");
    b.s = as_int(member(mi, "sparse_in_dims", file, up), file, up + ".sparse_in_dims");
    const long long bit_dsi =
        as_int(member(mi, "dense_sparse_interact", file, up), file, up + ".dense_sparse_interact");
    const long long bit_fm = as_int(member(mi, "deep_fm", file, up), file, up + ".deep_fm");
    if (bit_dsi != 0 && bit_dsi != 1) {
      throw input_error(file, 0, up + ".dense_sparse_interact", "expected 0 or 1");
    }
    if (bit_fm != 0 && bit_fm != 1) throw input_error(file, 0, up + ".deep_fm", "expected 0 or 1");
    if (bit_dsi != 0) {
      if (dsi < 0)
        throw input_error(file, 0, up + ".dense_sparse_interact",
                          "the space has no dense_to_sparse merger");
      b.mergers |= 1U << dsi;
    }
    if (bit_fm != 0) {
      if (fm < 0)
        throw input_error(file, 0, up + ".deep_fm", "the space has no sparse_to_dense merger");
      b.mergers |= 1U << fm;
    }
    a.blocks.push_back(b);
  }
  if (auto issue = check<S>(a)) {
    const std::string mp = "macro[" + std::to_string(issue->block) + "]";
    const std::string up = "micro[" + std::to_string(issue->block) + "]";
    std::string field;
    switch (issue->field) {
      case arch_field::blocks:
        field = "macro";
        break;
      case arch_field::dense_op:
      case arch_field::sparse_op:
        field = up + ".active_nodes";
        break;
      case arch_field::dense_in:
        field = mp + ".dense_idx";
        break;
      case arch_field::sparse_in:
        field = mp + ".sparse_idx";
        break;
      case arch_field::left:
        field = mp + ".dense_left_idx";
        break;
      case arch_field::right:
        field = mp + ".dense_right_idx";
        break;
      case arch_field::dense_dim:
        field = up + ".dense_in_dims";
        break;
      case arch_field::sparse_dim:
        field = up + ".sparse_in_dims";
        break;
      case arch_field::mergers:
        field = up;
        break;
      case arch_field::extra_dense_ops:
      case arch_field::extra_sparse_ops:
        field = up + ".active_nodes";
        break;
    }
    throw input_error(file, 0, field, issue->reason);
  }
  return a;
}

/// Reads recnas's own format.
template <class S>
[[nodiscard]] architecture from_recnas_json(const nlohmann::json& j, const std::string& file = {}) {
  using detail::as_int;
  using detail::member;
  if (!j.is_object()) throw input_error(file, 0, "", "expected a JSON object");
  if (j.contains("format") && j["format"] != "recnas-architecture") {
    throw input_error(file, 0, "format", "expected \"recnas-architecture\"");
  }
  if (j.contains("version") && as_int(j["version"], file, "version") != 1) {
    throw input_error(file, 0, "version", "only version 1 is known");
  }
  if (j.contains("space")) {
    if (!j["space"].is_string()) throw input_error(file, 0, "space", "expected a string");
    const auto sp = j["space"].get<std::string>();
    if (S::name != std::string_view("custom") && sp != S::name) {
      throw input_error(
          file, 0, "space",
          "\"" + sp + "\" is not the space being read (" + std::string(S::name) + ")");
    }
  }
  const auto& blocks = member(j, "blocks", file, "");
  if (!blocks.is_array()) throw input_error(file, 0, "blocks", "expected a list of blocks");
  architecture a;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const std::string p = "blocks[" + std::to_string(i) + "]";
    const auto& bj = blocks[i];
    block_choice b;
    auto op_index = [&](const char* key, auto lookup) {
      const auto& v = member(bj, key, file, p);
      if (!v.is_string()) throw input_error(file, 0, p + "." + key, "expected an operator name");
      const int k = lookup(v.template get<std::string>());
      if (k < 0) {
        throw input_error(file, 0, p + "." + key,
                          "\"" + v.template get<std::string>() + "\" is not an operator of " +
                              std::string(S::name));
      }
      return k;
    };
    b.dense_op = op_index("dense_op", [](const std::string& n) { return S::dense_op_index(n); });
    b.sparse_op = op_index("sparse_op", [](const std::string& n) { return S::sparse_op_index(n); });
    b.dense_in = detail::as_set(member(bj, "dense_in", file, p), file, p + ".dense_in");
    b.sparse_in = detail::as_set(member(bj, "sparse_in", file, p), file, p + ".sparse_in");
    b.left = detail::as_single(member(bj, "left", file, p), file, p + ".left");
    b.right = detail::as_single(member(bj, "right", file, p), file, p + ".right");
    b.d = as_int(member(bj, "dense_dim", file, p), file, p + ".dense_dim");
    b.s = as_int(member(bj, "sparse_dim", file, p), file, p + ".sparse_dim");
    auto extra_ops = [&](const char* key, auto lookup) {
      std::uint32_t set = 0;
      if (!bj.contains(key)) return set;
      const auto& v = bj[key];
      const std::string f = p + "." + key;
      if (!v.is_array()) throw input_error(file, 0, f, "expected a list of operator names");
      for (const auto& on : v) {
        const int k = on.is_string() ? lookup(on.template get<std::string>()) : -1;
        if (k < 0)
          throw input_error(file, 0, f,
                            on.dump() + " is not an operator of " + std::string(S::name));
        set |= 1U << k;
      }
      return set;
    };
    b.extra_dense_ops =
        extra_ops("extra_dense_ops", [](const std::string& n) { return S::dense_op_index(n); });
    b.extra_sparse_ops =
        extra_ops("extra_sparse_ops", [](const std::string& n) { return S::sparse_op_index(n); });
    if (bj.contains("mergers")) {
      const auto& m = bj["mergers"];
      if (!m.is_array())
        throw input_error(file, 0, p + ".mergers", "expected a list of merger names");
      for (const auto& mn : m) {
        const int k = mn.is_string() ? S::merger_index(mn.get<std::string>()) : -1;
        if (k < 0)
          throw input_error(file, 0, p + ".mergers",
                            mn.dump() + " is not a merger of " + std::string(S::name));
        b.mergers |= 1U << k;
      }
    }
    a.blocks.push_back(b);
  }
  validate<S>(a, file);
  return a;
}

/// Reads either format.
template <class S>
[[nodiscard]] architecture from_json(const nlohmann::json& j, const std::string& file = {}) {
  return is_reference_json(j) ? from_reference_json<S>(j, file) : from_recnas_json<S>(j, file);
}

[[nodiscard]] inline nlohmann::json read_json_file(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw input_error(file, 0, "", "cannot open the file");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw input_error(file, 0, "", std::string("not valid JSON: ") + e.what());
  }
}

template <class S>
[[nodiscard]] architecture read_architecture(const std::string& file) {
  return from_json<S>(read_json_file(file), file);
}

template <class S>
[[nodiscard]] nlohmann::json to_json(const architecture& a) {
  nlohmann::json j;
  j["format"] = "recnas-architecture";
  j["version"] = 1;
  j["space"] = std::string(S::name);
  j["hash"] = a.hash();
  auto& bl = j["blocks"] = nlohmann::json::array();
  for (const auto& b : a.blocks) {
    nlohmann::json m = nlohmann::json::array();
    for (int k = 0; k < S::num_mergers; ++k) {
      if (b.merger(k)) m.push_back(std::string(S::merger_name(k)));
    }
    nlohmann::json bj = {{"dense_op", std::string(S::dense_op_name(b.dense_op))},
                         {"sparse_op", std::string(S::sparse_op_name(b.sparse_op))},
                         {"dense_in", detail::set_to_json(b.dense_in)},
                         {"sparse_in", detail::set_to_json(b.sparse_in)},
                         {"left", b.left},
                         {"right", b.right},
                         {"dense_dim", b.d},
                         {"sparse_dim", b.s},
                         {"mergers", m}};
    // Extra operators only when there are some: single-operator files stay as they were.
    if (b.extra_dense() != 0) {
      auto& e = bj["extra_dense_ops"] = nlohmann::json::array();
      for_each_bit(b.extra_dense(), [&](int k) { e.push_back(std::string(S::dense_op_name(k))); });
    }
    if (b.extra_sparse() != 0) {
      auto& e = bj["extra_sparse_ops"] = nlohmann::json::array();
      for_each_bit(b.extra_sparse(),
                   [&](int k) { e.push_back(std::string(S::sparse_op_name(k))); });
    }
    bl.push_back(std::move(bj));
  }
  return j;
}

/// The reference's format (for spaces that have a reference name).
template <class S>
[[nodiscard]] nlohmann::json to_reference_json(const architecture& a) {
  const int dsi = S::merger_index("dense_to_sparse");
  const int fm = S::merger_index("sparse_to_dense");
  nlohmann::json j;
  auto& mac = j["macro"] = nlohmann::json::array();
  auto& mic = j["micro"] = nlohmann::json::array();
  for (const auto& b : a.blocks) {
    mac.push_back({{"dense_idx", detail::set_to_json(b.dense_in)},
                   {"sparse_idx", detail::set_to_json(b.sparse_in)},
                   {"dense_left_idx", {b.left}},
                   {"dense_right_idx", {b.right}}});
    nlohmann::json nodes = nlohmann::json::array();
    for_each_bit(b.dense_op_set(), [&](int k) { nodes.push_back(k); });
    for_each_bit(b.sparse_op_set(), [&](int k) { nodes.push_back(S::num_dense_ops + k); });
    mic.push_back({{"active_nodes", nodes},
                   {"dense_in_dims", b.d},
                   {"sparse_in_dims", b.s},
                   {"dense_sparse_interact", dsi >= 0 && b.merger(dsi) ? 1 : 0},
                   {"deep_fm", fm >= 0 && b.merger(fm) ? 1 : 0}});
  }
  j["num_blocks"] = a.blocks.size();
  j["use_layernorm"] = 0;
  if (constexpr auto ref = detail::reference_name_of<S>(); !ref.empty())
    j["config"] = std::string(ref);
  return j;
}

}  // namespace recnas::supernet
