// A dense operator with forward but no backward is told that backward is what is missing.
// expect: the operator has no backward. It needs `template <class T> static void backward
#include <string_view>

#include <recnas/ops/efc.hpp>
#include <recnas/supernet/space.hpp>

struct forward_only_op {
  static constexpr std::string_view name = "forward_only";
  static constexpr recnas::policy_kind kind = recnas::policy_kind::dense_operator;
  static constexpr recnas::ops::reads inputs = recnas::ops::reads::dense;
  static void declare(const recnas::ops::op_shape&, recnas::ops::param_declarer&) {}
  static void work(const recnas::ops::op_shape&, recnas::work_graph&) {}
  template <class T>
  static void forward(const recnas::ops::op_io<T>&, recnas::ops::tape<T>&, T*, recnas::index) {}
};

namespace sn = recnas::supernet;
using bad =
    sn::space<sn::blocks<3>, sn::dense_ops<forward_only_op>, sn::sparse_ops<recnas::ops::efc>,
              sn::dense_dims<16, 32>, sn::sparse_dims<16>, recnas::connect::dense<4>>;
static_assert(bad::num_blocks == 3);
