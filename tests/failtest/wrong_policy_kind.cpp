// A sparse operator used where a dense operator is expected must fail with one sentence.
// expect: is of another kind than the slot it is used in
#include <string_view>

#include <recnas/core/concepts.hpp>

struct my_sparse_op {
  static constexpr std::string_view name = "efc";
  static constexpr recnas::policy_kind kind = recnas::policy_kind::sparse_operator;
};

static_assert(recnas::check_policy<my_sparse_op, recnas::policy_kind::dense_operator>());
