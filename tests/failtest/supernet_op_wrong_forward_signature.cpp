// A forward that exists but takes the wrong arguments (here: no tape) is reported as a wrong
// signature, with the expected one, not as a missing function.
// expect: the operator.s forward has the wrong signature. Expected `template <class T>
#include <string_view>

#include <recnas/ops/efc.hpp>
#include <recnas/supernet/space.hpp>

struct no_tape_op {
  static constexpr std::string_view name = "no_tape";
  static constexpr recnas::policy_kind kind = recnas::policy_kind::dense_operator;
  static constexpr recnas::ops::reads inputs = recnas::ops::reads::dense;
  static void declare(const recnas::ops::op_shape&, recnas::ops::param_declarer&) {}
  static void work(const recnas::ops::op_shape&, recnas::work_graph&) {}
  template <class T>
  static void forward(const recnas::ops::op_io<T>&, T*, recnas::index) {}
  template <class T>
  static void backward(const recnas::ops::op_io<T>&, const recnas::ops::tape<T>&, const T*,
                       recnas::index) {}
};

namespace sn = recnas::supernet;
using bad = sn::space<sn::blocks<3>, sn::dense_ops<no_tape_op>, sn::sparse_ops<recnas::ops::efc>,
                      sn::dense_dims<16, 32>, sn::sparse_dims<16>, recnas::connect::dense<4>>;
static_assert(bad::num_blocks == 3);
