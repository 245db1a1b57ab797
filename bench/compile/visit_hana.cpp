// Compile-time probe (bench/compile/hana_vs_packs.sh): the same dispatch as visit_packs.cpp
// written with Boost.Hana (hana::tuple_t, hana::for_each).
#include <cstddef>
#include <string_view>

#include <boost/hana.hpp>

namespace hana = boost::hana;

template <std::size_t I>
struct space_tag {
  static constexpr std::size_t value = I;
  static constexpr std::string_view name = "space";
};

template <std::size_t... I>
constexpr auto make(std::index_sequence<I...>) {
  return hana::tuple_t<space_tag<I>...>;
}
constexpr auto all = make(std::make_index_sequence<RECNAS_PROBE_N>{});

int main(int argc, char**) {
  std::size_t sum = 0;
  bool hit = false;
  hana::for_each(all, [&](auto t) {
    using S = typename decltype(t)::type;
    if (!hit && S::name == "space" && S::value == static_cast<std::size_t>(argc)) {
      sum += S::value;
      hit = true;
    }
  });
  return static_cast<int>(sum);
}
