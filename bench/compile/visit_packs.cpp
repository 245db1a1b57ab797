// Compile-time probe (bench/compile/hana_vs_packs.sh): name -> type dispatch over N spaces
// with a plain parameter pack and a fold, the way supernet::visit_space does it.
#include <cstddef>
#include <string_view>

template <std::size_t I>
struct space_tag {
  static constexpr std::size_t value = I;
  static constexpr std::string_view name = "space";
};

template <class... S>
struct space_list {
  template <class F>
  static bool visit(std::string_view n, std::size_t k, F&& f) {
    bool hit = false;
    ((!hit && S::name == n && S::value == k ? (f.template operator()<S>(), hit = true) : false),
     ...);
    return hit;
  }
};

template <std::size_t... I>
auto make(std::index_sequence<I...>) -> space_list<space_tag<I>...>;
using all = decltype(make(std::make_index_sequence<RECNAS_PROBE_N>{}));

int main(int argc, char**) {
  std::size_t sum = 0;
  all::visit("space", static_cast<std::size_t>(argc), [&]<class S>() { sum += S::value; });
  return static_cast<int>(sum);
}
