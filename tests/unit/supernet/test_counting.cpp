// FLOPs, parameters and live blocks of the six released NASRec models, against the values the
// reference's traced counter gives (spec section 4.3) and its worked example (section 2.2).
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <recnas/supernet/json.hpp>

#include "common.hpp"

namespace sn = recnas::supernet;

namespace {

struct released {
  const char* file;
  bool full;
  sn::data_shape data;
  double mflops;
  double mparams;  // dense parameters, two decimals
  std::vector<int> live;
};

template <class S>
sn::model_report report(const released& r) {
  const std::string dir = RECNAS_SOURCE_DIR "/tests/unit/supernet/nasrec-configs/";
  return sn::analyze<S>(sn::read_architecture<S>(dir + r.file), r.data);
}

}  // namespace

TEST_CASE("the six released models: FLOPs within 0.5%, parameters, live blocks") {
  const std::vector<released> models{
      {"ea_criteo_kaggle_autoctr_best_1shot.json",
       false,
       sn::data_shape::criteo(),
       2.208,
       1.78,
       {0, 1, 2, 3, 4, 6}},
      {"ea_criteo_kaggle_xlarge_best_1shot.json",
       true,
       sn::data_shape::criteo(),
       1.466,
       2.22,
       {0, 1, 2, 6}},
      {"ea_avazu_kaggle_autoctr_best_1shot.json",
       false,
       sn::data_shape::avazu(),
       3.086,
       2.84,
       {0, 1, 2, 3, 4, 5, 6}},
      {"ea_avazu_kaggle_xlarge_best_1shot.json",
       true,
       sn::data_shape::avazu(),
       1.877,
       3.18,
       {0, 1, 2, 6}},
      {"ea_kdd_kaggle_autoctr_best_1shot.json",
       false,
       sn::data_shape::kdd(),
       3.483,
       2.61,
       {0, 1, 2, 3, 4, 5, 6}},
      {"ea_kdd_kaggle_xlarge_best_1shot.json",
       true,
       sn::data_shape::kdd(),
       1.100,
       0.44,
       {0, 1, 2, 3, 4, 6}},
  };
  for (const auto& m : models) {
    CAPTURE(m.file);
    const auto r = m.full ? report<sn::nasrec_full>(m) : report<sn::nasrec_small>(m);
    CHECK(r.mflops() == doctest::Approx(m.mflops).epsilon(0.005));
    CHECK(r.mflops() == doctest::Approx(m.mflops).epsilon(0.0005));  // in fact to the digit
    CHECK(static_cast<double>(r.params) / 1e6 ==
          doctest::Approx(m.mparams).epsilon(0.005 / m.mparams + 1e-9));
    CHECK(r.live_blocks == m.live);
    CHECK(r.live_params <= r.params);
  }
}

TEST_CASE("Criteo-Full worked example: widths per block and the head") {
  using F = sn::nasrec_full;
  const released m{
      "ea_criteo_kaggle_xlarge_best_1shot.json", true, sn::data_shape::criteo(), 0, 0, {}};
  const auto r = report<F>(m);
  REQUIRE(r.blocks.size() == 7);
  CHECK(r.blocks[0].dense_op == "sigmoid_gating");
  CHECK(r.blocks[0].tokens_out == 72);
  CHECK(r.blocks[1].in_width == 13);
  CHECK(r.blocks[1].in_tokens == 26);
  CHECK(r.blocks[2].in_width == 160);
  CHECK(r.blocks[2].in_tokens == 162);
  CHECK(r.blocks[3].in_tokens == 194);
  CHECK(r.blocks[4].in_width == 1581);
  CHECK(r.blocks[5].in_width == 1565);
  CHECK(r.blocks[5].in_tokens == 128);
  CHECK(r.blocks[6].in_width == 813);
  CHECK(r.blocks[6].in_tokens == 104);
  CHECK(r.head_width == 896);
  CHECK_FALSE(r.blocks[3].live);
  // Without liveness pruning the reference's count would be 3.18 MFLOPs.
  CHECK(r.flops_unpruned / 1e6 == doctest::Approx(3.18).epsilon(0.005));
  // Live FLOPs = live matrix work + the two attention LayerNorms of live blocks 0 and 6.
  double macs = 0;
  for (const auto& w : r.matmuls) macs += w.macs();
  CHECK(r.flops == doctest::Approx(macs + 10.0 * 16 * (64 + 48)).epsilon(1e-12));
  const auto arch = sn::read_architecture<F>(
      RECNAS_SOURCE_DIR "/tests/unit/supernet/nasrec-configs/" + std::string(m.file));
  auto everything = arch;
  // Making block 6 read every block's outputs makes all of them live: FLOPs can only grow.
  everything.blocks[6].dense_in = 0b1111;
  everything.blocks[6].sparse_in = 0b1111000 >> 3 | 0b1000;
  const auto r2 = sn::analyze<F>(everything, m.data);
  CHECK(r2.flops > r.flops);
}

TEST_CASE("liveness is per tensor: a dense output needs the sparse operator only through FM") {
  using S = sn::nasrec_small;
  auto a = sn::widest_chain<S>(0, 0);
  for (auto& b : a.blocks) {
    b.mergers = 0;
    b.sparse_in = 1;  // every sparse operator reads the stem
  }
  const auto ds = sn::data_shape::criteo();
  const auto plan = sn::make_plan<S>(a, ds);
  // FC chain without mergers: every block's dense op runs, sparse ops only in the last block.
  for (int i = 0; i < 6; ++i) {
    CHECK(plan.blocks[static_cast<std::size_t>(i)].run_dense);
    CHECK_FALSE(plan.blocks[static_cast<std::size_t>(i)].run_sparse);
  }
  CHECK(plan.blocks[6].run_sparse);
  a.blocks[5].mergers = 0b10;       // FM in block 5 makes its sparse operator live, nothing else
  a.blocks[5].sparse_in = 0b10000;  // ... which reads block 3's tokens
  const auto p2 = sn::make_plan<S>(a, ds);
  CHECK(p2.blocks[5].run_sparse);
  CHECK(p2.blocks[3].sparse_live);
  CHECK(p2.blocks[3].run_sparse);
  CHECK_FALSE(p2.blocks[4].run_sparse);
  CHECK_FALSE(p2.blocks[2].run_sparse);
  // d = 128 with both mergers: the dsi tokens alias the dense output after FM (reference quirk).
  a = sn::widest_chain<S>(0, 0);
  for (auto& b : a.blocks) {
    b.mergers = 0;
    b.d = 128;
  }
  a.blocks[5].mergers = 0b11;
  a.blocks[6].dense_op = 1;  // DP reads block 5's tokens only through sparse_in
  a.blocks[6].dense_in = 1;
  a.blocks[6].sparse_in = 0b1000000;
  a.blocks[6].sparse_op = 0;
  const auto p3 = sn::make_plan<S>(a, ds);
  CHECK(p3.blocks[5].sparse_live);
  CHECK_FALSE(p3.blocks[5].dense_live);
  CHECK(p3.blocks[5].run_mergers == 0b11);  // FM feeds the aliased tokens
}
