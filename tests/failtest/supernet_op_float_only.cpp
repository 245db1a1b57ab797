// An operator written for float only (non-template forward/backward) is told to write them as
// templates on T, because recnas runs them in double as the conformance reference.
// expect: the operator runs on float only. Write forward and backward as templates
#include <string_view>

#include <recnas/ops/efc.hpp>
#include <recnas/supernet/space.hpp>

struct float_only_op {
  static constexpr std::string_view name = "float_only";
  static constexpr recnas::policy_kind kind = recnas::policy_kind::dense_operator;
  static constexpr recnas::ops::reads inputs = recnas::ops::reads::dense;
  static void declare(const recnas::ops::op_shape&, recnas::ops::param_declarer&) {}
  static void work(const recnas::ops::op_shape&, recnas::work_graph&) {}
  static void forward(const recnas::ops::op_io<float>&, recnas::ops::tape<float>&, float*,
                      recnas::index) {}
  static void backward(const recnas::ops::op_io<float>&, const recnas::ops::tape<float>&,
                       const float*, recnas::index) {}
};

namespace sn = recnas::supernet;
using bad = sn::space<sn::blocks<3>, sn::dense_ops<float_only_op>, sn::sparse_ops<recnas::ops::efc>,
                      sn::dense_dims<16, 32>, sn::sparse_dims<16>, recnas::connect::dense<4>>;
static_assert(bad::num_blocks == 3);
