#pragma once
// Included only by the ISA translation units that recnas_enable_simd_dispatch() generates.
// Every dispatched kernel table is listed here once; adding a kernel family means adding its
// header and its table to `dispatched_tables`.

// GCC 12 reports false "(may be) used uninitialized" inside its AVX-512 intrinsics
// (_mm512_undefined_ps pass-through operands) in xsimd's math (exp) when it is not inlined
// (-O1 sanitizer builds). The warning is attributed to xsimd's own lines, so the pragma must
// be active where xsimd is first included in the ISA translation units, i.e. here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include <tuple>

#include <xsimd/xsimd.hpp>

#include "recnas/kernels/attention.hpp"
#include "recnas/kernels/elementwise.hpp"
#include "recnas/kernels/embedding.hpp"
#include "recnas/kernels/gemm.hpp"
#include "recnas/kernels/interaction.hpp"
#include "recnas/kernels/optim.hpp"
#include "recnas/kernels/peak.hpp"
#include "recnas/kernels/token_linear.hpp"
#include "recnas/simd/dispatch.hpp"

namespace recnas::simd {

using dispatched_tables =
    std::tuple<kernels::peak_table, kernels::gemm_table, kernels::token_linear_table,
               kernels::embedding_table_k, kernels::interaction_table, kernels::elementwise_table,
               kernels::attention_table, kernels::optim_table>;

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

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
