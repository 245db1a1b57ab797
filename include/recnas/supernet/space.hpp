#pragma once
// Search spaces composed at compile time:
//
//   using my_space = recnas::supernet::space<
//       blocks<7>, dense_ops<ops::fc, ops::dot_product>, sparse_ops<ops::efc>,
//       mergers<ops::dense_to_sparse, ops::sparse_to_dense>,
//       dense_dims<16, 32, 64, 128, 256, 512, 768, 1024>, sparse_dims<16, 32, 48, 64>,
//       connect::dense<4>>;
//
// The type owns the vocabulary (closed operator lists, candidate widths, connectivity); an
// `architecture` owns the run-time choice (per-block operator indices, inputs, widths, merger
// bits). Operators are visited once per block through visit_dense/visit_sparse. The named
// spaces (NASRec-Full, NASRec-Small, ...) and visit_space are in supernet/spaces.hpp.

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "recnas/connect/chain.hpp"
#include "recnas/connect/concepts.hpp"
#include "recnas/connect/dense.hpp"
#include "recnas/ops/concepts.hpp"

namespace recnas::supernet {

template <int N>
struct blocks {
  static_assert(N >= 1 && N <= 62, "blocks<N>: a space has 1..62 blocks");
  static constexpr int value = N;
};
template <class... Ops>
struct dense_ops {};
template <class... Ops>
struct sparse_ops {};
template <class... Ms>
struct mergers {};
template <index... Ds>
struct dense_dims {};
template <index... Ss>
struct sparse_dims {};

namespace detail {
template <class T>
struct is_blocks : std::false_type {};
template <int N>
struct is_blocks<blocks<N>> : std::true_type {};
template <class T>
struct is_dense_ops : std::false_type {};
template <class... A>
struct is_dense_ops<dense_ops<A...>> : std::true_type {};
template <class T>
struct is_sparse_ops : std::false_type {};
template <class... A>
struct is_sparse_ops<sparse_ops<A...>> : std::true_type {};
template <class T>
struct is_mergers : std::false_type {};
template <class... A>
struct is_mergers<mergers<A...>> : std::true_type {};
template <class T>
struct is_dense_dims : std::false_type {};
template <index... A>
struct is_dense_dims<dense_dims<A...>> : std::true_type {};
template <class T>
struct is_sparse_dims : std::false_type {};
template <index... A>
struct is_sparse_dims<sparse_dims<A...>> : std::true_type {};
template <class T>
struct is_other : std::bool_constant<!(is_blocks<T>::value || is_dense_ops<T>::value ||
                                       is_sparse_ops<T>::value || is_mergers<T>::value ||
                                       is_dense_dims<T>::value || is_sparse_dims<T>::value)> {};

template <template <class> class Pred, class... Ts>
struct first_match {
  using type = void;
};
template <template <class> class Pred, class T, class... Ts>
struct first_match<Pred, T, Ts...> {
  using type = std::conditional_t<Pred<T>::value, T, typename first_match<Pred, Ts...>::type>;
};
template <template <class> class Pred, class... Ts>
inline constexpr int count_matches = (0 + ... + (Pred<Ts>::value ? 1 : 0));

template <class L>
struct list_traits;
template <class... Ops>
struct list_traits<dense_ops<Ops...>> {
  using tuple = std::tuple<Ops...>;
  static constexpr bool ok = (true && ... && ops::check_dense_operator<Ops>());
};
template <class... Ops>
struct list_traits<sparse_ops<Ops...>> {
  using tuple = std::tuple<Ops...>;
  static constexpr bool ok = (true && ... && ops::check_sparse_operator<Ops>());
};
template <class... Ms>
struct list_traits<mergers<Ms...>> {
  using tuple = std::tuple<Ms...>;
  static constexpr bool ok = (true && ... && ops::check_merger<Ms>());
};
template <>
struct list_traits<void> {
  using tuple = std::tuple<>;
  static constexpr bool ok = false;
};

template <class D>
struct dims_of {
  static constexpr std::array<index, 0> values{};
};
template <index... Ds>
struct dims_of<dense_dims<Ds...>> {
  static constexpr std::array<index, sizeof...(Ds)> values{Ds...};
};
template <index... Ds>
struct dims_of<sparse_dims<Ds...>> {
  static constexpr std::array<index, sizeof...(Ds)> values{Ds...};
};

template <std::size_t N>
constexpr bool increasing(const std::array<index, N>& a) {
  if (N == 0 || a[0] <= 0) return false;
  for (std::size_t i = 1; i < N; ++i) {
    if (a[i] <= a[i - 1]) return false;
  }
  return true;
}

template <class C>
consteval bool check_connectivity_part() {
  if constexpr (std::is_void_v<C>) {
    return false;  // already reported: "needs exactly one connectivity policy"
  } else {
    return connect::check_connectivity<C>();
  }
}

template <class Tuple, class F, std::size_t... I>
constexpr bool visit_index(int i, F&& f, std::index_sequence<I...>) {
  return ((i == static_cast<int>(I)
               ? (f.template operator()<std::tuple_element_t<I, Tuple>>(), true)
               : false) ||
          ...);
}
template <class Tuple, class F, std::size_t... I>
constexpr void for_each_type(F&& f, std::index_sequence<I...>) {
  (f.template operator()<std::tuple_element_t<I, Tuple>>(std::integral_constant<int, int(I)>{}),
   ...);
}
}  // namespace detail

template <class... Parts>
struct space {
 private:
  static_assert(detail::count_matches<detail::is_blocks, Parts...> == 1,
                "recnas::supernet::space needs exactly one blocks<N> part.");
  static_assert(detail::count_matches<detail::is_dense_ops, Parts...> == 1,
                "recnas::supernet::space needs exactly one dense_ops<...> part.");
  static_assert(detail::count_matches<detail::is_sparse_ops, Parts...> == 1,
                "recnas::supernet::space needs exactly one sparse_ops<...> part.");
  static_assert(detail::count_matches<detail::is_mergers, Parts...> <= 1,
                "recnas::supernet::space takes at most one mergers<...> part.");
  static_assert(detail::count_matches<detail::is_dense_dims, Parts...> == 1,
                "recnas::supernet::space needs exactly one dense_dims<...> part.");
  static_assert(detail::count_matches<detail::is_sparse_dims, Parts...> == 1,
                "recnas::supernet::space needs exactly one sparse_dims<...> part.");
  static_assert(detail::count_matches<detail::is_other, Parts...> == 1,
                "recnas::supernet::space needs exactly one connectivity policy (e.g. "
                "recnas::connect::dense<4>) and no other parts.");
  using blocks_part = typename detail::first_match<detail::is_blocks, Parts...>::type;
  using dense_part = typename detail::first_match<detail::is_dense_ops, Parts...>::type;
  using sparse_part = typename detail::first_match<detail::is_sparse_ops, Parts...>::type;
  using merger_part =
      std::conditional_t<detail::count_matches<detail::is_mergers, Parts...> == 1,
                         typename detail::first_match<detail::is_mergers, Parts...>::type,
                         mergers<>>;
  using ddims_part = typename detail::first_match<detail::is_dense_dims, Parts...>::type;
  using sdims_part = typename detail::first_match<detail::is_sparse_dims, Parts...>::type;

 public:
  using connectivity = typename detail::first_match<detail::is_other, Parts...>::type;
  using dense_list = typename detail::list_traits<dense_part>::tuple;
  using sparse_list = typename detail::list_traits<sparse_part>::tuple;
  using merger_list = typename detail::list_traits<merger_part>::tuple;

  static constexpr std::string_view name = "custom";
  static constexpr int num_blocks = blocks_part::value;
  static constexpr int num_dense_ops = static_cast<int>(std::tuple_size_v<dense_list>);
  static constexpr int num_sparse_ops = static_cast<int>(std::tuple_size_v<sparse_list>);
  static constexpr int num_mergers = static_cast<int>(std::tuple_size_v<merger_list>);
  static constexpr auto dense_dim_values = detail::dims_of<ddims_part>::values;
  static constexpr auto sparse_dim_values = detail::dims_of<sdims_part>::values;

  static_assert(num_dense_ops >= 1, "dense_ops<...> must list at least one dense operator.");
  static_assert(num_sparse_ops >= 1, "sparse_ops<...> must list at least one sparse operator.");
  static_assert(num_mergers <= 16, "mergers<...>: at most 16 mergers per space.");
  static_assert(num_dense_ops <= 32 && num_sparse_ops <= 32,
                "dense_ops<...> and sparse_ops<...>: at most 32 operators each (a block's "
                "extra operators are a 32-bit set).");
  // The checks report their own message; `|| true` keeps a second, empty one from appearing.
  static_assert(detail::list_traits<dense_part>::ok || true);
  static_assert(detail::list_traits<sparse_part>::ok || true);
  static_assert(detail::list_traits<merger_part>::ok || true);
  static_assert(detail::check_connectivity_part<connectivity>() || true);
  static_assert(detail::increasing(dense_dim_values),
                "dense_dims<...> must list positive widths in strictly increasing order.");
  static_assert(detail::increasing(sparse_dim_values),
                "sparse_dims<...> must list positive token counts in strictly increasing order.");

  static constexpr index max_dense_dim = dense_dim_values.back();
  static constexpr index max_sparse_dim = sparse_dim_values.back();

  /// Calls f.template operator()<Op>() for dense operator i; false if i is out of range.
  template <class F>
  static constexpr bool visit_dense(int i, F&& f) {
    return detail::visit_index<dense_list>(i, f, std::make_index_sequence<num_dense_ops>{});
  }
  template <class F>
  static constexpr bool visit_sparse(int i, F&& f) {
    return detail::visit_index<sparse_list>(i, f, std::make_index_sequence<num_sparse_ops>{});
  }
  template <class F>
  static constexpr bool visit_merger(int i, F&& f) {
    return detail::visit_index<merger_list>(i, f, std::make_index_sequence<num_mergers>{});
  }
  /// f.template operator()<M>(std::integral_constant<int, i>) for every merger, in order.
  template <class F>
  static constexpr void for_each_merger(F&& f) {
    detail::for_each_type<merger_list>(f, std::make_index_sequence<num_mergers>{});
  }

  static constexpr std::string_view dense_op_name(int i) {
    std::string_view n;
    visit_dense(i, [&]<class Op>() { n = Op::name; });
    return n;
  }
  static constexpr std::string_view sparse_op_name(int i) {
    std::string_view n;
    visit_sparse(i, [&]<class Op>() { n = Op::name; });
    return n;
  }
  static constexpr std::string_view merger_name(int i) {
    std::string_view n;
    visit_merger(i, [&]<class M>() { n = M::name; });
    return n;
  }
  static int dense_op_index(std::string_view n) {
    for (int i = 0; i < num_dense_ops; ++i) {
      if (dense_op_name(i) == n) return i;
    }
    return -1;
  }
  static int sparse_op_index(std::string_view n) {
    for (int i = 0; i < num_sparse_ops; ++i) {
      if (sparse_op_name(i) == n) return i;
    }
    return -1;
  }
  static int merger_index(std::string_view n) {
    for (int i = 0; i < num_mergers; ++i) {
      if (merger_name(i) == n) return i;
    }
    return -1;
  }
  static int dense_dim_index(index d) {
    for (std::size_t i = 0; i < dense_dim_values.size(); ++i) {
      if (dense_dim_values[i] == d) return static_cast<int>(i);
    }
    return -1;
  }
  static int sparse_dim_index(index s) {
    for (std::size_t i = 0; i < sparse_dim_values.size(); ++i) {
      if (sparse_dim_values[i] == s) return static_cast<int>(i);
    }
    return -1;
  }
  /// Tokens all mergers of the space may append to a block's sparse output.
  static constexpr index max_merger_tokens() {
    index t = 0;
    for_each_merger([&]<class M>(auto) {
      if constexpr (M::direction == ops::merge_direction::dense_to_sparse) t += M::tokens;
    });
    return t;
  }
};

/// A type usable as a search space (a space<...> or a type derived from one).
template <class S>
concept SearchSpace = requires {
  typename S::connectivity;
  typename S::dense_list;
  typename S::sparse_list;
  typename S::merger_list;
  { S::num_blocks } -> std::convertible_to<int>;
  { S::name } -> std::convertible_to<std::string_view>;
};

}  // namespace recnas::supernet
