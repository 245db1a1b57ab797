#pragma once
// The files that make a long job resumable: JSON lines appended one result at a time (a line
// cut by a kill is dropped), whole files replaced atomically, and the settings guard that
// keeps a resumed run from mixing settings.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "recnas/core/error.hpp"
#include "recnas/search/driver.hpp"
#include "recnas/supernet/json.hpp"

namespace recnas::search {

/// Writes `text` to `p` through a temporary file and a rename, so readers never see half a file.
inline void write_file_atomic(const std::filesystem::path& p, const std::string& text) {
  const std::filesystem::path tmp = p.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw error("cannot write " + tmp.string());
  }
  std::filesystem::rename(tmp, p);
}

/// The JSON values of a JSON-lines file (none when it does not exist).
inline std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& p) {
  std::vector<nlohmann::json> v;
  std::ifstream in(p);
  std::string line;
  long long n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    try {
      v.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception&) {
      // A line cut by a kill is the only legitimate damage: it must be the last one.
      if (in.peek() == EOF) break;
      throw input_error(p.string(), static_cast<std::size_t>(n), "",
                        "not a JSON line (history damaged?)");
    }
  }
  return v;
}

/// Appends one JSON line and flushes it.
inline void append_jsonl(const std::filesystem::path& p, const nlohmann::json& j) {
  std::ofstream out(p, std::ios::app);
  out << j.dump() << '\n';
  out.flush();
}

/// The results of a search history's JSON lines, for run_search to replay.
inline std::vector<logged_result> replay_of(const std::vector<nlohmann::json>& lines) {
  std::vector<logged_result> v;
  for (const auto& j : lines) {
    logged_result r;
    r.hash = j.at("hash").get<std::uint64_t>();
    r.eval.objectives = j.at("objectives").get<std::vector<double>>();
    r.eval.feasible = j.at("feasible").get<bool>();
    v.push_back(std::move(r));
  }
  return v;
}

/// The results logged in a search history (JSONL), for run_search to replay.
inline std::vector<logged_result> replay_of(const std::filesystem::path& p) {
  return replay_of(read_jsonl(p));
}

/// Records a run's settings in `folder`/settings.json, or, when the folder holds a run
/// already, refuses different settings (naming the first that differs) so a resume cannot mix
/// runs.
inline void check_settings(const std::filesystem::path& folder, const nlohmann::json& settings) {
  const std::filesystem::path sp = folder / "settings.json";
  if (!std::filesystem::exists(sp)) {
    write_file_atomic(sp, settings.dump(2) + "\n");
    return;
  }
  const nlohmann::json old = supernet::read_json_file(sp.string());
  for (const auto& [k, v] : settings.items())
    if (!old.contains(k) || old[k] != v)
      throw input_error(sp.string(), 0, k,
                        "this folder holds a run with " + k + " = " +
                            (old.contains(k) ? old[k].dump() : "(not set)") + ", not " + v.dump() +
                            "; use another output folder or the same settings");
}

/// "arch:<16 hex digits of the hash>", the key of an architecture in the JSONL files.
inline std::string arch_key(std::uint64_t hash) {
  char key[40];
  std::snprintf(key, sizeof key, "arch:%016llx", static_cast<unsigned long long>(hash));
  return key;
}

}  // namespace recnas::search
