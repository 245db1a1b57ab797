#pragma once
// Helpers shared by the data tests.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <doctest/doctest.h>

namespace data_test {

inline std::string shared(const std::string& rel) {
  return std::string(RECNAS_SHARED_DATA_DIR) + "/" + rel;
}

/// True when the real samples are present; otherwise prints why the test is skipped.
inline bool have_shared(const std::string& rel) {
  if (std::filesystem::exists(shared(rel))) return true;
  MESSAGE("skipped: real data sample " << shared(rel) << " is absent");
  return false;
}

/// A per-process temporary file, removed by the destructor.
struct temp_file {
  std::string path;
  explicit temp_file(const std::string& name, const std::string& content = {}) {
    path = (std::filesystem::temp_directory_path() /
            ("recnas_data_" + std::to_string(::getpid()) + "_" + name))
               .string();
    if (!content.empty() || name.find(".txt") != std::string::npos) write(content);
  }
  void write(const std::string& content) const {
    std::ofstream o(path, std::ios::binary | std::ios::trunc);
    o << content;
  }
  ~temp_file() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
    std::filesystem::remove(path + ".tmp", ec);
  }
};

}  // namespace data_test
