#pragma once
// Included only by the ISA translation units that recnas_enable_simd_dispatch() generates.
// Every dispatched kernel table is listed here once; adding a kernel family means adding its
// header and its table to `dispatched_tables`.

#include <tuple>

#include "recnas/kernels/peak.hpp"
#include "recnas/simd/dispatch.hpp"

namespace recnas::simd {

using dispatched_tables = std::tuple<kernels::peak_table>;

template <class Arch>
struct isa_registration {
  static const bool registered;

 private:
  template <class... Tables>
  static bool install_all(std::tuple<Tables...>*) {
    // Function-local statics: built once, live for the program.
    (dispatcher<Tables>::install(isa_of<Arch>(), &table<Tables>()), ...);
    return true;
  }
  template <class Table>
  static const Table& table() {
    static const Table t = Table::template make<Arch>();
    return t;
  }

 public:
  static bool install() { return install_all(static_cast<dispatched_tables*>(nullptr)); }
};

template <class Arch>
const bool isa_registration<Arch>::registered = isa_registration<Arch>::install();

}  // namespace recnas::simd
