// A policy without a name must be told how to add one.
// expect: this policy type has no name
#include <recnas/core/concepts.hpp>

struct anonymous_op {};
static_assert(recnas::check_policy<anonymous_op, recnas::policy_kind::dense_operator>());
