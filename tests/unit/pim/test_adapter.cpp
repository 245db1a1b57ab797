// The supernet -> PIM adapter (pim/from_architecture.hpp) on the six released NASRec models:
// the workload's MACs are the supernet's live FLOPs without their LayerNorm terms, product by
// product; dead blocks emit nothing; the workload evaluates on every preset.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <recnas/pim/pim.hpp>
#include <recnas/supernet/counting.hpp>
#include <recnas/supernet/json.hpp>
#include <recnas/supernet/workload.hpp>
#include <recnas/train/baselines.hpp>

namespace pim = recnas::pim;
namespace sn = recnas::supernet;

namespace {

/// The released configs: the reference copy, or the supernet tests' copy of it.
std::string config_dir() {
  for (const std::string& d :
       {std::string(RECNAS_SHARED_DATA_DIR "/../reference/nasrec-configs/"),
        std::string(RECNAS_SOURCE_DIR "/tests/unit/supernet/nasrec-configs/")})
    if (std::filesystem::exists(d + "ea_criteo_kaggle_xlarge_best_1shot.json")) return d;
  return {};
}

/// 5 x the LayerNorm elements of the operators that run (the FLOPs convention's LN term).
template <class S>
double layernorm_flops(const sn::architecture& a, const sn::data_shape& ds) {
  const auto plan = sn::make_plan<S>(a, ds);
  double ln = 0.0;
  for (std::size_t i = 0; i < a.blocks.size(); ++i) {
    const auto& b = a.blocks[i];
    const auto& p = plan.blocks[i];
    auto add = [&]<class Op>(bool runs) {
      if (!runs) return;
      recnas::work_graph w;
      Op::work(p.shape, w);
      ln += 5.0 * w.layernorm_elements();
    };
    S::visit_dense(b.dense_op, [&]<class Op>() { add.template operator()<Op>(p.run_dense); });
    S::visit_sparse(b.sparse_op, [&]<class Op>() { add.template operator()<Op>(p.run_sparse); });
    S::for_each_merger(
        [&]<class M>(auto m) { add.template operator()<M>(((p.run_mergers >> m) & 1U) != 0); });
  }
  return ln;
}

template <class S>
void check_model(const std::string& file, const sn::data_shape& ds) {
  CAPTURE(file);
  const auto a = sn::read_architecture<S>(file);
  const auto rep = sn::analyze<S>(a, ds);
  const auto w = sn::workload_of<S>(a, ds);
  w.validate();
  const double ln = layernorm_flops<S>(a, ds);
  const bool has_ln = std::any_of(w.layers.begin(), w.layers.end(), [](const pim::layer& l) {
    return l.kind == pim::op_kind::layernorm;
  });
  CHECK(has_ln == (ln > 0.0));
  // total MACs = FLOPs - LN terms, exactly (integers in double)
  CHECK(w.macs() == rep.flops - ln);
  // product by product: every layer with MACs is one of the live matrix products
  std::vector<double> from_layers, from_counting;
  for (const auto& l : w.layers)
    if (l.mac_count() > 0.0) from_layers.push_back(l.mac_count());
  for (const auto& m : rep.matmuls) from_counting.push_back(m.macs());
  std::sort(from_layers.begin(), from_layers.end());
  std::sort(from_counting.begin(), from_counting.end());
  CHECK(from_layers == from_counting);
  // analog layers are exactly the products with stored weights
  double analog = 0.0, weighted = 0.0;
  for (const auto& m : rep.matmuls)
    if (m.weights) weighted += m.macs();
  for (const auto& l : w.layers)
    if (l.cls() == pim::op_class::analog) analog += l.mac_count();
  CHECK(analog == weighted);
  // live blocks only: a dead block's tag never appears
  for (std::size_t i = 0; i < rep.blocks.size(); ++i) {
    const std::string tag = "b" + std::to_string(i) + ".";
    const bool present = std::any_of(w.layers.begin(), w.layers.end(), [&](const pim::layer& l) {
      return l.name.rfind(tag, 0) == 0;
    });
    CAPTURE(i);
    CHECK(present == rep.blocks[i].live);
  }
  // the head reads d_last + 16 t_last and is the only sink
  REQUIRE(w.size() > 2);
  CHECK(w.layers.back().name == "head");
  CHECK(w.layers.back().rows == rep.head_width);
  std::vector<int> consumers(static_cast<std::size_t>(w.size()), 0);
  for (const auto& l : w.layers)
    for (auto in : l.input_layers()) ++consumers[static_cast<std::size_t>(in)];
  for (recnas::index i = 0; i + 1 < w.size(); ++i) {
    CAPTURE(w.layers[static_cast<std::size_t>(i)].name);
    CHECK(consumers[static_cast<std::size_t>(i)] > 0);  // everything emitted is used
  }
  // it evaluates: arrays for every analog layer, finite figures
  pim::analytic_model<pim::isaac_architecture, pim::pim_aware_mapping> m;
  auto c = pim::isaac_preset();
  c.weight_bits = 8;
  c.act_bits = 8;
  const auto& r = m.evaluate(w, c);
  CHECK(r.macs == doctest::Approx(w.macs()));
  CHECK(r.copy_arrays > 0);
  CHECK(r.latency.value() > 0.0);
  CHECK(std::isfinite(r.energy.total().value()));
}

}  // namespace

TEST_CASE("adapter: the six released NASRec models, MACs = live FLOPs - LayerNorm terms") {
  const std::string dir = config_dir();
  if (dir.empty()) {
    MESSAGE("skipped: the released NASRec configs are not available");
    return;
  }
  check_model<sn::nasrec_small>(dir + "ea_criteo_kaggle_autoctr_best_1shot.json",
                                sn::data_shape::criteo());
  check_model<sn::nasrec_full>(dir + "ea_criteo_kaggle_xlarge_best_1shot.json",
                               sn::data_shape::criteo());
  check_model<sn::nasrec_small>(dir + "ea_avazu_kaggle_autoctr_best_1shot.json",
                                sn::data_shape::avazu());
  check_model<sn::nasrec_full>(dir + "ea_avazu_kaggle_xlarge_best_1shot.json",
                               sn::data_shape::avazu());
  check_model<sn::nasrec_small>(dir + "ea_kdd_kaggle_autoctr_best_1shot.json",
                                sn::data_shape::kdd());
  check_model<sn::nasrec_full>(dir + "ea_kdd_kaggle_xlarge_best_1shot.json", sn::data_shape::kdd());
}

TEST_CASE("adapter: random subnets of both spaces keep the MAC identity") {
  recnas::rng g(2024);
  for (int t = 0; t < 40; ++t) {
    CAPTURE(t);
    const auto ds = t % 3 == 0   ? sn::data_shape::criteo()
                    : t % 3 == 1 ? sn::data_shape::avazu()
                                 : sn::data_shape::kdd();
    if (t % 2 == 0) {
      const auto a = sn::random_architecture<sn::nasrec_full>(g);
      const auto w = sn::workload_of<sn::nasrec_full>(a, ds);
      w.validate();
      CHECK(w.macs() ==
            sn::analyze<sn::nasrec_full>(a, ds).flops - layernorm_flops<sn::nasrec_full>(a, ds));
    } else {
      const auto a = sn::random_architecture<sn::nasrec_small>(g);
      const auto w = sn::workload_of<sn::nasrec_small>(a, ds);
      w.validate();
      CHECK(w.macs() ==
            sn::analyze<sn::nasrec_small>(a, ds).flops - layernorm_flops<sn::nasrec_small>(a, ds));
    }
  }
}

TEST_CASE("adapter: the cross operator maps S x to crossbars, x0 * (.) + x to digital units") {
  // Random NASRec-Full-Cross subnets keep the MAC identity; DCN-v2's three cross layers each
  // give one w x w crossbar product, one multiply and one residual sum.
  recnas::rng g(77);
  using S = sn::nasrec_full_cross;
  for (int t = 0; t < 20; ++t) {
    CAPTURE(t);
    const auto a = sn::random_architecture<S>(g);
    const auto ds = sn::data_shape::criteo();
    const auto w = sn::workload_of<S>(a, ds);
    w.validate();
    CHECK(w.macs() == sn::analyze<S>(a, ds).flops - layernorm_flops<S>(a, ds));
  }
  const auto w = sn::workload_of<S>(recnas::train::baseline("dcnv2"), sn::data_shape::criteo());
  int self = 0, mul = 0, add = 0;
  for (const auto& l : w.layers) {
    if (l.name.find(".cross_self") != std::string::npos) {
      ++self;
      CHECK(l.cls() == pim::op_class::analog);
      CHECK(l.mac_count() == 256.0 * 256.0);
    }
    if (l.name.find(".cross_mul") != std::string::npos) {
      ++mul;
      CHECK(l.muls == 256.0);
    }
    add += l.name.find(".cross_add") != std::string::npos;
  }
  CHECK(self == 3);
  CHECK(mul == 3);
  CHECK(add == 3);
}

TEST_CASE("adapter: precision options and table sizes reach the layers") {
  using S = sn::nasrec_small;
  const auto a = sn::widest_chain<S>(0, 0);
  const auto ds = sn::data_shape::criteo(5000);
  const auto w = sn::workload_of<S>(a, ds, {.weight_bits = 4, .act_bits = 6, .zipf_s = 1.2});
  recnas::index emb = 0;
  for (const auto& l : w.layers) {
    if (l.cls() == pim::op_class::memory) {
      ++emb;
      CHECK(l.table_rows == 26 * 5000);
      CHECK(l.lookups == 26);
      CHECK(l.zipf_s == 1.2);
    } else {
      CHECK(l.weight_bits == 4);
      CHECK(l.act_bits == 6);
    }
  }
  CHECK(emb == 1);
  // an invalid architecture is an input error naming the block
  auto bad = a;
  bad.blocks[2].d = 100;
  CHECK_THROWS_AS((void)sn::workload_of<S>(bad, ds), recnas::input_error);
}
