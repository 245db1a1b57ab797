// A connectivity policy that lacks the sampling/counting hooks gets the list of requirements.
// expect: a connectivity policy needs static check_set, check_single, sample_set
#include <string>
#include <string_view>

#include <recnas/ops/efc.hpp>
#include <recnas/ops/fc.hpp>
#include <recnas/supernet/space.hpp>

struct my_connectivity {
  static constexpr std::string_view name = "mine";
  static constexpr recnas::policy_kind kind = recnas::policy_kind::connectivity;
  static std::string check_set(recnas::index, recnas::connect::source_set) { return {}; }
};

namespace sn = recnas::supernet;
using bad =
    sn::space<sn::blocks<3>, sn::dense_ops<recnas::ops::fc>, sn::sparse_ops<recnas::ops::efc>,
              sn::dense_dims<16, 32>, sn::sparse_dims<16>, my_connectivity>;
static_assert(bad::num_blocks == 3);
