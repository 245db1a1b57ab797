#pragma once
// Thread control on top of oneTBB. Determinism rule: work is split into chunks whose
// boundaries depend only on the problem size and the thread count, never on timing, and each
// chunk writes its own output, so a fixed thread count gives bit-identical results.
//
// Subnormal floats: with_threads flushes them by default (x86 FTZ + DAZ on every thread that
// runs its work). Training on real data produces subnormal gradients (softmax tails, products
// of small embeddings and gradients), and each arithmetic instruction that reads or writes one
// takes a microcode assist of ~100+ cycles: without the flush, a Criteo-Full training step on
// the Criteo sample takes 1.8x as long (docs/benchmarks.md). Values below FLT_MIN (1.2e-38)
// then read and compute as zero, which changes no result that matters for training. Pass
// subnormals::keep for IEEE gradual underflow.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>

#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>
#endif

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>

#include "recnas/core/error.hpp"

namespace recnas::parallel {

/// Hardware threads available to this process.
[[nodiscard]] inline int hardware_threads() noexcept {
  return std::max(1, oneapi::tbb::info::default_concurrency());
}

/// Threads the calling code may use now (the enclosing arena's limit).
[[nodiscard]] inline int current_threads() noexcept {
  return std::max(1, oneapi::tbb::this_task_arena::max_concurrency());
}

/// How the work run by with_threads treats subnormal floats (see the header comment).
enum class subnormals : std::uint8_t {
  flush,  // results below FLT_MIN become zero and such inputs read as zero (FTZ + DAZ)
  keep,   // IEEE gradual underflow (slow on x86 when subnormals occur)
};

namespace detail {
#if defined(__x86_64__) || defined(_M_X64)
inline constexpr unsigned fp_flush_bits = 0x8040U;  // MXCSR: FTZ (bit 15) | DAZ (bit 6)
inline unsigned fp_mode() noexcept { return _mm_getcsr(); }
inline void set_fp_mode(unsigned m) noexcept { _mm_setcsr(m); }
#else
inline constexpr unsigned fp_flush_bits = 0U;  // other targets keep their default mode
inline unsigned fp_mode() noexcept { return 0U; }
inline void set_fp_mode(unsigned /*m*/) noexcept {}
#endif

/// Sets the calling thread's subnormal bits (fp_flush_bits of `bits`) for its lifetime and
/// then restores them; the other control bits and the sticky exception flags are untouched.
class scoped_fp_mode {
 public:
  explicit scoped_fp_mode(unsigned bits) noexcept : saved_(fp_mode() & fp_flush_bits) {
    if ((bits & fp_flush_bits) != saved_) set(bits & fp_flush_bits);
  }
  scoped_fp_mode(const scoped_fp_mode&) = delete;
  scoped_fp_mode& operator=(const scoped_fp_mode&) = delete;
  ~scoped_fp_mode() {
    if ((fp_mode() & fp_flush_bits) != saved_) set(saved_);
  }

 private:
  static void set(unsigned bits) noexcept { set_fp_mode((fp_mode() & ~fp_flush_bits) | bits); }
  unsigned saved_;
};
}  // namespace detail

/// Runs `f` with at most `threads` worker threads (an isolated TBB arena), with subnormal
/// floats flushed on every thread that runs its work unless `mode` is subnormals::keep.
template <class F>
decltype(auto) with_threads(int threads, F&& f, subnormals mode = subnormals::flush) {
  expects(threads >= 1, "with_threads needs at least one thread");
  oneapi::tbb::task_arena arena(threads);
  const unsigned bits = mode == subnormals::flush ? detail::fp_flush_bits : 0U;
  return arena.execute([&]() -> decltype(auto) {
    const detail::scoped_fp_mode fp(bits);
    return std::forward<F>(f)();
  });
}

/// Calls body(begin, end) on `chunks` contiguous, equal-as-possible pieces of [0, n), in
/// parallel. The split depends on (n, chunks) only, which keeps reductions deterministic.
template <class Body>
void for_chunks(std::ptrdiff_t n, std::ptrdiff_t chunks, Body&& body) {
  if (n <= 0) return;
  chunks = std::clamp<std::ptrdiff_t>(chunks, 1, n);
  auto piece = [&](std::ptrdiff_t c) {
    const std::ptrdiff_t begin = n * c / chunks;
    const std::ptrdiff_t end = n * (c + 1) / chunks;
    body(begin, end);
  };
  if (chunks == 1) {
    piece(0);
    return;
  }
  // Chunks run with the caller's subnormal mode on whichever thread takes them, so the result
  // does not depend on which thread ran which chunk.
  const unsigned fp = detail::fp_mode() & detail::fp_flush_bits;
  oneapi::tbb::parallel_for(
      oneapi::tbb::blocked_range<std::ptrdiff_t>(0, chunks, 1),
      [&](const oneapi::tbb::blocked_range<std::ptrdiff_t>& r) {
        const detail::scoped_fp_mode mode(fp);
        for (std::ptrdiff_t c = r.begin(); c != r.end(); ++c) piece(c);
      },
      oneapi::tbb::static_partitioner{});
}

/// Splits [0, n) over the current thread count when the work (`cost` ~ flops) pays for it.
template <class Body>
void parallel_rows(std::ptrdiff_t n, double cost, Body&& body, double min_cost_per_thread = 2e5) {
  const int threads = current_threads();
  const auto useful = static_cast<std::ptrdiff_t>(cost / min_cost_per_thread);
  const std::ptrdiff_t chunks = std::clamp<std::ptrdiff_t>(useful, 1, threads);
  for_chunks(n, chunks, std::forward<Body>(body));
}

}  // namespace recnas::parallel
