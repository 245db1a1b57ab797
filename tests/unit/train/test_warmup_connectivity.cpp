// The full path of the warm-up uses every source a connectivity allows, for user
// connectivities too (a policy that allows "stem and previous block" is not narrowed to the
// previous block), and the built-in ones keep their K most recent sources.
#include <string>

#include <doctest/doctest.h>

#include <recnas/connect/chain.hpp>
#include <recnas/connect/dense.hpp>
#include <recnas/ops/efc.hpp>
#include <recnas/ops/fc.hpp>
#include <recnas/supernet/space.hpp>
#include <recnas/train/sampling.hpp>

namespace cn = recnas::connect;
namespace sn = recnas::supernet;
using idx = recnas::index;

namespace {
cn::source_set bit(int j) { return cn::source_set{1} << j; }

/// Reads the stem and/or the previous output (no max_inputs, no sample_set_of_size).
struct stem_or_previous {
  static constexpr std::string_view name = "stem_or_previous";
  static constexpr recnas::policy_kind kind = recnas::policy_kind::connectivity;
  static std::string check_set(idx block, cn::source_set set) {
    const cn::source_set allowed = 1U | bit(static_cast<int>(block));
    return set == 0 || (set & ~allowed) != 0 ? "only the stem and the previous output" : "";
  }
  static std::string check_single(idx block, int src) {
    return src == 0 || src == block ? "" : "only the stem or the previous output";
  }
  static cn::source_set sample_set(idx block, recnas::rng&) { return bit(static_cast<int>(block)); }
  static int sample_single(idx block, recnas::rng&) { return static_cast<int>(block); }
  static double count_sets(idx block) { return block == 0 ? 1.0 : 3.0; }
  static double count_singles(idx block) { return block == 0 ? 1.0 : 2.0; }
};

/// Sets of exactly two sources: no single source is valid on its own.
struct pairs_only : stem_or_previous {
  static constexpr std::string_view name = "pairs_only";
  static std::string check_set(idx block, cn::source_set set) {
    if (cn::count(set) != 2 || (set >> (block + 1)) != 0) return "exactly two earlier sources";
    return {};
  }
};
}  // namespace

TEST_CASE("widest_set: every allowed source, the built-ins' K most recent") {
  static_assert(cn::HasMaxInputs<cn::dense<4>> && cn::SamplesSetOfSize<cn::dense<4>>);
  static_assert(!cn::HasMaxInputs<stem_or_previous> && !cn::SamplesSetOfSize<stem_or_previous>);
  CHECK(cn::widest_set<cn::dense<4>>(0) == bit(0));
  CHECK(cn::widest_set<cn::dense<4>>(2) == (bit(0) | bit(1) | bit(2)));
  CHECK(cn::widest_set<cn::dense<4>>(6) == (bit(3) | bit(4) | bit(5) | bit(6)));
  CHECK(cn::widest_set<cn::chain>(5) == bit(5));
  CHECK(cn::widest_set<stem_or_previous>(0) == bit(0));
  CHECK(cn::widest_set<stem_or_previous>(3) == (bit(0) | bit(3)));  // not narrowed to {3}
  CHECK(cn::widest_set<pairs_only>(3) == (bit(2) | bit(3)));
}

TEST_CASE("the warm-up's full path of a user connectivity reads the stem and the previous block") {
  using S =
      sn::space<sn::blocks<4>, sn::dense_ops<recnas::ops::fc>, sn::sparse_ops<recnas::ops::efc>,
                sn::dense_dims<16, 32>, sn::sparse_dims<8>, stem_or_previous>;
  recnas::train::path_sampler<S> warm({.warmup_steps = 1000});
  recnas::rng g(3);
  int full = 0;
  for (int t = 0; t < 50; ++t) {
    const auto a = warm.sample(g, 0);  // step 0: the macro level is full with probability 1
    for (int i = 1; i < S::num_blocks; ++i) {
      const auto& b = a.blocks[static_cast<std::size_t>(i)];
      CHECK(b.dense_in == (bit(0) | bit(i)));
      CHECK(b.sparse_in == (bit(0) | bit(i)));
      full += b.dense_in == (bit(0) | bit(i));
    }
  }
  CHECK(full == 50 * (S::num_blocks - 1));
}
