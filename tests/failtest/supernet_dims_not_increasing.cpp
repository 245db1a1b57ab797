// Candidate widths must be listed in increasing order (the largest is the supernet's width).
// expect: dense_dims<...> must list positive widths in strictly increasing order
#include <recnas/ops/efc.hpp>
#include <recnas/ops/fc.hpp>
#include <recnas/supernet/space.hpp>

namespace sn = recnas::supernet;
using bad =
    sn::space<sn::blocks<3>, sn::dense_ops<recnas::ops::fc>, sn::sparse_ops<recnas::ops::efc>,
              sn::dense_dims<64, 16, 32>, sn::sparse_dims<16>, recnas::connect::dense<4>>;
static_assert(bad::num_blocks == 3);
