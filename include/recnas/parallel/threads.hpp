#pragma once
// Thread control on top of oneTBB. Determinism rule: work is split into chunks whose
// boundaries depend only on the problem size and the thread count, never on timing, and each
// chunk writes its own output, so a fixed thread count gives bit-identical results.

#include <algorithm>
#include <cstddef>
#include <utility>

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

/// Runs `f` with at most `threads` worker threads (an isolated TBB arena).
template <class F>
decltype(auto) with_threads(int threads, F&& f) {
  expects(threads >= 1, "with_threads needs at least one thread");
  oneapi::tbb::task_arena arena(threads);
  return arena.execute(std::forward<F>(f));
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
  oneapi::tbb::parallel_for(
      oneapi::tbb::blocked_range<std::ptrdiff_t>(0, chunks, 1),
      [&](const oneapi::tbb::blocked_range<std::ptrdiff_t>& r) {
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
