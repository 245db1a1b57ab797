// A sparse operator listed among a space's dense operators fails with one sentence.
// expect: is of another kind than the slot it is used in
#include <recnas/ops/efc.hpp>
#include <recnas/ops/fc.hpp>
#include <recnas/supernet/space.hpp>

namespace sn = recnas::supernet;
using bad = sn::space<sn::blocks<3>, sn::dense_ops<recnas::ops::fc, recnas::ops::efc>,
                      sn::sparse_ops<recnas::ops::efc>, sn::dense_dims<16, 32>, sn::sparse_dims<16>,
                      recnas::connect::dense<4>>;
static_assert(bad::num_blocks == 3);
