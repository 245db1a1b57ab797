#pragma once
// Building blocks of the policy concepts. Every customisation point of recnas (operators,
// connectivity, samplers, search strategies, optimizers, cost models, PIM devices, ADCs,
// mappings) is a type that names itself and declares which kind of policy it is; each layer
// adds its own requirements on top (for example recnas::ops::Operator). A type that is used
// as the wrong kind of policy fails one static_assert that says which kind was expected.

#include <concepts>
#include <cstdint>
#include <random>
#include <string_view>
#include <type_traits>

namespace recnas {

/// The kinds of policy types that recnas composes.
enum class policy_kind : std::uint8_t {
  dense_operator,   // [B, w] -> [B, d]
  sparse_operator,  // [B, T, E] -> [B, s, E]
  merger,           // dense <-> sparse interaction modules
  connectivity,     // which earlier blocks feed a block
  sampler,          // path sampling during supernet training
  search,           // search strategy over architectures
  optimizer,        // parameter update rule
  cost_model,       // hardware / FLOPs cost of an architecture
  pim_device,       // memory cell technology
  pim_adc,          // analog-to-digital converter model
  pim_mapping,      // placement of operators on PIM resources
};

[[nodiscard]] constexpr std::string_view to_string(policy_kind k) noexcept {
  switch (k) {
    case policy_kind::dense_operator: return "dense operator";
    case policy_kind::sparse_operator: return "sparse operator";
    case policy_kind::merger: return "merger";
    case policy_kind::connectivity: return "connectivity";
    case policy_kind::sampler: return "sampler";
    case policy_kind::search: return "search";
    case policy_kind::optimizer: return "optimizer";
    case policy_kind::cost_model: return "cost model";
    case policy_kind::pim_device: return "PIM device";
    case policy_kind::pim_adc: return "PIM ADC";
    case policy_kind::pim_mapping: return "PIM mapping";
  }
  return "unknown";
}

namespace detail {
/// For static_asserts that must depend on a template parameter.
template <class...>
inline constexpr bool always_false = false;
}  // namespace detail

/// `static constexpr std::string_view name = "...";` identifies a policy in JSON and reports.
template <class T>
concept Named = requires {
  { T::name } -> std::convertible_to<std::string_view>;
};

/// `static constexpr recnas::policy_kind kind = ...;` says what the policy is for.
template <class T>
concept HasPolicyKind = requires {
  { T::kind } -> std::convertible_to<policy_kind>;
};

/// A named policy type of kind K. Layers refine this with their own operations.
template <class T, policy_kind K>
concept PolicyOf = Named<T> && HasPolicyKind<T> && (T::kind == K);

/// A source of randomness usable by samplers and searches (recnas::rng models it).
template <class G>
concept RandomSource = std::uniform_random_bit_generator<std::remove_reference_t<G>> &&
                       requires(G& g, std::uint64_t n) {
                         { g.uniform() } -> std::same_as<double>;
                         { g.below(n) } -> std::same_as<std::uint64_t>;
                       };

/// Checks, with one readable message, that T is a policy of kind K. Use at public entry points
/// (`static_assert(check_policy<Op, policy_kind::dense_operator>())`) so that the user sees
/// this sentence instead of a page of substitution failures.
template <class T, policy_kind K>
consteval bool check_policy() {
  if constexpr (!Named<T>) {
    static_assert(detail::always_false<T>,
                  "recnas: this policy type has no name; add "
                  "`static constexpr std::string_view name = \"my_policy\";` to it.");
    return false;
  } else if constexpr (!HasPolicyKind<T>) {
    static_assert(detail::always_false<T>,
                  "recnas: this policy type does not say what it is; add "
                  "`static constexpr recnas::policy_kind kind = recnas::policy_kind::...;`.");
    return false;
  } else if constexpr (T::kind != K) {
    static_assert(detail::always_false<T>,
                  "recnas: this policy type is of another kind than the slot it is used in "
                  "(e.g. a sparse operator in a dense operator list); move it to the right list.");
    return false;
  } else {
    return true;
  }
}

}  // namespace recnas
