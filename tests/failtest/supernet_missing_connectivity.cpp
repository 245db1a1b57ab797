// A space without a connectivity policy says which part is missing.
// expect: needs exactly one connectivity policy
#include <recnas/ops/efc.hpp>
#include <recnas/ops/fc.hpp>
#include <recnas/supernet/space.hpp>

namespace sn = recnas::supernet;
using bad =
    sn::space<sn::blocks<3>, sn::dense_ops<recnas::ops::fc>, sn::sparse_ops<recnas::ops::efc>,
              sn::dense_dims<16, 32>, sn::sparse_dims<16>>;
static_assert(bad::num_blocks == 3);
