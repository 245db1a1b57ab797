// The machine's peak FP32 FMA rate per core, per ISA: the yardstick of every kernel benchmark.
//   recnas_bench_peak --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <thread>
#include <vector>

#include <recnas/kernels/peak.hpp>
#include <recnas/parallel/threads.hpp>
#include <recnas/simd/dispatch.hpp>

namespace {

using recnas::simd::isa;

void run_peak(benchmark::State& state, isa level, int threads) {
  if (static_cast<int>(level) > static_cast<int>(recnas::simd::detected_isa())) {
    state.SkipWithError("ISA not supported by this CPU");
    return;
  }
  recnas::simd::scoped_isa guard(level);
  const auto& t = recnas::kernels::peak();
  const std::int64_t iters = state.range(0);
  float sink = 0.0f;
  for (auto _ : state) {
    recnas::parallel::with_threads(threads, [&] {
      recnas::parallel::for_chunks(threads, threads, [&](std::ptrdiff_t, std::ptrdiff_t) {
        benchmark::DoNotOptimize(t.fma_chains(iters, 1.0f));
      });
    });
    benchmark::DoNotOptimize(sink);
  }
  const double flops = static_cast<double>(iters * t.flops_per_iteration) * threads;
  state.counters["GFLOPS"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOPS_per_core"] =
      benchmark::Counter(flops * 1e-9 / threads, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["lanes"] = t.lanes;
  state.SetLabel(std::string(recnas::simd::to_string(
      recnas::simd::dispatcher<recnas::kernels::peak_table>::selected())));
}

void BM_peak_fma(benchmark::State& state) {
  run_peak(state, static_cast<isa>(state.range(1)), static_cast<int>(state.range(2)));
}
// args: iterations, isa (0 generic, 1 avx2, 2 avx512), threads
BENCHMARK(BM_peak_fma)
    ->ArgNames({"iters", "isa", "threads"})
    ->Args({1 << 20, 0, 1})
    ->Args({1 << 20, 1, 1})
    ->Args({1 << 20, 2, 1})
    ->Args({1 << 20, 1, 2})
    ->Args({1 << 20, 2, 2})
    ->UseRealTime();

void BM_smoke_peak(benchmark::State& state) { run_peak(state, isa::generic, 1); }
BENCHMARK(BM_smoke_peak)->Arg(1000);

}  // namespace
