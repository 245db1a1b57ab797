// Training-step throughput (forward + backward, examples/s) at batch 512:
//   * the nasrec_full supernet under random single-operator any-connection paths, computing
//     only the active slices (recnas) vs the same paths on full-width masked weights (the
//     reference's way: every source at full width, zeros for unselected ones, prefix masks);
//   * the released Criteo-Full model as a standalone subnet;
//   * a DLRM-shaped model (bottom MLP, dot interaction, top MLP) built in the same space.
//   recnas_bench_supernet --benchmark_filter='step' --benchmark_min_time=1
//       --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
// The two supernet cases run a fixed 32 iterations (one pass over the same 32 paths in both
// modes), so --benchmark_min_time does not apply to them.
// BM_candidate_evaluation/<threads>: search candidates scored from the supernet per second
// (the `small` budget's head fine-tuning and validation rows), 8 candidates per iteration.
#include <numeric>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include <recnas/parallel/threads.hpp>
#include <recnas/search/nas.hpp>
#include <recnas/supernet/json.hpp>
#include <recnas/supernet/supernet.hpp>
#include <recnas/train/loss.hpp>

#include "peak_reference.hpp"

namespace {

namespace sn = recnas::supernet;
using recnas::index;
using F = sn::nasrec_full;

struct batch_data {
  std::vector<float> dense, labels;
  std::vector<std::int32_t> ids;
  sn::ctr_batch view;
};

batch_data make_batch(const sn::data_shape& ds, index B, std::uint64_t seed) {
  recnas::rng g(seed);
  batch_data d;
  const index F_ = ds.sparse_features();
  d.dense.resize(static_cast<std::size_t>(B * ds.dense_features));
  for (auto& v : d.dense) v = static_cast<float>(g.uniform(0.0, 3.0));
  d.ids.resize(static_cast<std::size_t>(B * F_));
  for (index i = 0; i < B * F_; ++i) {
    const auto rows = ds.table_rows[static_cast<std::size_t>(i % F_)];
    d.ids[static_cast<std::size_t>(i)] =
        static_cast<std::int32_t>(g.below(static_cast<std::uint64_t>(rows)));
  }
  d.labels.resize(static_cast<std::size_t>(B));
  for (auto& l : d.labels) l = g.bernoulli(0.25) ? 1.0f : 0.0f;
  d.view = {B, {d.dense.data(), B, ds.dense_features}, d.ids.data(), nullptr, F_};
  return d;
}

/// The reference's supernet-training path: single operator per block, any connection with
/// 1 + Binomial(min(n-1, 3), 1/2) sources, uniform widths and merger bits.
sn::architecture default_path(recnas::rng& g) {
  auto a = sn::random_architecture<F>(g);
  for (int i = 0; i < F::num_blocks; ++i) {
    auto& b = a.blocks[static_cast<std::size_t>(i)];
    const int n = i + 1;
    b.dense_in = recnas::connect::dense<4>::sample_set_of_size(
        i, 1 + g.binomial(std::min(n - 1, 3), 0.5), g);
    b.sparse_in = recnas::connect::dense<4>::sample_set_of_size(
        i, 1 + g.binomial(std::min(n - 1, 3), 0.5), g);
  }
  return a;
}

/// The released configs, kept with the supernet tests.
std::string config_dir() {
  std::string here = __FILE__;
  return here.substr(0, here.find_last_of('/') + 1) + "../tests/unit/supernet/nasrec-configs/";
}

const sn::data_shape& criteo() {
  static const sn::data_shape ds = sn::data_shape::criteo(1000);
  return ds;
}

sn::supernet<F>& shared_supernet() {
  static sn::supernet<F> net(criteo(), {.layernorm = true}, 1);
  return net;
}

const std::vector<sn::architecture>& paths() {
  static const std::vector<sn::architecture> p = [] {
    recnas::rng g(2024);
    std::vector<sn::architecture> v;
    for (int i = 0; i < 32; ++i) v.push_back(default_path(g));
    return v;
  }();
  return p;
}

/// Times training steps cycling through `archs`. The workspace is the caller's: warm-up runs
/// every arch once (plus one step, which merges the arena into one chunk) the first time, so no
/// timed step allocates or first-touches memory.
template <class Net, class Arch>
void train_steps(benchmark::State& state, Net& net, const std::vector<Arch>& archs, index B,
                 sn::exec_mode mode, sn::workspace<float>& ws, bool& warm) {
  const auto data = make_batch(net.shape(), B, 7);
  std::vector<float> logits(static_cast<std::size_t>(B)), dl(static_cast<std::size_t>(B));
  const int threads = static_cast<int>(state.range(0));
  std::size_t k = 0;
  double loss = 0;
  recnas::parallel::with_threads(threads, [&] {
    if (!warm) {
      for (std::size_t w = 0; w <= archs.size(); ++w) {
        const auto& a = archs[w % archs.size()];
        net.forward(a, data.view, ws, logits, mode);
        net.backward(a, ws, dl);
      }
      warm = true;
    }
    for (auto _ : state) {
      const auto& a = archs[k++ % archs.size()];
      net.forward(a, data.view, ws, logits, mode);
      loss += recnas::train::bce_with_logits<float>(logits, data.labels, dl);
      net.backward(a, ws, dl);  // gradients accumulate: zeroing 52M floats is the optimizer's job
    }
  });
  benchmark::DoNotOptimize(loss);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * B);
  state.counters["threads"] = threads;
  // Useful work: forward + backward ~ 3x the forward's MACs, 2 FLOPs each, per example.
  double mflops = 0;
  for (const auto& a : archs)
    mflops += sn::analyze<F>(a, net.shape(), net.options().layernorm).mflops();
  mflops /= static_cast<double>(archs.size());
  state.counters["subnet_MFLOPs"] = mflops;
  state.counters["peak_fraction"] =
      benchmark::Counter(6.0 * mflops * 1e6 * static_cast<double>(B) /
                             (recnas::bench::peak_gflops_per_core() * 1e9 * threads),
                         benchmark::Counter::kIsIterationInvariantRate);
}

// Sliced and masked time exactly the same paths: every run does one pass over the 32 paths
// (fixed iteration count), each mode with its own long-lived, warmed-up workspace.
void BM_supernet_step_sliced(benchmark::State& state) {
  static sn::workspace<float> ws;
  static bool warm = false;
  train_steps(state, shared_supernet(), paths(), 512, sn::exec_mode::sliced, ws, warm);
}
void BM_supernet_step_masked(benchmark::State& state) {
  static sn::workspace<float> ws;
  static bool warm = false;
  train_steps(state, shared_supernet(), paths(), 512, sn::exec_mode::masked, ws, warm);
}

void BM_criteo_full_standalone_step(benchmark::State& state) {
  const std::string file = config_dir() + "ea_criteo_kaggle_xlarge_best_1shot.json";
  const auto a = sn::read_architecture<F>(file);
  sn::subnet<F> net(a, criteo(), {}, 3);
  sn::workspace<float> ws;
  bool warm = false;
  train_steps(state, net, std::vector<sn::architecture>{a}, 512, sn::exec_mode::sliced, ws, warm);
}

/// DLRM-shaped: bottom MLP 13-512-256-64 (FC chain on the stem), dot interaction of its
/// output with the 26 embeddings (DP), top MLP 512-256 (FC chain), head.
sn::architecture dlrm_like() {
  sn::architecture a;
  auto blk = [](int op, recnas::connect::source_set din, index d) {
    sn::block_choice b;
    b.dense_op = op;
    b.sparse_op = 1;  // EFC (dead: only the last block's tokens reach the head)
    b.dense_in = din;
    b.sparse_in = 1;
    b.d = d;
    b.s = 16;
    return b;
  };
  a.blocks = {blk(0, 0b1, 512),     blk(0, 0b10, 256),    blk(0, 0b100, 64),
              blk(1, 0b1000, 512),  blk(0, 0b10000, 512), blk(0, 0b100000, 256),
              blk(0, 0b1000000, 16)};
  return a;
}

void BM_dlrm_standalone_step(benchmark::State& state) {
  const auto a = dlrm_like();
  sn::subnet<F> net(a, criteo(), {}, 4);
  sn::workspace<float> ws;
  bool warm = false;
  train_steps(state, net, std::vector<sn::architecture>{a}, 512, sn::exec_mode::sliced, ws, warm);
}

void BM_smoke_subnet_step(benchmark::State& state) {
  recnas::rng g(1);
  const auto a = sn::random_architecture<sn::nasrec_small>(g);
  sn::subnet<sn::nasrec_small> net(a, sn::data_shape::kdd(100), {}, 1);
  const auto data = make_batch(net.shape(), 8, 1);
  sn::workspace<float> ws;
  std::vector<float> logits(8), dl(8);
  for (auto _ : state) {
    net.forward(data.view, ws, logits);
    recnas::train::bce_with_logits<float>(logits, data.labels, dl);
    net.backward(ws, dl);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 8);
}

void BM_candidate_evaluation(benchmark::State& state) {
  namespace dt = recnas::data;
  namespace rs = recnas::search;
  const int threads = static_cast<int>(state.range(0));
  static const auto data = dt::dataset::synthetic({}, 40000, true);
  static const sn::supernet<F> super(recnas::train::shape_of(data.features()), {.layernorm = true},
                                     1);
  std::vector<std::uint32_t> train(30000), val(10000);
  std::iota(train.begin(), train.end(), 0U);
  std::iota(val.begin(), val.end(), 30000U);
  const rs::supernet_evaluator<F> ev(super, data, train, val,
                                     {.batch_size = 512,
                                      .finetune_steps = 20,
                                      .finetune_warmup = 2,
                                      .val_batch_size = 4096,
                                      .val_batches = 3});
  recnas::rng g(7);
  std::vector<sn::architecture> cands;
  for (int i = 0; i < 8; ++i) cands.push_back(sn::random_architecture<F>(g));
  for (auto _ : state) benchmark::DoNotOptimize(ev.evaluate_all(cands, threads));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 8);
  state.SetLabel("items/s = candidates/s");
}

}  // namespace

BENCHMARK(BM_candidate_evaluation)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_supernet_step_sliced)
    ->Arg(1)
    ->Arg(2)
    ->Iterations(32)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_supernet_step_masked)
    ->Arg(1)
    ->Arg(2)
    ->Iterations(32)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_criteo_full_standalone_step)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_dlrm_standalone_step)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_smoke_subnet_step);
