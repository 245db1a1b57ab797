// Compile-time composition of spaces, architecture validation, hashing, JSON (ours and the
// reference's) and the space size.
#include <cmath>
#include <set>
#include <string>

#include <doctest/doctest.h>

#include <recnas/supernet/json.hpp>

#include "../../../examples/custom_operator/scaled_linear.hpp"
#include "common.hpp"

namespace sn = recnas::supernet;
namespace ops = recnas::ops;

namespace {

/// A user-defined connectivity: the stem and/or the previous output.
struct stem_or_previous {
  static constexpr std::string_view name = "stem_or_previous";
  static constexpr recnas::policy_kind kind = recnas::policy_kind::connectivity;
  static std::string check_set(recnas::index block, recnas::connect::source_set set) {
    const recnas::connect::source_set allowed = 1U | (recnas::connect::source_set{1} << block);
    if (set == 0 || (set & ~allowed) != 0) return "only the stem and the previous output";
    return {};
  }
  static std::string check_single(recnas::index block, int src) {
    return src == 0 || src == block ? std::string{} : "only the stem or the previous output";
  }
  static recnas::connect::source_set sample_set(recnas::index block, recnas::rng& g) {
    if (block == 0) return 1;
    const auto k = g.below(3);
    return k == 0   ? 1U
           : k == 1 ? (recnas::connect::source_set{1} << block)
                    : (1U | (recnas::connect::source_set{1} << block));
  }
  static int sample_single(recnas::index block, recnas::rng& g) {
    return g.bernoulli(0.5) ? 0 : static_cast<int>(block);
  }
  static double count_sets(recnas::index block) { return block == 0 ? 1.0 : 3.0; }
  static double count_singles(recnas::index block) { return block == 0 ? 1.0 : 2.0; }
};
static_assert(recnas::connect::Connectivity<stem_or_previous>);

// Two more spaces: other operator sets, block counts, dims and connectivities.
using chain_space = sn::space<sn::blocks<3>, sn::dense_ops<ops::fc, ops::sum, my_ops::tanh_linear>,
                              sn::sparse_ops<ops::efc>, sn::dense_dims<8, 16, 24>,
                              sn::sparse_dims<4, 8>, recnas::connect::chain>;
// Parts in another order, a sparse_to_dense merger only, zero/identity operators.
using odd_space =
    sn::space<stem_or_previous, sn::sparse_dims<8, 16>, sn::blocks<5>,
              sn::dense_ops<ops::dot_product, ops::identity_dense, ops::sigmoid_gating>,
              sn::sparse_ops<ops::attention, ops::zero_sparse>, sn::mergers<ops::sparse_to_dense>,
              sn::dense_dims<16, 32, 48>>;

}  // namespace

TEST_CASE("the predefined spaces: vocabulary and size") {
  using F = sn::nasrec_full;
  using S = sn::nasrec_small;
  CHECK(F::num_blocks == 7);
  CHECK(F::num_dense_ops == 4);
  CHECK(F::num_sparse_ops == 2);
  CHECK(F::num_mergers == 2);
  CHECK(F::dense_op_name(2) == "sigmoid_gating");
  CHECK(F::sparse_op_name(0) == "attention");  // reference node order: ..., 4 Attention, 5 EFC
  CHECK(S::dense_op_name(1) == "dot_product");
  CHECK(S::sparse_op_name(0) == "efc");
  CHECK(F::max_dense_dim == 1024);
  CHECK(F::max_sparse_dim == 64);
  CHECK(F::max_merger_tokens() == 8);
  CHECK(F::dense_op_index("sum") == 3);
  CHECK(F::dense_op_index("nope") == -1);
  // Per-block macro options (S_n)^2 n^2 for n = 1..7 (reference section 1.5).
  using C = F::connectivity;
  const double expect[] = {1, 36, 441, 3600, 22500, 112896, 470596};
  for (int i = 0; i < 7; ++i) {
    CHECK(C::count_sets(i) * C::count_sets(i) * C::count_singles(i) * C::count_singles(i) ==
          expect[i]);
  }
  // ~8.1e43 and ~4.9e39 encodings.
  CHECK(std::pow(10.0, sn::log10_space_size<F>() - 43) == doctest::Approx(8.1).epsilon(0.01));
  CHECK(std::pow(10.0, sn::log10_space_size<S>() - 39) == doctest::Approx(4.9).epsilon(0.01));
}

TEST_CASE("composed spaces: other operator sets, block counts and connectivities") {
  CHECK(chain_space::num_blocks == 3);
  CHECK(chain_space::num_mergers == 0);
  CHECK(chain_space::dense_op_name(2) == "tanh_linear");
  CHECK(odd_space::num_blocks == 5);
  CHECK(odd_space::merger_name(0) == "sparse_to_dense");
  CHECK(sn::log10_space_size<chain_space>() == doctest::Approx(3 * std::log10(3.0 * 1 * 3 * 2)));
  // Chain connectivity: everything reads the previous output.
  recnas::rng g(3);
  for (int t = 0; t < 20; ++t) {
    const auto a = sn::random_architecture<chain_space>(g);
    CHECK_FALSE(sn::check<chain_space>(a).has_value());
    for (int i = 0; i < 3; ++i) {
      CHECK(a.blocks[static_cast<std::size_t>(i)].dense_in ==
            (recnas::connect::source_set{1} << i));
      CHECK(a.blocks[static_cast<std::size_t>(i)].left == i);
    }
    const auto b = sn::random_architecture<odd_space>(g);
    CHECK_FALSE(sn::check<odd_space>(b).has_value());
  }
  auto a = sn::random_architecture<chain_space>(g);
  a.blocks[2].dense_in = 1;
  const auto issue = sn::check<chain_space>(a);
  REQUIRE(issue.has_value());
  CHECK(issue->path() == "blocks[2].dense_in");
  CHECK(issue->reason.find("previous output (source 2)") != std::string::npos);
}

TEST_CASE_TEMPLATE("composed spaces run: gradients and weight sharing", S, chain_space, odd_space) {
  const sn::data_shape ds{5, {9, 4, 6}};
  recnas::rng g(17);
  for (int t = 0; t < 3; ++t) {
    const auto a = sn::random_architecture<S>(g);
    CAPTURE(sn::to_string<S>(a));
    sn::subnet<S, double> fixed(a, ds, {.layernorm = t == 1}, 5);
    const auto batch = recnas_test::random_batch(ds, 3, 8 + static_cast<std::uint64_t>(t));
    recnas_test::check_gradients(fixed, a, batch.view, 21);
    sn::supernet<S, double> super(ds, {.layernorm = t == 1}, 6);
    recnas_test::check_gradients(super, a, batch.view, 22);
    sn::subnet<S, double> sliced(a, super);
    std::vector<double> l1(3), l2(3);
    sn::workspace<double> w1, w2;
    super.forward(a, batch.view, w1, l1);
    sliced.forward(batch.view, w2, l2);
    for (int i = 0; i < 3; ++i)
      CHECK(l1[static_cast<std::size_t>(i)] ==
            doctest::Approx(l2[static_cast<std::size_t>(i)]).epsilon(1e-12));
  }
}

TEST_CASE("validation names the block and the field") {
  using F = sn::nasrec_full;
  recnas::rng g(1);
  const auto good = sn::random_architecture<F>(g);
  auto expect_issue = [&](auto mutate, const std::string& path, const std::string& words) {
    auto a = good;
    mutate(a);
    const auto issue = sn::check<F>(a);
    REQUIRE(issue.has_value());
    CHECK(issue->path() == path);
    CHECK_MESSAGE(issue->reason.find(words) != std::string::npos, issue->reason);
    CHECK_THROWS_WITH_AS(sn::validate<F>(a, "arch.json"), doctest::Contains(path.c_str()),
                         recnas::input_error);
  };
  expect_issue([](auto& a) { a.blocks.pop_back(); }, "blocks", "7 blocks");
  expect_issue([](auto& a) { a.blocks[2].dense_in = 0b100000; }, "blocks[2].dense_in",
               "source 5 is not an earlier output");
  expect_issue([](auto& a) { a.blocks[6].sparse_in = 0b11111; }, "blocks[6].sparse_in",
               "at most 4");
  expect_issue([](auto& a) { a.blocks[1].sparse_in = 0; }, "blocks[1].sparse_in", "at least one");
  expect_issue([](auto& a) { a.blocks[3].left = 4; }, "blocks[3].left", "source 4");
  expect_issue([](auto& a) { a.blocks[3].right = -1; }, "blocks[3].right", "source -1");
  expect_issue([](auto& a) { a.blocks[0].dense_op = 4; }, "blocks[0].dense_op",
               "4 dense operators");
  expect_issue([](auto& a) { a.blocks[0].sparse_op = 2; }, "blocks[0].sparse_op",
               "2 sparse operators");
  expect_issue([](auto& a) { a.blocks[5].d = 100; }, "blocks[5].dense_dim",
               "100 is not a candidate width (16, 32");
  expect_issue([](auto& a) { a.blocks[5].s = 24; }, "blocks[5].sparse_dim",
               "24 is not a candidate");
  expect_issue([](auto& a) { a.blocks[4].mergers = 4; }, "blocks[4].mergers", "merger");
}

TEST_CASE("hashing distinguishes every field and is stable") {
  using F = sn::nasrec_full;
  recnas::rng g(2);
  std::set<std::uint64_t> seen;
  for (int t = 0; t < 2000; ++t) seen.insert(sn::random_architecture<F>(g).hash());
  CHECK(seen.size() == 2000);
  const auto a = sn::random_architecture<F>(g);
  auto b = a;
  CHECK(a.hash() == b.hash());
  b.blocks[6].mergers ^= 1;
  CHECK(a.hash() != b.hash());
  b = a;
  b.blocks[0].s = b.blocks[0].s == 16 ? 32 : 16;
  CHECK(a.hash() != b.hash());
  // Sampling is reproducible from the seed.
  recnas::rng g1(99), g2(99);
  CHECK(sn::random_architecture<F>(g1) == sn::random_architecture<F>(g2));
}

TEST_CASE_TEMPLATE("JSON round trips: recnas format and reference format", S, sn::nasrec_full,
                   sn::nasrec_small, chain_space) {
  recnas::rng g(4);
  for (int t = 0; t < 50; ++t) {
    const auto a = sn::random_architecture<S>(g);
    const auto j = sn::to_json<S>(a);
    CHECK(sn::from_json<S>(nlohmann::json::parse(j.dump())) == a);
    if constexpr (!std::is_same_v<S, chain_space>) {
      const auto r = sn::to_reference_json<S>(a);
      CHECK(sn::is_reference_json(r));
      CHECK(sn::from_json<S>(nlohmann::json::parse(r.dump())) == a);
    }
  }
}

TEST_CASE("reference import: field meanings and precise errors") {
  using F = sn::nasrec_full;
  const std::string dir = RECNAS_SOURCE_DIR "/tests/unit/supernet/nasrec-configs/";
  const auto j = sn::read_json_file(dir + "ea_criteo_kaggle_xlarge_best_1shot.json");
  const auto a = sn::from_json<F>(j);
  // Block 2: DP over b0+b1 (sources 1,2), sparse [2,1,0] in ascending order, EFC, d 768, fm.
  CHECK(a.blocks[2].dense_op == 1);
  CHECK(a.blocks[2].sparse_op == 1);
  CHECK(a.blocks[2].dense_in == 0b110);
  CHECK(a.blocks[2].sparse_in == 0b111);
  CHECK(a.blocks[2].d == 768);
  CHECK(a.blocks[2].s == 32);
  CHECK(a.blocks[2].mergers == 0b10);
  CHECK(a.blocks[0].mergers == 0b01);
  CHECK(a.blocks[6].left == 6);
  CHECK(sn::space_name_of(j) == "nasrec-full");
  // The wrong space is refused by name.
  CHECK_THROWS_WITH_AS((void)sn::from_json<sn::nasrec_small>(j, "f.json"),
                       doctest::Contains("f.json: config:"), recnas::input_error);
  auto err = [&](auto mutate, const std::string& field) {
    auto k = j;
    mutate(k);
    CHECK_THROWS_WITH_AS((void)sn::from_json<F>(k, "x.json"),
                         doctest::Contains(("x.json: " + field + ":").c_str()),
                         recnas::input_error);
  };
  err([](auto& k) { k["micro"][2].erase("deep_fm"); }, "micro[2].deep_fm");
  err([](auto& k) { k["micro"][3]["dense_in_dims"] = 100; }, "micro[3].dense_in_dims");
  err([](auto& k) { k["micro"][3]["sparse_in_dims"] = "a"; }, "micro[3].sparse_in_dims");
  err([](auto& k) { k["micro"][1]["active_nodes"] = {1, 7}; }, "micro[1].active_nodes");
  err([](auto& k) { k["micro"][1]["active_nodes"] = {4, 5}; }, "micro[1].active_nodes");
  err([](auto& k) { k["micro"][1]["active_nodes"] = {0, 1}; }, "micro[1].active_nodes");
  err([](auto& k) { k["micro"][1]["active_nodes"] = {0, 4, 4}; }, "micro[1].active_nodes");
  {  // several nodes of one kind: the reference's micro any-path, read as extra operators
    auto k = j;
    k["micro"][1]["active_nodes"] = {3, 0, 5, 4};
    const auto m = sn::from_json<F>(k);
    CHECK(m.blocks[1].dense_op == 0);
    CHECK(m.blocks[1].extra_dense_ops == 0b1000);
    CHECK(m.blocks[1].sparse_op == 0);
    CHECK(m.blocks[1].extra_sparse_ops == 0b10);
    CHECK(sn::to_reference_json<F>(m)["micro"][1]["active_nodes"] == nlohmann::json({0, 3, 4, 5}));
  }
  err([](auto& k) { k["micro"][0]["dense_sparse_interact"] = 2; },
      "micro[0].dense_sparse_interact");
  err([](auto& k) { k["macro"][2]["dense_idx"] = {0, 5}; }, "macro[2].dense_idx");
  err([](auto& k) { k["macro"][2]["dense_idx"] = {0, 0}; }, "macro[2].dense_idx");
  err([](auto& k) { k["macro"][6]["sparse_idx"] = {0, 1, 2, 3, 4}; }, "macro[6].sparse_idx");
  err([](auto& k) { k["macro"][4]["dense_left_idx"] = {0, 1}; }, "macro[4].dense_left_idx");
  err([](auto& k) { k["macro"][4]["dense_right_idx"] = {9}; }, "macro[4].dense_right_idx");
  err([](auto& k) { k["macro"].erase(6); }, "macro");
  err([](auto& k) { k["num_blocks"] = 8; }, "num_blocks");
  err([](auto& k) { k["config"] = "xlarge-zeros"; }, "config");
  // Our format names our fields.
  auto ours = sn::to_json<F>(a);
  ours["blocks"][3]["dense_op"] = "conv";
  CHECK_THROWS_WITH_AS((void)sn::from_json<F>(ours, "o.json"),
                       doctest::Contains("o.json: blocks[3].dense_op: \"conv\""),
                       recnas::input_error);
  ours = sn::to_json<F>(a);
  ours["blocks"][1]["dense_in"] = {0, 1, 2};
  CHECK_THROWS_WITH_AS((void)sn::from_json<F>(ours, "o.json"),
                       doctest::Contains("blocks[1].dense_in: source 2"), recnas::input_error);
  CHECK_THROWS_AS((void)sn::read_json_file(dir + "does-not-exist.json"), recnas::input_error);
}
