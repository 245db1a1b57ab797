// Model evaluations per second of the PIM model: the co-search calls the analytic model once
// per candidate (target >= 100k/s on a NASRec-sized subnet); the cycle-level simulation is the
// slower validator.
//   recnas_bench_pim --benchmark_counters_tabular=true
#include <algorithm>
#include <array>
#include <vector>

#include <benchmark/benchmark.h>

#include <recnas/core/rng.hpp>
#include <recnas/pim/pim.hpp>
#include <recnas/supernet/architecture.hpp>
#include <recnas/supernet/spaces.hpp>
#include <recnas/supernet/workload.hpp>

namespace {

namespace pim = recnas::pim;

template <class Arch, class Map>
void run_analytic(benchmark::State& state, const pim::workload& w, const pim::pim_config& c) {
  pim::analytic_model<Arch, Map> m;
  m.evaluate(w, c);  // warm: buffers reach their size, no allocation afterwards
  for (auto _ : state) {
    const auto& r = m.evaluate(w, c);
    benchmark::DoNotOptimize(r.energy.array);
  }
  state.counters["evals_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["layers"] = static_cast<double>(w.size());
}

pim::pim_config isaac8() {
  auto c = pim::isaac_preset();
  c.weight_bits = c.act_bits = 8;
  return c;
}

void BM_pim_analytic_nasrec_isaac_naive(benchmark::State& state) {
  run_analytic<pim::isaac_architecture, pim::naive_mapping>(state, pim::nasrec_reference_subnet(),
                                                            isaac8());
}
void BM_pim_analytic_nasrec_isaac_aware(benchmark::State& state) {
  run_analytic<pim::isaac_architecture, pim::pim_aware_mapping>(
      state, pim::nasrec_reference_subnet(), isaac8());
}
void BM_pim_analytic_nasrec_neurosim(benchmark::State& state) {
  run_analytic<pim::neurosim_architecture, pim::naive_mapping>(
      state, pim::nasrec_reference_subnet(), pim::neurosim_preset());
}
void BM_pim_analytic_dlrm_isaac_aware(benchmark::State& state) {
  run_analytic<pim::isaac_architecture, pim::pim_aware_mapping>(state, pim::dlrm_criteo_kaggle(),
                                                                isaac8());
}

/// What a search step pays: build the candidate's workload, then evaluate it.
void BM_pim_build_and_evaluate_nasrec(benchmark::State& state) {
  pim::analytic_model<pim::isaac_architecture, pim::pim_aware_mapping> m;
  const auto c = isaac8();
  for (auto _ : state) {
    const auto w = pim::nasrec_reference_subnet();
    benchmark::DoNotOptimize(m.evaluate(w, c).energy.array);
  }
  state.counters["evals_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_pim_analytic_nasrec_puma(benchmark::State& state) {
  run_analytic<pim::puma_architecture, pim::pim_aware_mapping>(
      state, pim::nasrec_reference_subnet(), pim::puma_preset());
}

/// A search step with the real adapter: a random NASRec-Full subnet's workload from the
/// supernet plan (pim::workload_of), then the analytic evaluation.
void BM_pim_adapter_and_evaluate_nasrec_full(benchmark::State& state) {
  namespace sn = recnas::supernet;
  recnas::rng g(7);
  std::vector<sn::architecture> archs;
  for (int i = 0; i < 16; ++i) archs.push_back(sn::random_architecture<sn::nasrec_full>(g));
  const auto ds = sn::data_shape::criteo(500'000);
  pim::analytic_model<pim::isaac_architecture, pim::pim_aware_mapping> m;
  const auto c = isaac8();
  std::size_t i = 0;
  double layers = 0.0;
  for (auto _ : state) {
    const auto w = sn::workload_of<sn::nasrec_full>(archs[i++ % archs.size()], ds);
    layers += static_cast<double>(w.size());
    benchmark::DoNotOptimize(m.evaluate(w, c).energy.array);
  }
  state.counters["evals_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["layers"] =
      layers / static_cast<double>(std::max<recnas::index>(1, state.iterations()));
}

/// The adapter alone (the same 16 architectures): what a search step pays before evaluating.
void BM_pim_adapter_only_nasrec_full(benchmark::State& state) {
  namespace sn = recnas::supernet;
  recnas::rng g(7);
  std::vector<sn::architecture> archs;
  for (int i = 0; i < 16; ++i) archs.push_back(sn::random_architecture<sn::nasrec_full>(g));
  const auto ds = sn::data_shape::criteo(500'000);
  std::size_t i = 0;
  for (auto _ : state) {
    const auto w = sn::workload_of<sn::nasrec_full>(archs[i++ % archs.size()], ds);
    benchmark::DoNotOptimize(w.layers.data());
  }
  state.counters["evals_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_pim_simulate_nasrec(benchmark::State& state) {
  const auto w = pim::nasrec_reference_subnet();
  const auto c = isaac8();
  pim::analytic_model<pim::isaac_architecture, pim::naive_mapping> m;
  m.evaluate(w, c);
  const auto batch = static_cast<recnas::index>(state.range(0));
  for (auto _ : state) {
    const auto s = pim::simulate(w, c, m, {.batch = batch});
    benchmark::DoNotOptimize(s.makespan);
  }
  state.counters["evals_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_pim_smoke(benchmark::State& state) {
  const std::array<recnas::index, 3> dims{13, 64, 1};
  run_analytic<pim::neurosim_architecture, pim::naive_mapping>(state, pim::mlp(dims),
                                                               pim::neurosim_preset());
}

}  // namespace

BENCHMARK(BM_pim_analytic_nasrec_isaac_naive);
BENCHMARK(BM_pim_analytic_nasrec_isaac_aware);
BENCHMARK(BM_pim_analytic_nasrec_neurosim);
BENCHMARK(BM_pim_analytic_dlrm_isaac_aware);
BENCHMARK(BM_pim_analytic_nasrec_puma);
BENCHMARK(BM_pim_build_and_evaluate_nasrec);
BENCHMARK(BM_pim_adapter_and_evaluate_nasrec_full);
BENCHMARK(BM_pim_adapter_only_nasrec_full);
BENCHMARK(BM_pim_simulate_nasrec)->Arg(32)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_pim_smoke);
