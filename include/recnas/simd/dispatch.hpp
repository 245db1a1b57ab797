#pragma once
// Run-time selection of a kernel table by ISA.
//
// A kernel family is a struct of function pointers (a "table") with a factory
// `template <class Arch> static Table make();` that fills it with the Arch instantiation of
// its kernels. Tables for AVX2 and AVX-512 are compiled in separate translation units with
// those ISAs' flags (CMake: recnas_enable_simd_dispatch) and install themselves at start-up;
// `dispatcher<Table>::get()` returns the best installed table allowed by active_isa(), and
// otherwise the table built for the calling translation unit's default architecture.
//
// Rule for ISA translation units: they call install() only, never get(), so no code built for
// the caller's default architecture is ever compiled with wider-ISA flags (an ODR hazard).
// They define RECNAS_ISA_TRANSLATION_UNIT before including the kernels, and every kernel
// header hides its public (non-template, dispatching) entry points behind it: an inline
// function compiled with AVX-512 flags in one translation unit could otherwise be the copy the
// linker keeps, and crash a machine without AVX-512.

#include <array>
#include <atomic>
#include <concepts>

#include <xsimd/xsimd.hpp>

#include "recnas/simd/isa.hpp"

namespace recnas::simd {

/// A kernel table: default-constructible aggregate with a per-architecture factory.
template <class T>
concept KernelTable = std::default_initializable<T> && requires {
  { T::template make<fallback_arch>() } -> std::same_as<T>;
};

template <class Table>
class dispatcher {
 public:
  /// Called from an ISA translation unit at static-initialisation time.
  static bool install(isa level, const Table* table) noexcept {
    slots()[static_cast<int>(level)].store(table, std::memory_order_release);
    return true;
  }

  /// The table kernels should use now; cheap enough to call per kernel invocation.
  [[nodiscard]] static const Table& get() {
    static_assert(KernelTable<Table>,
                  "recnas: a dispatched kernel table needs `template <class Arch> static Table "
                  "make();` returning the table filled for Arch.");
    const int top = static_cast<int>(active_isa());
    for (int level = top; level > 0; --level) {
      if (const Table* t = slots()[level].load(std::memory_order_acquire)) return *t;
    }
    return fallback();
  }

  /// The ISA of the table get() returns now (for benchmark labels and tests).
  [[nodiscard]] static isa selected() {
    const int top = static_cast<int>(active_isa());
    for (int level = top; level > 0; --level) {
      if (slots()[level].load(std::memory_order_acquire) != nullptr) return static_cast<isa>(level);
    }
    return isa_of<fallback_arch>() <= static_cast<isa>(top) ? isa_of<fallback_arch>()
                                                            : isa::generic;
  }

  /// Whether an ISA translation unit installed a table for `level`.
  [[nodiscard]] static bool installed(isa level) noexcept {
    return slots()[static_cast<int>(level)].load(std::memory_order_acquire) != nullptr;
  }

 private:
  static std::array<std::atomic<const Table*>, isa_count>& slots() noexcept {
    static std::array<std::atomic<const Table*>, isa_count> s{};
    return s;
  }
  static const Table& fallback() {
    static const Table t = Table::template make<fallback_arch>();
    return t;
  }
};

}  // namespace recnas::simd
