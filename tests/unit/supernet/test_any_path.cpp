// Micro any-path blocks (extra operators whose outputs are summed with the main one's) and
// touched-parameter tracking: encoding, counting, gradients (finite differences, double) in
// sliced and masked mode, weight sharing, and the entries backward writes.
#include <algorithm>
#include <cmath>
#include <set>
#include <string>

#include <doctest/doctest.h>

#include <recnas/supernet/json.hpp>
#include <recnas/supernet/workload.hpp>

#include "common.hpp"

namespace sn = recnas::supernet;
namespace ops = recnas::ops;
using recnas_test::check_gradients;
using recnas_test::random_batch;

namespace {

// Every NASRec operator at small widths: cheap enough for masked-mode gradient checks in
// double (masked mode runs every source at the largest widths).
using mini_full =
    sn::space<sn::blocks<4>,
              sn::dense_ops<ops::fc, ops::dot_product, ops::sigmoid_gating, ops::sum>,
              sn::sparse_ops<ops::attention, ops::efc>,
              sn::mergers<ops::dense_to_sparse, ops::sparse_to_dense>, sn::dense_dims<16, 32, 64>,
              sn::sparse_dims<8, 16>, recnas::connect::dense<4>>;

const sn::data_shape small_data{3, {7, 5, 9, 4}};

/// A random architecture whose blocks also run random extra operators (each other operator
/// with probability 1/2); with `full`, every operator of the space (full-path warm-up).
template <class S>
sn::architecture with_extras(recnas::rng& g, bool full = false) {
  auto a = sn::random_architecture<S>(g);
  for (auto& b : a.blocks) {
    for (int o = 0; o < S::num_dense_ops; ++o)
      if (full || g.bernoulli(0.5)) b.extra_dense_ops |= 1U << o;
    for (int o = 0; o < S::num_sparse_ops; ++o)
      if (full || g.bernoulli(0.5)) b.extra_sparse_ops |= 1U << o;
  }
  return a;
}

/// Zeroed gradients, one forward/backward: every entry outside touched() has all-zero
/// gradients, touched() is sorted and unique, equals active_entries(), and holds the head and
/// the embedding tables. Returns the number of touched entries with a nonzero gradient.
template <class Net>
std::size_t check_touched(Net& net, const sn::architecture& a, const sn::ctr_batch& batch,
                          sn::exec_mode mode) {
  using T = typename Net::value_type;
  sn::workspace<T> ws;
  std::vector<T> logits(static_cast<std::size_t>(batch.size));
  std::vector<T> dl(static_cast<std::size_t>(batch.size));
  for (std::size_t i = 0; i < dl.size(); ++i) dl[i] = static_cast<T>(0.1 + 0.05 * double(i % 3));
  net.params().zero_grad();
  net.forward(a, batch, ws, logits, mode);
  net.backward(a, ws, dl);
  const auto& t = ws.touched();
  CHECK(std::is_sorted(t.begin(), t.end()));
  CHECK(std::adjacent_find(t.begin(), t.end()) == t.end());
  CHECK(t == net.active_entries(a, mode));
  const std::set<std::size_t> in(t.begin(), t.end());
  for (auto h : net.head_entries()) CHECK(in.count(h) == 1);
  for (recnas::index f = 0; f < net.shape().sparse_features(); ++f)
    CHECK(in.count(net.embedding_entry(f)) == 1);
  const auto g = net.params().grads();
  const auto& entries = net.params().entries();
  std::size_t nonzero_touched = 0;
  for (std::size_t k = 0; k < entries.size(); ++k) {
    const auto& e = entries[k];
    bool nonzero = false;
    for (recnas::index q = 0; q < e.size() && !nonzero; ++q)
      nonzero = g[e.offset + static_cast<std::size_t>(q)] != T(0);
    if (in.count(k) == 0) {
      CHECK_MESSAGE(!nonzero, e.name << " has a gradient but is not in touched()");
    } else if (nonzero) {
      ++nonzero_touched;
    }
  }
  return nonzero_touched;
}

}  // namespace

TEST_CASE("extra operators: validation, equality, hashing, names") {
  using F = sn::nasrec_full;
  recnas::rng g(3);
  const auto a = sn::random_architecture<F>(g);
  auto b = a;
  b.blocks[2].extra_dense_ops = 1U << 4;  // NASRec-Full has 4 dense operators
  auto issue = sn::check<F>(b);
  REQUIRE(issue.has_value());
  CHECK(issue->path() == "blocks[2].extra_dense_ops");
  CHECK(issue->reason.find("4 dense operators") != std::string::npos);
  CHECK_THROWS_WITH_AS(sn::validate<F>(b, "x.json"),
                       doctest::Contains("x.json: blocks[2].extra_dense_ops"), recnas::input_error);
  b = a;
  b.blocks[5].extra_sparse_ops = 0b100;
  issue = sn::check<F>(b);
  REQUIRE(issue.has_value());
  CHECK(issue->path() == "blocks[5].extra_sparse_ops");
  // The main operator's own bit is ignored, by equality and hashing too.
  b = a;
  b.blocks[1].extra_dense_ops = 1U << b.blocks[1].dense_op;
  b.blocks[1].extra_sparse_ops = 1U << b.blocks[1].sparse_op;
  CHECK(sn::check<F>(b) == std::nullopt);
  CHECK(b == a);
  CHECK(b.hash() == a.hash());
  // A real extra changes both.
  b = a;
  b.blocks[1].extra_dense_ops = 1U << ((b.blocks[1].dense_op + 1) % F::num_dense_ops);
  CHECK_FALSE(b == a);
  CHECK(b.hash() != a.hash());
  auto c = a;
  c.blocks[1].extra_sparse_ops = 1U << ((c.blocks[1].sparse_op + 1) % F::num_sparse_ops);
  CHECK(c.hash() != a.hash());
  CHECK(c.hash() != b.hash());
  CHECK(sn::to_string<F>(b).find(std::string(F::dense_op_name(b.blocks[1].dense_op)) + "+") !=
        std::string::npos);
}

TEST_CASE_TEMPLATE("extra operators: JSON round trips in both formats", S, sn::nasrec_full,
                   sn::nasrec_small) {
  recnas::rng g(8);
  for (int t = 0; t < 30; ++t) {
    const auto a = with_extras<S>(g, t == 0);
    const auto j = sn::to_json<S>(a);
    CHECK(sn::from_json<S>(nlohmann::json::parse(j.dump())) == a);
    // The reference format keeps the operator sets, not which one is "main": compare sets.
    const auto r = sn::from_json<S>(nlohmann::json::parse(sn::to_reference_json<S>(a).dump()));
    for (std::size_t i = 0; i < a.blocks.size(); ++i) {
      CHECK(r.blocks[i].dense_op_set() == a.blocks[i].dense_op_set());
      CHECK(r.blocks[i].sparse_op_set() == a.blocks[i].sparse_op_set());
    }
  }
  // Written only when there are extras.
  const auto single = sn::random_architecture<S>(g);
  CHECK_FALSE(sn::to_json<S>(single)["blocks"][0].contains("extra_dense_ops"));
  auto j = sn::to_json<S>(with_extras<S>(g, true));
  CHECK(j["blocks"][0].contains("extra_dense_ops"));
  j["blocks"][0]["extra_sparse_ops"] = {"conv"};
  CHECK_THROWS_WITH_AS((void)sn::from_json<S>(j, "e.json"),
                       doctest::Contains("e.json: blocks[0].extra_sparse_ops: \"conv\""),
                       recnas::input_error);
}

TEST_CASE("extra operators: FLOPs and parameters count every running operator") {
  using F = sn::nasrec_full;
  const auto ds = sn::data_shape::criteo(100);
  recnas::rng g(12);
  for (int t = 0; t < 10; ++t) {
    const auto a = with_extras<F>(g, t == 0);
    const auto plan = sn::make_plan<F>(a, ds);
    const auto rep = sn::analyze<F>(a, ds);
    for (std::size_t i = 0; i < a.blocks.size(); ++i) {
      const auto& b = a.blocks[i];
      const auto& p = plan.blocks[i];
      double flops = 0;
      recnas::index params = 0;
      auto account = [&]<class Op>(bool runs) {
        ops::work_sink w;
        Op::work(p.shape, w);
        ops::param_declarer d;
        Op::declare(p.shape, d);
        for (const auto& decl : d.decls()) params += decl.size();
        if (runs) flops += w.flops();
      };
      sn::for_each_bit(b.dense_op_set(), [&](int o) {
        F::visit_dense(o, [&]<class Op>() { account.template operator()<Op>(p.run_dense); });
      });
      sn::for_each_bit(b.sparse_op_set(), [&](int o) {
        F::visit_sparse(o, [&]<class Op>() { account.template operator()<Op>(p.run_sparse); });
      });
      F::for_each_merger([&]<class M>(auto m) {
        if (b.merger(m)) account.template operator()<M>(((p.run_mergers >> m) & 1U) != 0);
      });
      CHECK(rep.blocks[i].flops == doctest::Approx(flops));
      CHECK(rep.blocks[i].params == params);
    }
  }
  // Full path: the last block runs all four dense and both sparse operators (main one first).
  auto full = with_extras<F>(g, true);
  full.blocks.back().dense_op = 0;
  full.blocks.back().sparse_op = 0;
  CHECK(sn::analyze<F>(full, ds).blocks.back().dense_op == "fc+dot_product+sigmoid_gating+sum");
  CHECK(sn::analyze<F>(full, ds).blocks.back().sparse_op == "attention+efc");
}

// mini_full has every NASRec-Full operator at small widths (NASRec-Full itself in double is slow).
TEST_CASE_TEMPLATE("extra operators: standalone gradients match finite differences", S,
                   sn::nasrec_small, mini_full) {
  for (std::uint64_t seed = 1; seed <= 2; ++seed) {
    recnas::rng g(seed * 13);
    const auto a = with_extras<S>(g, seed == 2);
    CAPTURE(sn::to_string<S>(a));
    sn::subnet<S, double> net(a, small_data, {.layernorm = seed == 1}, seed);
    const auto batch = random_batch(small_data, 3, seed);
    CHECK(check_gradients(net, a, batch.view, seed).checked > 10);
  }
}

TEST_CASE("extra operators: supernet gradients (sliced and masked) match finite differences") {
  using S = mini_full;
  for (bool ln : {true, false}) {
    sn::supernet<S, double> net(small_data, {.layernorm = ln}, 7);
    recnas::rng g(ln ? 5 : 6);
    for (int t = 0; t < 2; ++t) {
      const auto a = with_extras<S>(g, t == 1);
      CAPTURE(sn::to_string<S>(a));
      const auto batch = random_batch(small_data, 2, 40 + static_cast<std::uint64_t>(t));
      for (auto mode : {sn::exec_mode::sliced, sn::exec_mode::masked}) {
        CAPTURE(static_cast<int>(mode));
        const auto res = check_gradients(net, a, batch.view, 9, 1, 8, 2e-6, mode);
        CHECK(res.checked > 10);
      }
    }
  }
}

TEST_CASE_TEMPLATE("extra operators: supernet slices equal the standalone subnet", S,
                   sn::nasrec_full, sn::nasrec_small, mini_full) {
  const sn::data_shape ds{13, {11, 7, 5, 9, 3, 8}};
  for (bool ln : {false, true}) {
    sn::supernet<S, float> super(ds, {.layernorm = ln}, 3);
    recnas::rng g(ln ? 21 : 22);
    for (int t = 0; t < 3; ++t) {
      const auto a = with_extras<S>(g, t == 0);
      CAPTURE(sn::to_string<S>(a));
      sn::subnet<S, float> fixed(a, super);
      const auto batch = random_batch(ds, 16, 200 + static_cast<std::uint64_t>(t));
      std::vector<float> l1(16), l2(16);
      sn::workspace<float> w1, w2;
      super.forward(a, batch.view, w1, l1);
      fixed.forward(batch.view, w2, l2);
      for (std::size_t i = 0; i < l1.size(); ++i)
        CHECK(std::abs(l1[i] - l2[i]) <= 1e-5f * std::max(1.0f, std::abs(l2[i])));
      CHECK(*std::max_element(l1.begin(), l1.end()) - *std::min_element(l1.begin(), l1.end()) >
            1e-4f);
      CHECK(fixed.params().count(false) == sn::analyze<S>(a, ds, ln).live_params);
    }
  }
}

TEST_CASE("extra operators: supernet backward equals the standalone subnet's (double)") {
  using S = mini_full;
  const sn::data_shape ds{3, {6, 5, 4}};
  sn::supernet<S, double> super(ds, {.layernorm = true}, 9);
  recnas::rng g(5);
  const auto a = with_extras<S>(g, true);
  sn::subnet<S, double> fixed(a, super);
  const auto batch = random_batch(ds, 4, 3);
  std::vector<double> l(4), dl{0.3, -0.2, 0.5, 0.1};
  sn::workspace<double> w1, w2;
  super.params().zero_grad();
  fixed.params().zero_grad();
  super.forward(a, batch.view, w1, l);
  super.backward(a, w1, dl);
  fixed.forward(batch.view, w2, l);
  fixed.backward(w2, dl);
  sn::supernet<S, double> grads_as_values(ds, {.layernorm = true}, 9);
  std::copy(super.params().grads().begin(), super.params().grads().end(),
            grads_as_values.params().values().begin());
  sn::subnet<S, double> sliced(a, grads_as_values);
  const auto gs = sliced.params().values();
  const auto gf = fixed.params().grads();
  REQUIRE(gs.size() == gf.size());
  double worst = 0, inside = 0, outside = 0;
  for (std::size_t i = 0; i < gs.size(); ++i) worst = std::max(worst, std::abs(gs[i] - gf[i]));
  for (double v : gf) inside += std::abs(v);
  for (double v : super.params().grads()) outside += std::abs(v);
  CHECK(worst < 1e-12);
  CHECK(inside > 0);
  CHECK(outside == doctest::Approx(inside).epsilon(1e-9));
}

TEST_CASE_TEMPLATE("touched(): entries outside it keep zero gradients; it equals active_entries", S,
                   sn::nasrec_small, mini_full) {
  sn::supernet<S, double> net(small_data, {.layernorm = true}, 2);
  recnas::rng g(17);
  const auto batch = random_batch(small_data, 3, 4);
  for (int t = 0; t < 4; ++t) {
    const auto a = t < 2 ? sn::random_architecture<S>(g) : with_extras<S>(g, t == 3);
    CAPTURE(sn::to_string<S>(a));
    for (auto mode : {sn::exec_mode::sliced, sn::exec_mode::masked}) {
      if (mode == sn::exec_mode::masked && !std::is_same_v<S, mini_full>) continue;  // slow
      const auto n = check_touched(net, a, batch.view, mode);
      CHECK(n > 0);
    }
    // Sliced, a single path touches a small part of the supernet.
    const auto act = net.active_entries(a);
    if (t < 2) CHECK(act.size() < net.params().entries().size() / 2);
  }
}

TEST_CASE("touched(): float supernet of NASRec-Full and a standalone subnet") {
  using F = sn::nasrec_full;
  const sn::data_shape ds{13, {11, 7, 5, 9}};
  sn::supernet<F, float> net(ds, {.layernorm = true}, 4);
  recnas::rng g(23);
  const auto batch = random_batch(ds, 8, 6);
  for (int t = 0; t < 3; ++t) {
    const auto a = t == 0 ? sn::random_architecture<F>(g) : with_extras<F>(g, t == 2);
    CAPTURE(sn::to_string<F>(a));
    CHECK(check_touched(net, a, batch.view, sn::exec_mode::sliced) > 0);
    sn::subnet<F, float> fixed(a, ds, {}, 1);
    CHECK(check_touched(fixed, a, batch.view, sn::exec_mode::sliced) > 0);
  }
  // The head entries are the head's weight row and bias.
  const auto h = net.head_entries();
  CHECK(net.params().entries()[h[0]].name == "head.W");
  CHECK(net.params().entries()[h[1]].name == "head.b");
}

TEST_CASE("extra operators: the PIM workload runs every operator and sums their outputs") {
  using F = sn::nasrec_full;
  const auto ds = sn::data_shape::criteo(100);
  recnas::rng g(31);
  auto a = sn::random_architecture<F>(g);
  auto& last = a.blocks.back();   // always live
  last.dense_op = 0;              // fc
  last.extra_dense_ops = 0b1000;  // + sum
  last.sparse_op = 1;             // efc
  last.extra_sparse_ops = 0b01;   // + attention
  const auto w = recnas::supernet::workload_of<F>(a, ds);
  auto has = [&](const std::string& n) {
    return std::any_of(w.layers.begin(), w.layers.end(),
                       [&](const auto& l) { return l.name == n; });
  };
  CHECK(has("b6.fc"));
  CHECK(has("b6.sum"));
  CHECK(has("b6.dense_ops_add"));
  CHECK(has("b6.efc"));
  CHECK(has("b6.att_tproj"));
  CHECK(has("b6.sparse_ops_add"));
  const auto single = recnas::supernet::workload_of<F>(sn::random_architecture<F>(g), ds);
  CHECK(std::none_of(single.layers.begin(), single.layers.end(),
                     [](const auto& l) { return l.name.find("_ops_add") != std::string::npos; }));
}
