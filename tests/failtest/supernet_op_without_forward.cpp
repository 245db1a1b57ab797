// A dense operator without forward/backward is told exactly what to add.
// expect: the operator has no forward. It needs `template <class T> static void forward
#include <string_view>

#include <recnas/ops/efc.hpp>
#include <recnas/supernet/space.hpp>

struct half_done_op {
  static constexpr std::string_view name = "half_done";
  static constexpr recnas::policy_kind kind = recnas::policy_kind::dense_operator;
  static constexpr recnas::ops::reads inputs = recnas::ops::reads::dense;
  static void declare(const recnas::ops::op_shape&, recnas::ops::param_declarer&) {}
  static void work(const recnas::ops::op_shape&, recnas::ops::work_sink&) {}
};

namespace sn = recnas::supernet;
using bad = sn::space<sn::blocks<3>, sn::dense_ops<half_done_op>, sn::sparse_ops<recnas::ops::efc>,
                      sn::dense_dims<16, 32>, sn::sparse_dims<16>, recnas::connect::dense<4>>;
static_assert(bad::num_blocks == 3);
