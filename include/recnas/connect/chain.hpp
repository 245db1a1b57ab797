#pragma once
// Chain connectivity: every input of block i is the previous output (source i: the stem for
// block 0, block i-1 otherwise). A plain stacked network, e.g. a DLRM-like tower.

#include <string>
#include <string_view>

#include "recnas/connect/concepts.hpp"

namespace recnas::connect {

struct chain {
  static constexpr std::string_view name = "chain";
  static constexpr policy_kind kind = policy_kind::connectivity;
  static constexpr int max_inputs = 1;

  static std::string check_set(index block, source_set set) {
    if (set != (source_set{1} << block)) {
      return "chain connectivity reads only the previous output (source " + std::to_string(block) +
             ")";
    }
    return {};
  }
  static std::string check_single(index block, int src) {
    if (src != block) {
      return "chain connectivity reads only the previous output (source " + std::to_string(block) +
             ")";
    }
    return {};
  }
  static source_set sample_set(index block, rng&) { return source_set{1} << block; }
  static int sample_single(index block, rng&) { return static_cast<int>(block); }
  static double count_sets(index) { return 1.0; }
  static double count_singles(index) { return 1.0; }
};

}  // namespace recnas::connect
