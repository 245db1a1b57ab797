#pragma once
// The named search spaces (NASRec-Full, NASRec-Small, NASRec-Full with DCN-v2's cross
// operator, and the space that hosts the classic DLRM) and visit_space, which turns a name
// into the space's type. Composing a space of one's own needs supernet/space.hpp only.

#include <stdexcept>
#include <string>
#include <string_view>

#include "recnas/connect/dense.hpp"
#include "recnas/ops/attention.hpp"
#include "recnas/ops/cross.hpp"
#include "recnas/ops/dlrm_interaction.hpp"
#include "recnas/ops/dot_product.hpp"
#include "recnas/ops/efc.hpp"
#include "recnas/ops/fc.hpp"
#include "recnas/ops/mergers.hpp"
#include "recnas/ops/sigmoid_gating.hpp"
#include "recnas/ops/sum.hpp"
#include "recnas/ops/zero.hpp"
#include "recnas/supernet/space.hpp"

namespace recnas::supernet {

/// The candidate widths of both NASRec spaces.
using nasrec_dense_dims = dense_dims<16, 32, 64, 128, 256, 512, 768, 1024>;
using nasrec_sparse_dims = sparse_dims<16, 32, 48, 64>;

/// NASRec-Full (the reference's `xlarge`): node order FC, DP, SG, Sum | Attention, EFC.
struct nasrec_full
    : space<blocks<7>, dense_ops<ops::fc, ops::dot_product, ops::sigmoid_gating, ops::sum>,
            sparse_ops<ops::attention, ops::efc>,
            mergers<ops::dense_to_sparse, ops::sparse_to_dense>, nasrec_dense_dims,
            nasrec_sparse_dims, connect::dense<4>> {
  static constexpr std::string_view name = "nasrec-full";
  static constexpr std::string_view reference_name = "xlarge";
};

/// NASRec-Full plus DCN-v2's cross layer (recnas's own; no reference counterpart): node order
/// FC, DP, SG, Sum, Cross | Attention, EFC, so every NASRec-Full architecture is one of it
/// with the same indices.
struct nasrec_full_cross
    : space<blocks<7>,
            dense_ops<ops::fc, ops::dot_product, ops::sigmoid_gating, ops::sum, ops::cross>,
            sparse_ops<ops::attention, ops::efc>,
            mergers<ops::dense_to_sparse, ops::sparse_to_dense>, nasrec_dense_dims,
            nasrec_sparse_dims, connect::dense<4>> {
  static constexpr std::string_view name = "nasrec-full-cross";
};

/// Hosts the classic DLRM exactly (train/baselines.hpp's `dlrm-ref`), not a search space
/// anyone should search: FC blocks for the bottom and top MLPs, DLRM's interaction, and no
/// sparse branch (zero tokens, so the head reads the last dense output only).
struct dlrm_reference
    : space<blocks<6>, dense_ops<ops::fc, ops::dlrm_interaction>, sparse_ops<ops::zero_sparse>,
            nasrec_dense_dims, nasrec_sparse_dims, connect::dense<4>> {
  static constexpr std::string_view name = "dlrm-reference";
};

/// NASRec-Small (the reference's `autoctr`): FC, DP | EFC.
struct nasrec_small : space<blocks<7>, dense_ops<ops::fc, ops::dot_product>, sparse_ops<ops::efc>,
                            mergers<ops::dense_to_sparse, ops::sparse_to_dense>, nasrec_dense_dims,
                            nasrec_sparse_dims, connect::dense<4>> {
  static constexpr std::string_view name = "nasrec-small";
  static constexpr std::string_view reference_name = "autoctr";
};

/// The spaces a command can name (`--space`), in the order help texts list them.
template <SearchSpace... S>
struct space_list {
  /// "a, b, c" for messages.
  [[nodiscard]] static std::string names() {
    std::string out;
    ((out += (out.empty() ? "" : ", ") + std::string(S::name)), ...);
    return out;
  }
  [[nodiscard]] static bool contains(std::string_view name) { return ((S::name == name) || ...); }
};
using searchable_spaces = space_list<nasrec_full, nasrec_full_cross, nasrec_small>;

namespace detail {
template <class F, class S0, class... Rest>
decltype(auto) visit_named(std::string_view name, F& f) {
  if constexpr (sizeof...(Rest) == 0) {
    return f.template operator()<S0>();  // the caller checked the name
  } else {
    if (S0::name == name) return f.template operator()<S0>();
    return visit_named<F, Rest...>(name, f);
  }
}
template <class F, class... S>
decltype(auto) visit_list(std::string_view name, F& f, space_list<S...>*) {
  return visit_named<F, S...>(name, f);
}
}  // namespace detail

/// Calls f.template operator()<S>() for the space of List named `name`; an unknown name is
/// an std::invalid_argument listing the known ones. Each space in List is instantiated, so a
/// command pays compile time only for the spaces it lists.
template <class List = searchable_spaces, class F>
decltype(auto) visit_space(std::string_view name, F&& f) {
  if (!List::contains(name))
    throw std::invalid_argument("unknown space \"" + std::string(name) +
                                "\" (known: " + List::names() + ")");
  return detail::visit_list(name, f, static_cast<List*>(nullptr));
}

}  // namespace recnas::supernet
