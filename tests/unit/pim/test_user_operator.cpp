// A user's operator is priced as it describes itself (core/work.hpp): its products, its
// element-wise work and its LayerNorm become layers, each reading exactly the values it names;
// nothing in the library knows the operator's type. A description written as a plain chain of
// matmul() calls (the interface before the work graph) still prices as a chain.
#include <algorithm>
#include <string>

#include <doctest/doctest.h>

#include <recnas/ops/efc.hpp>
#include <recnas/ops/fc.hpp>
#include <recnas/ops/zero.hpp>
#include <recnas/supernet/counting.hpp>
#include <recnas/supernet/workload.hpp>

namespace pim = recnas::pim;
namespace sn = recnas::supernet;
namespace ops = recnas::ops;

namespace {

/// y = LN(W (l * r) + l) (the operands padded to the wider one, output width d): a two-input
/// operator whose element-wise work and LayerNorm the hardware must see. Only work() matters
/// here; forward/backward are those of a zero operator of the same kind.
struct gated_residual : ops::zero_dense {
  static constexpr std::string_view name = "gated_residual";
  static constexpr ops::reads inputs = ops::reads::left_right;
  static recnas::index width(const ops::op_shape& s) {
    return std::max(s.left_width, s.right_width);
  }
  static void declare(const ops::op_shape& s, ops::param_declarer& d) {
    d.matrix("W", s.d, width(s));
  }
  static void work(const ops::op_shape& s, recnas::work_graph& w) {
    using recnas::work_graph;
    using recnas::work_step;
    const auto m =
        w.add(work_step::multiply("mul", width(s)), {work_graph::left, work_graph::right});
    const auto p =
        w.add(work_step::product(recnas::work_kind::projection, "proj", s.d, width(s)), {m});
    const auto r = w.add(work_step::sum("res", s.d), {p, work_graph::left});
    w.add(work_step::layernorm("ln", 1, s.d), {r});
  }
};

/// The interface before the work graph: a chain of products and a LayerNorm element count.
struct chained_fc : ops::fc {
  static constexpr std::string_view name = "chained_fc";
  static void work(const ops::op_shape& s, ops::work_sink& w) {
    w.matmul("first", s.d, s.in_width, 1);
    w.matmul("second", s.d, s.d, 1);
    w.layernorm(s.d);
  }
};

using user_space = sn::space<sn::blocks<3>, sn::dense_ops<ops::fc, gated_residual, chained_fc>,
                             sn::sparse_ops<ops::efc>, sn::dense_dims<16, 32, 64>,
                             sn::sparse_dims<8, 16>, recnas::connect::dense<3>>;

const pim::layer* find(const pim::workload& w, const std::string& name) {
  for (const auto& l : w.layers)
    if (l.name == name) return &l;
  return nullptr;
}

sn::architecture chain_of(int op_last) {
  auto a = sn::widest_chain<user_space>(0, 0);
  for (auto& b : a.blocks) {
    b.dense_op = 0;
    b.d = 32;
  }
  auto& last = a.blocks.back();
  last.dense_op = op_last;
  last.dense_in = 0b0011;  // the stem and block 0: a dense input the binary operator ignores
  last.left = 2;           // block 1
  last.right = 1;          // block 0
  return a;
}

}  // namespace

TEST_CASE("user operator: element-wise work and LayerNorm are priced, inputs as declared") {
  const sn::data_shape ds{4, {50, 60, 70}};
  const auto a = chain_of(1);
  const auto w = sn::workload_of<user_space>(a, ds);
  w.validate();
  const auto* mul = find(w, "b2.mul");
  const auto* proj = find(w, "b2.proj");
  const auto* res = find(w, "b2.res");
  const auto* ln = find(w, "b2.ln");
  REQUIRE(mul != nullptr);
  REQUIRE(proj != nullptr);
  REQUIRE(res != nullptr);
  REQUIRE(ln != nullptr);
  CHECK(mul->muls == 32.0);
  CHECK(proj->cls() == pim::op_class::analog);
  CHECK(proj->mac_count() == 32.0 * 32.0);
  CHECK(res->adds == 32.0);
  CHECK(ln->kind == pim::op_kind::layernorm);
  CHECK(ln->specials == 1.0);
  // The product reads the operands only: block 1 (left) and block 0 (right), not block 0 via
  // the unused dense inputs a second time, and never the stem's layers.
  const auto* fc0 = find(w, "b0.fc");
  const auto* fc1 = find(w, "b1.fc");
  REQUIRE(fc0 != nullptr);
  REQUIRE(fc1 != nullptr);
  const auto idx = [&](const pim::layer* l) {
    return static_cast<std::int32_t>(l - w.layers.data());
  };
  auto reads = [&](const pim::layer* l) {
    auto in = l->input_layers();
    return std::vector<std::int32_t>(in.begin(), in.end());
  };
  CHECK(reads(mul) == std::vector<std::int32_t>{idx(fc1), idx(fc0)});
  CHECK(reads(proj) == std::vector<std::int32_t>{idx(mul)});
  CHECK(reads(res) == std::vector<std::int32_t>{idx(proj), idx(fc1)});
  // FLOPs and the workload agree: the MACs plus 5 per LayerNorm element
  const auto rep = sn::analyze<user_space>(a, ds);
  CHECK(w.macs() + 5.0 * 32.0 == rep.flops);
}

TEST_CASE("user operator: a chain of matmul() calls still prices as a chain") {
  const sn::data_shape ds{4, {50, 60, 70}};
  auto a = chain_of(2);
  a.blocks.back().left = a.blocks.back().right = 0;
  const auto w = sn::workload_of<user_space>(a, ds);
  w.validate();
  const auto* first = find(w, "b2.first");
  const auto* second = find(w, "b2.second");
  const auto* ln = find(w, "b2.layernorm");
  REQUIRE(first != nullptr);
  REQUIRE(second != nullptr);
  REQUIRE(ln != nullptr);
  CHECK(first->rows == 4 + 32);  // the stem's 4 features and block 0's 32 columns
  CHECK(second->input_layers().size() == 1);
  CHECK(second->input_layers()[0] == first - w.layers.data());
  CHECK(ln->input_layers()[0] == second - w.layers.data());
  const auto rep = sn::analyze<user_space>(a, ds);
  CHECK(w.macs() + 5.0 * 32.0 == rep.flops);
}

TEST_CASE("work graph: reads only earlier values, at most 8 of them") {
  recnas::work_graph g;
  const auto a = g.add(recnas::work_step::sum("a", 4), {recnas::work_graph::left});
  CHECK_THROWS_AS(g.add(recnas::work_step::sum("b", 4), {recnas::work_value{a.id + 1}}),
                  recnas::contract_error);
  REQUIRE(g.outputs().size() == 1);
  CHECK(g.outputs()[0] == a);
  g.output({});
  CHECK(g.outputs().empty());
  CHECK(g.flops() == 0.0);
  CHECK(g.matmuls().empty());
}
