// Kernel benchmarks: GFLOP/s (or GB/s) and the fraction of the machine's measured peak, side by
// side with Eigen's product on the same shapes.
//   recnas_bench_kernels --benchmark_counters_tabular=true --benchmark_repetitions=3
//     --benchmark_report_aggregates_only=true
// Names: BM_gemm_fwd/<M>/<N>/<K>/<threads> (M = batch, N = d_out, K = d_in), BM_gemm_bwd/...,
// their Eigen twins BM_eigen_gemm_fwd/..., BM_eigen_gemm_bwd/... (Eigen compiled at the ISA our
// kernels run at, bench/support/eigen_twin.hpp; label "Eigen AVX512" / "Eigen AVX2") and
// BM_eigen_sse2_gemm_{fwd,bwd}/... (Eigen with the project's default flags, for reference).
// Baselines for the embedding kernels: BM_memcpy_bandwidth, BM_random_row_copy.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <sys/mman.h>

#include <Eigen/Core>
#include <benchmark/benchmark.h>

#include <recnas/core/aligned_buffer.hpp>
#include <recnas/core/rng.hpp>
#include <recnas/kernels/attention.hpp>
#include <recnas/kernels/elementwise.hpp>
#include <recnas/kernels/embedding.hpp>
#include <recnas/kernels/gemm.hpp>
#include <recnas/kernels/interaction.hpp>
#include <recnas/kernels/optim.hpp>
#include <recnas/kernels/token_linear.hpp>
#include <recnas/parallel/threads.hpp>

#include "eigen_twin.hpp"
#include "peak_reference.hpp"

namespace {

namespace rk = recnas::kernels;
using recnas::index;
using rowmat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

recnas::aligned_buffer<float> random_buffer(index n, std::uint64_t seed) {
  recnas::aligned_buffer<float> b(static_cast<std::size_t>(n));
  recnas::rng r(seed);
  for (auto& x : b) x = static_cast<float>(r.uniform(-1.0, 1.0));
  return b;
}

void set_flop_counters(benchmark::State& state, double flops_per_iter, int threads) {
  state.counters["GFLOPS"] =
      benchmark::Counter(flops_per_iter * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak_fraction"] =
      benchmark::Counter(flops_per_iter * 1e-9 / (recnas::bench::peak_gflops_per_core() * threads),
                         benchmark::Counter::kIsIterationInvariantRate);
}

std::string isa_label() {
  return std::string(recnas::simd::to_string(recnas::simd::dispatcher<rk::gemm_table>::selected()));
}

// ------------------------------------------------------------------------------- GEMM family

struct fc_bench_data {
  index m, n, k;
  recnas::aligned_buffer<float> x, w, y, dy, dx, dw, db, ws;
  fc_bench_data(index m_, index n_, index k_, int threads)
      : m(m_),
        n(n_),
        k(k_),
        x(random_buffer(m * k, 1)),
        w(random_buffer(n * k, 2)),
        y(static_cast<std::size_t>(m * n)),
        dy(random_buffer(m * n, 3)),
        dx(static_cast<std::size_t>(m * k)),
        dw(static_cast<std::size_t>(n * k)),
        db(static_cast<std::size_t>(n)),
        ws(static_cast<std::size_t>(rk::fc_workspace_size(m, n, k, threads))) {}
};

void BM_gemm_fwd(benchmark::State& state) {
  const index m = state.range(0), n = state.range(1), k = state.range(2);
  const int threads = static_cast<int>(state.range(3));
  fc_bench_data d(m, n, k, threads);
  const rk::fc_input in[] = {{d.x.data(), k, 0, k}};
  // The arena lives across the timed loop, as in a training step (creating a TBB arena per
  // call would dominate small kernels).
  recnas::parallel::with_threads(threads, [&] {
    for (auto _ : state) {
      rk::fc_forward(in, m, d.w.data(), k, nullptr, n, rk::activation::none, d.y.data(), n,
                     d.ws.span());
      benchmark::DoNotOptimize(d.y.data());
    }
  });
  set_flop_counters(state, 2.0 * m * n * k, threads);
  state.SetLabel(isa_label());
}

void BM_gemm_bwd(benchmark::State& state) {
  const index m = state.range(0), n = state.range(1), k = state.range(2);
  const int threads = static_cast<int>(state.range(3));
  fc_bench_data d(m, n, k, threads);
  const rk::fc_input in[] = {{d.x.data(), k, 0, k}};
  const rk::fc_input_grad g[] = {{d.dx.data(), k, false}};
  // The arena lives across the timed loop, as in a training step (creating a TBB arena per
  // call would dominate small kernels).
  recnas::parallel::with_threads(threads, [&] {
    for (auto _ : state) {
      rk::fc_backward(in, g, m, d.y.data(), n, d.dy.data(), n, d.w.data(), k, n,
                      rk::activation::none, d.dw.data(), d.db.data(), d.ws.span());
      benchmark::DoNotOptimize(d.dw.data());
    }
  });
  set_flop_counters(state, 4.0 * m * n * k, threads);
  state.SetLabel(isa_label());
}

// Eigen twins. BM_eigen_gemm_* run Eigen compiled at the same ISA as our selected kernels
// (bench/support/eigen_twin_avx{2,512}.cpp, per-source flags); BM_eigen_sse2_gemm_* keep the
// Eigen of this TU (project default flags, SSE2) for reference, clearly a weaker baseline.
// Eigen is built without OpenMP, so for 2 threads we split the rows over two TBB threads
// ourselves (the same split our kernels get). Called inside the benchmark's arena.
template <class F>
void eigen_threads(int threads, index rows, F&& f) {
  if (threads == 1) {
    f(index{0}, rows);
    return;
  }
  recnas::parallel::for_chunks(rows, threads, f);
}

namespace twin = recnas::bench::eigen_twin;

void sse2_forward(const twin::fc_operands& o, std::ptrdiff_t r0, std::ptrdiff_t r1) {
  Eigen::Map<const rowmat> X(o.x, o.m, o.k), W(o.w, o.n, o.k);
  Eigen::Map<rowmat> Y(o.y, o.m, o.n);
  Y.middleRows(r0, r1 - r0).noalias() = X.middleRows(r0, r1 - r0) * W.transpose();
}
void sse2_backward_data(const twin::fc_operands& o, std::ptrdiff_t r0, std::ptrdiff_t r1) {
  Eigen::Map<const rowmat> W(o.w, o.n, o.k), dY(o.dy, o.m, o.n);
  Eigen::Map<rowmat> dX(o.dx, o.m, o.k);
  dX.middleRows(r0, r1 - r0).noalias() = dY.middleRows(r0, r1 - r0) * W;
}
void sse2_backward_weight(const twin::fc_operands& o, std::ptrdiff_t r0, std::ptrdiff_t r1) {
  Eigen::Map<const rowmat> X(o.x, o.m, o.k), dY(o.dy, o.m, o.n);
  Eigen::Map<rowmat> dW(o.dw, o.n, o.k);
  dW.middleRows(r0, r1 - r0).noalias() += dY.middleCols(r0, r1 - r0).transpose() * X;
}
const twin::table& sse2_twin() {
  static const twin::table t{"sse2", Eigen::SimdInstructionSetsInUse(), &sse2_forward,
                             &sse2_backward_data, &sse2_backward_weight};
  return t;
}

/// The Eigen build at the ISA our GEMM runs at (falls back to this TU's Eigen).
const twin::table& matched_twin() {
#ifdef RECNAS_BENCH_EIGEN_ISA_TWINS
  using recnas::simd::isa;
  const isa ours = recnas::simd::dispatcher<rk::gemm_table>::selected();
  const isa cpu = recnas::simd::detected_isa();
  if (ours == isa::avx512 && cpu == isa::avx512) return twin::avx512();
  if (ours == isa::avx2 && cpu != isa::generic) return twin::avx2();
#endif
  return sse2_twin();
}

/// "Eigen avx512 (AVX512, FMA, ...)": the flags of the twin and Eigen's own report.
std::string eigen_label(const twin::table& t) {
  std::string all(t.name);
  if (all.size() > 24) all = all.substr(0, 24) + "...";
  return std::string("Eigen ") + t.level + " (" + all + ")";
}

void eigen_fwd(benchmark::State& state, const twin::table& t) {
  const index m = state.range(0), n = state.range(1), k = state.range(2);
  const int threads = static_cast<int>(state.range(3));
  fc_bench_data d(m, n, k, 1);
  const twin::fc_operands o{d.x.data(),  d.w.data(), d.dy.data(), d.y.data(), d.dx.data(),
                            d.dw.data(), m,          n,           k};
  recnas::parallel::with_threads(threads, [&] {
    for (auto _ : state) {
      eigen_threads(threads, m, [&](index r0, index r1) { t.forward(o, r0, r1); });
      benchmark::DoNotOptimize(d.y.data());
    }
  });
  set_flop_counters(state, 2.0 * m * n * k, threads);
  state.SetLabel(eigen_label(t));
}

void eigen_bwd(benchmark::State& state, const twin::table& t) {
  const index m = state.range(0), n = state.range(1), k = state.range(2);
  const int threads = static_cast<int>(state.range(3));
  fc_bench_data d(m, n, k, 1);
  const twin::fc_operands o{d.x.data(),  d.w.data(), d.dy.data(), d.y.data(), d.dx.data(),
                            d.dw.data(), m,          n,           k};
  Eigen::Map<const rowmat> dY(d.dy.data(), m, n);
  Eigen::Map<Eigen::RowVectorXf> db(d.db.data(), n);
  recnas::parallel::with_threads(threads, [&] {
    for (auto _ : state) {
      eigen_threads(threads, m, [&](index r0, index r1) { t.backward_data(o, r0, r1); });
      // dW is a reduction over the batch: split its rows (d_out) instead.
      eigen_threads(threads, n, [&](index r0, index r1) { t.backward_weight(o, r0, r1); });
      db.noalias() += dY.colwise().sum();
      benchmark::DoNotOptimize(d.dw.data());
    }
  });
  set_flop_counters(state, 4.0 * m * n * k, threads);
  state.SetLabel(eigen_label(t));
}

void BM_eigen_gemm_fwd(benchmark::State& state) { eigen_fwd(state, matched_twin()); }
void BM_eigen_gemm_bwd(benchmark::State& state) { eigen_bwd(state, matched_twin()); }
void BM_eigen_sse2_gemm_fwd(benchmark::State& state) { eigen_fwd(state, sse2_twin()); }
void BM_eigen_sse2_gemm_bwd(benchmark::State& state) { eigen_bwd(state, sse2_twin()); }

void gemm_shapes(benchmark::internal::Benchmark* b) {
  for (int threads : {1, 2}) {
    for (index batch : {256, 512}) {
      for (auto [n, k] : std::initializer_list<std::pair<index, index>>{{512, 512},
                                                                        {1024, 1024},
                                                                        {16, 512},
                                                                        {32, 512},
                                                                        {64, 512},
                                                                        {512, 16},
                                                                        {512, 32},
                                                                        {512, 64},
                                                                        {16, 16},
                                                                        {32, 32},
                                                                        {64, 64},
                                                                        {256, 1024},
                                                                        {1024, 256}}) {
        b->Args({batch, n, k, threads});
      }
    }
  }
  b->UseRealTime();
}

BENCHMARK(BM_gemm_fwd)->Apply(gemm_shapes);
BENCHMARK(BM_eigen_gemm_fwd)->Apply(gemm_shapes);
BENCHMARK(BM_gemm_bwd)->Apply(gemm_shapes);
BENCHMARK(BM_eigen_gemm_bwd)->Apply(gemm_shapes);
// The default-flags (SSE2) Eigen on a few shapes, for comparison with earlier reports.
void sse2_shapes(benchmark::internal::Benchmark* b) {
  b->Args({512, 512, 512, 1})->Args({512, 1024, 1024, 1})->Args({512, 16, 512, 1});
  b->UseRealTime();
}
BENCHMARK(BM_eigen_sse2_gemm_fwd)->Apply(sse2_shapes);
BENCHMARK(BM_eigen_sse2_gemm_bwd)->Apply(sse2_shapes);

void BM_gemm_smoke(benchmark::State& state) {
  fc_bench_data d(7, 17, 33, 1);
  const rk::fc_input in[] = {{d.x.data(), 33, 0, 33}};
  for (auto _ : state) {
    rk::fc_forward(in, 7, d.w.data(), 33, d.db.data(), 17, rk::activation::relu, d.y.data(), 17,
                   d.ws.span());
    benchmark::DoNotOptimize(d.y.data());
  }
  set_flop_counters(state, 2.0 * 7 * 17 * 33, 1);
}
BENCHMARK(BM_gemm_smoke);

// ------------------------------------------------------------------- token-axis linear (EFC)
// BM_token_linear_{fwd,bwd}/<batch>/<s>/<T>/<threads>, E = 16; bwd = data + weight gradients.

void BM_token_linear(benchmark::State& state, bool backward) {
  const index batch = state.range(0), s = state.range(1), t = state.range(2), e = 16;
  const int threads = static_cast<int>(state.range(3));
  auto x = random_buffer(batch * t * e, 1), w = random_buffer(s * t, 2),
       dy = random_buffer(batch * s * e, 3);
  recnas::aligned_buffer<float> y(static_cast<std::size_t>(batch * s * e)), dx(x.size()),
      dw(w.size());
  const rk::token_input in[] = {{x.data(), t * e, e, 0, t}};
  const rk::token_input_grad g[] = {{dx.data(), t * e, e, false}};
  recnas::aligned_buffer<float> ws(
      static_cast<std::size_t>(rk::token_linear_workspace_size(in, s, e, threads)));
  // The arena lives across the timed loop, as in a training step (creating a TBB arena per
  // call would dominate small kernels).
  recnas::parallel::with_threads(threads, [&] {
    for (auto _ : state) {
      if (!backward) {
        rk::token_linear_forward(in, batch, e, w.data(), t, s, {y.data(), s * e, e}, false,
                                 ws.span());
      } else {
        rk::token_linear_backward_data(in, g, batch, e, w.data(), t, s, {dy.data(), s * e, e},
                                       ws.span());
        rk::token_linear_backward_weight(in, batch, e, s, {dy.data(), s * e, e}, dw.data(), t,
                                         ws.span());
      }
      benchmark::DoNotOptimize(y.data());
      benchmark::DoNotOptimize(dw.data());
    }
  });
  set_flop_counters(state, (backward ? 4.0 : 2.0) * batch * s * t * e, threads);
  state.SetLabel(isa_label());
}
void BM_token_linear_fwd(benchmark::State& state) { BM_token_linear(state, false); }
void BM_token_linear_bwd(benchmark::State& state) { BM_token_linear(state, true); }
void token_shapes(benchmark::internal::Benchmark* b) {
  for (int threads : {1, 2})
    for (auto [s, t] :
         std::initializer_list<std::pair<index, index>>{{16, 27}, {32, 64}, {64, 200}, {200, 200}})
      b->Args({512, s, t, threads});
  b->UseRealTime();
}
BENCHMARK(BM_token_linear_fwd)->Apply(token_shapes);
BENCHMARK(BM_token_linear_bwd)->Apply(token_shapes);

// ------------------------------------------------------------------------------- embedding
// Tables of 26 features x 2^20 rows x E = 16 floats (1.6 GiB per set, larger than the 480 MiB
// last-level cache the VM reports), uniform random ids; bandwidth counters count the embedding
// bytes gathered (or the gradient bytes reduced), compared with BM_memcpy_bandwidth (bytes
// copied per second).

// One table in its own anonymous mapping. With huge_pages it is madvise(MADV_HUGEPAGE)d before
// its pages are first touched (advice given after the first touch is ignored: the 4 KiB pages
// are already there), as a trainer holding large tables should do: random rows of 4 KiB pages
// cost a TLB miss and a page walk each. Without, MADV_NOHUGEPAGE, whatever the system default.
class bench_table {
 public:
  bench_table(std::size_t floats, bool huge_pages) : bytes_(floats * sizeof(float)) {
    void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    madvise(p, bytes_, huge_pages ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    data_ = static_cast<float*>(p);
    // Touch every page with distinct contents: all-zero (or identical) pages may be merged or
    // remapped by the host of a VM, after which reads cost exits instead of DRAM accesses.
    for (std::size_t i = 0; i < floats; ++i) data_[i] = static_cast<float>(i);
  }
  bench_table(const bench_table&) = delete;
  bench_table& operator=(const bench_table&) = delete;
  ~bench_table() { munmap(data_, bytes_); }
  [[nodiscard]] const float* data() const noexcept { return data_; }

 private:
  std::size_t bytes_;
  float* data_ = nullptr;
};

struct embedding_bench_data {
  static constexpr index features = 26, rows = index{1} << 20, e = 16;
  std::vector<std::unique_ptr<bench_table>> tables;
  std::vector<const float*> ptrs;
  std::vector<index> row_counts;
  rk::embedding_tables view;
  static embedding_bench_data& get(bool huge_pages) {
    if (huge_pages) {
      static embedding_bench_data d(true);
      return d;
    }
    static embedding_bench_data d(false);
    return d;
  }

 private:
  explicit embedding_bench_data(bool huge_pages) {
    for (index f = 0; f < features; ++f) {
      tables.push_back(
          std::make_unique<bench_table>(static_cast<std::size_t>(rows * e), huge_pages));
      ptrs.push_back(tables.back()->data());
      row_counts.push_back(rows);
    }
    view = {ptrs.data(), row_counts.data(), features, e, e};
  }
};

std::vector<std::int64_t> random_ids(index batch, index features, index rows, std::uint64_t seed) {
  recnas::rng r(seed);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(batch * features));
  for (auto& id : ids) id = static_cast<std::int64_t>(r.uniform() * static_cast<double>(rows));
  return ids;
}

void set_bandwidth(benchmark::State& state, double bytes_per_iter) {
  state.counters["GBps"] =
      benchmark::Counter(bytes_per_iter * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_embedding_gather(benchmark::State& state) {
  auto& d = embedding_bench_data::get(state.range(2) != 0);
  const index batch = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  const index F = embedding_bench_data::features, E = embedding_bench_data::e;
  std::vector<std::vector<std::int64_t>> id_sets;
  for (int i = 0; i < 16; ++i)
    id_sets.push_back(random_ids(batch, F, embedding_bench_data::rows, 100 + i));
  recnas::aligned_buffer<float> out(static_cast<std::size_t>(batch * F * E));
  std::size_t it = 0;
  // The arena lives across the timed loop, as in a training step (creating a TBB arena per
  // call would dominate small kernels).
  recnas::parallel::with_threads(threads, [&] {
    for (auto _ : state) {
      const auto& ids = id_sets[it++ % id_sets.size()];
      rk::embedding_gather(d.view, ids.data(), F, batch, {out.data(), batch, F, E});
      benchmark::DoNotOptimize(out.data());
    }
  });
  set_bandwidth(state, static_cast<double>(batch * F * E) * sizeof(float));
  state.SetLabel(isa_label());
}
// args: batch, threads, huge pages
BENCHMARK(BM_embedding_gather)
    ->Args({512, 1, 0})
    ->Args({4096, 1, 0})
    ->Args({512, 1, 1})
    ->Args({4096, 1, 1})
    ->Args({4096, 2, 1})
    ->UseRealTime();

// Baseline for the gather: a bare copy of the same random rows (same tables, same ids), with
// a software prefetch 64 rows ahead and no checks, views or threads. The gather's bandwidth
// target is relative to memcpy; this shows what random 64-byte rows reach on the machine.
void BM_random_row_copy(benchmark::State& state) {
  auto& d = embedding_bench_data::get(state.range(1) != 0);
  const index batch = state.range(0);
  const index F = embedding_bench_data::features, E = embedding_bench_data::e;
  std::vector<std::vector<std::int64_t>> id_sets;
  for (int i = 0; i < 16; ++i)
    id_sets.push_back(random_ids(batch, F, embedding_bench_data::rows, 100 + i));
  recnas::aligned_buffer<float> out(static_cast<std::size_t>(batch * F * E));
  std::size_t it = 0;
  constexpr index ahead = 64;
  const index n = batch * F;
  for (auto _ : state) {
    const auto& ids = id_sets[it++ % id_sets.size()];
    for (index k = 0; k < n; ++k) {
      if (k + ahead < n)
        __builtin_prefetch(d.ptrs[static_cast<std::size_t>((k + ahead) % F)] +
                           ids[static_cast<std::size_t>(k + ahead)] * E);
      std::memcpy(out.data() + k * E,
                  d.ptrs[static_cast<std::size_t>(k % F)] + ids[static_cast<std::size_t>(k)] * E,
                  E * sizeof(float));
    }
    benchmark::DoNotOptimize(out.data());
  }
  set_bandwidth(state, static_cast<double>(n * E) * sizeof(float));
}
// args: batch, huge pages
BENCHMARK(BM_random_row_copy)->Args({4096, 0})->Args({4096, 1})->UseRealTime();

void BM_embedding_gather_backward(benchmark::State& state) {
  const index batch = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  auto& d = embedding_bench_data::get(true);
  const index F = embedding_bench_data::features, E = embedding_bench_data::e;
  const auto ids = random_ids(batch, F, embedding_bench_data::rows, 7);
  auto dout = random_buffer(batch * F * E, 8);
  std::vector<std::vector<std::int64_t>> uid(
      static_cast<std::size_t>(F), std::vector<std::int64_t>(static_cast<std::size_t>(batch)));
  std::vector<recnas::aligned_buffer<float>> ug;
  std::vector<rk::sparse_rows> sp;
  for (index f = 0; f < F; ++f) {
    ug.emplace_back(static_cast<std::size_t>(batch * E));
    sp.push_back({uid[static_cast<std::size_t>(f)].data(), ug.back().data(), E, batch, 0});
  }
  std::vector<std::int64_t> ws(
      static_cast<std::size_t>(rk::embedding_backward_workspace(batch, F)));
  // The arena lives across the timed loop, as in a training step (creating a TBB arena per
  // call would dominate small kernels).
  recnas::parallel::with_threads(threads, [&] {
    for (auto _ : state) {
      rk::embedding_gather_backward(d.view, ids.data(), F, batch, {dout.data(), batch, F, E}, sp,
                                    ws);
      benchmark::DoNotOptimize(sp.data());
    }
  });
  set_bandwidth(state, static_cast<double>(batch * F * E) * sizeof(float));
  state.SetLabel(isa_label());
}
BENCHMARK(BM_embedding_gather_backward)
    ->Args({512, 1})
    ->Args({4096, 1})
    ->Args({4096, 2})
    ->UseRealTime();

void BM_embedding_bag(benchmark::State& state) {
  auto& d = embedding_bench_data::get(true);
  const index batch = state.range(0), hot = state.range(1);
  const index F = embedding_bench_data::features, E = embedding_bench_data::e;
  const auto ids = random_ids(batch * hot, F, embedding_bench_data::rows, 9);
  std::vector<index> offsets(static_cast<std::size_t>(batch * F + 1));
  for (std::size_t i = 0; i < offsets.size(); ++i) offsets[i] = static_cast<index>(i) * hot;
  recnas::aligned_buffer<float> out(static_cast<std::size_t>(batch * F * E));
  for (auto _ : state) {
    rk::embedding_bag(d.view, {ids.data(), offsets.data()}, rk::bag_mode::sum, batch,
                      {out.data(), batch, F, E});
    benchmark::DoNotOptimize(out.data());
  }
  set_bandwidth(state, static_cast<double>(batch * F * hot * E) * sizeof(float));
}
BENCHMARK(BM_embedding_bag)->Args({512, 4})->UseRealTime();

void BM_memcpy_bandwidth(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0)) << 20;
  std::vector<char> a(bytes, 1), b(bytes, 2);
  for (auto _ : state) {
    std::memcpy(b.data(), a.data(), bytes);
    benchmark::DoNotOptimize(b.data());
  }
  set_bandwidth(state, static_cast<double>(bytes));
}
BENCHMARK(BM_memcpy_bandwidth)->Arg(256)->UseRealTime();

// --------------------------------------------------------------- interactions and row ops

void BM_dot_interaction(benchmark::State& state) {
  const index batch = state.range(0), n = state.range(1), e = 16;
  const bool backward = state.range(2) != 0;
  auto x = random_buffer(batch * n * e, 1);
  const index nz = rk::dot_interaction_size(n);
  recnas::aligned_buffer<float> z(static_cast<std::size_t>(batch * nz)), dx(x.size());
  auto dz = random_buffer(batch * nz, 2);
  const recnas::token_view<const float> tv(x.data(), batch, n, e);
  const int threads = static_cast<int>(state.range(3));
  recnas::parallel::with_threads(threads, [&] {
    for (auto _ : state) {
      if (backward) {
        rk::dot_interaction_backward(tv, dz.data(), nz, {dx.data(), batch, n, e}, false);
      } else {
        rk::dot_interaction(tv, z.data(), nz);
      }
      benchmark::DoNotOptimize(z.data());
      benchmark::DoNotOptimize(dx.data());
    }
  });
  set_flop_counters(state, (backward ? 4.0 : 2.0) * batch * nz * e, threads);
  state.SetLabel(isa_label());
}
// BM_dot_interaction/<batch>/<tokens>/<backward>/<threads>, E = 16.
BENCHMARK(BM_dot_interaction)->ArgsProduct({{512}, {27}, {0, 1}, {1, 2}})->UseRealTime();

void BM_fm(benchmark::State& state) {
  const index batch = state.range(0), n = state.range(1), e = 16;
  auto x = random_buffer(batch * n * e, 1);
  recnas::aligned_buffer<float> out(static_cast<std::size_t>(batch * e));
  for (auto _ : state) {
    rk::fm({x.data(), batch, n, e}, out.data(), e);
    benchmark::DoNotOptimize(out.data());
  }
  set_bandwidth(state, static_cast<double>(x.size()) * sizeof(float));
  state.SetLabel(isa_label());
}
BENCHMARK(BM_fm)->Args({512, 26})->UseRealTime();

void BM_layer_norm(benchmark::State& state) {
  const index rows = state.range(0), width = state.range(1);
  auto x = random_buffer(rows * width, 1), g = random_buffer(width, 2), b = random_buffer(width, 3);
  recnas::aligned_buffer<float> y(x.size()), mean(static_cast<std::size_t>(rows)),
      rstd(static_cast<std::size_t>(rows));
  for (auto _ : state) {
    rk::layer_norm(rows, width, x.data(), width, g.data(), b.data(), 1e-5f, y.data(), width,
                   mean.data(), rstd.data());
    benchmark::DoNotOptimize(y.data());
  }
  set_bandwidth(state, 2.0 * static_cast<double>(x.size()) * sizeof(float));
  state.SetLabel(isa_label());
}
BENCHMARK(BM_layer_norm)->Args({512, 512})->Args({512, 1024})->UseRealTime();

void BM_softmax(benchmark::State& state) {
  const index rows = state.range(0), cols = state.range(1);
  auto x = random_buffer(rows * cols, 1);
  recnas::aligned_buffer<float> y(x.size());
  for (auto _ : state) {
    rk::softmax(rows, cols, x.data(), cols, y.data(), cols);
    benchmark::DoNotOptimize(y.data());
  }
  set_bandwidth(state, 2.0 * static_cast<double>(x.size()) * sizeof(float));
  state.SetLabel(isa_label());
}
BENCHMARK(BM_softmax)->Args({512 * 8 * 27, 27})->UseRealTime();

// -------------------------------------------------------------------------------- optimizer
// BM_adagrad/<n>/<scalar>: the dense Adagrad update over n parameters (the DLRM's 0.84 M dense
// parameters and 16-float embedding rows), the kernel vs the scalar loop it replaced (sqrt and
// division per element, not vectorized by the compiler). Bytes: w, s read and written, g read.

void BM_adagrad(benchmark::State& state) {
  const index n = state.range(0);
  const bool scalar = state.range(1) != 0;
  auto w = random_buffer(n, 1), g = random_buffer(n, 2), s = random_buffer(n, 3);
  for (index i = 0; i < n; ++i) s.data()[i] = std::abs(s.data()[i]);
  for (auto _ : state) {
    if (scalar) {
      float* wp = w.data();
      float* sp = s.data();
      const float* gp = g.data();
      for (index i = 0; i < n; ++i) {
        const float gi = gp[i] + 0.0f * wp[i];
        sp[i] += gi * gi;
        wp[i] -= 1e-6f * gi / (std::sqrt(sp[i]) + 1e-2f);
      }
    } else {
      rk::adagrad_update(w.data(), g.data(), s.data(), n, 1e-6f, 1e-2f, 0.0f);
    }
    benchmark::DoNotOptimize(w.data());
  }
  set_bandwidth(state, 5.0 * static_cast<double>(n) * sizeof(float));
  state.SetLabel(scalar ? "scalar loop" : isa_label());
}
BENCHMARK(BM_adagrad)->ArgsProduct({{16, 842017}, {0, 1}})->UseRealTime();

void BM_sum_squares(benchmark::State& state) {
  const index n = state.range(0);
  const bool scalar = state.range(1) != 0;
  auto x = random_buffer(n, 1);
  for (auto _ : state) {
    double v = 0.0;
    if (scalar) {
      for (index i = 0; i < n; ++i) v += static_cast<double>(x.data()[i]) * x.data()[i];
    } else {
      v = rk::sum_squares(x.data(), n);
    }
    benchmark::DoNotOptimize(v);
  }
  set_bandwidth(state, static_cast<double>(n) * sizeof(float));
  state.SetLabel(scalar ? "scalar loop" : isa_label());
}
BENCHMARK(BM_sum_squares)->ArgsProduct({{842017}, {0, 1}})->UseRealTime();

// -------------------------------------------------------------------------------- attention
// BM_attention/<batch>/<tokens>/<heads>/<backward>/<threads>, E = 16. FLOPs: 4*T*T*E per example
// forward (scores and P.V), 8*T*T*E backward.

void BM_attention(benchmark::State& state) {
  const index batch = state.range(0), t = state.range(1), heads = state.range(2), e = 16;
  const bool backward = state.range(3) != 0;
  const int threads = static_cast<int>(state.range(4));
  auto q = random_buffer(batch * t * e, 1), k = random_buffer(batch * t * e, 2),
       v = random_buffer(batch * t * e, 3);
  recnas::aligned_buffer<float> out(q.size()), dq(q.size()), dk(q.size()), dv(q.size());
  recnas::aligned_buffer<float> probs(
      static_cast<std::size_t>(rk::attention_probs_size(batch, t, heads)));
  recnas::aligned_buffer<float> ws(
      static_cast<std::size_t>(rk::attention_workspace_size(t, e, heads, threads)));
  const rk::attention_io io{
      {q.data(), batch, t, e}, {k.data(), batch, t, e}, {v.data(), batch, t, e}};
  recnas::parallel::with_threads(threads, [&] {
    rk::attention_forward(io, heads, {out.data(), batch, t, e}, probs.span(), ws.span());
    for (auto _ : state) {
      if (backward) {
        rk::attention_backward(io, heads, probs.span(), {out.data(), batch, t, e},
                               {dq.data(), batch, t, e}, {dk.data(), batch, t, e},
                               {dv.data(), batch, t, e}, false, ws.span());
      } else {
        rk::attention_forward(io, heads, {out.data(), batch, t, e}, probs.span(), ws.span());
      }
      benchmark::DoNotOptimize(out.data());
      benchmark::DoNotOptimize(dq.data());
    }
  });
  set_flop_counters(state, (backward ? 8.0 : 4.0) * batch * t * t * e, threads);
  state.SetLabel(isa_label());
}
BENCHMARK(BM_attention)->ArgsProduct({{512}, {27, 32, 64, 72}, {8}, {0, 1}, {1, 2}})->UseRealTime();

// A tiny case of every other family for the CTest smoke run.
void BM_smoke_kernels(benchmark::State& state) {
  const index b = 3, t = 5, e = 16;
  auto x = random_buffer(b * t * e, 1), w = random_buffer(t * t, 2);
  recnas::aligned_buffer<float> y(x.size()), z(static_cast<std::size_t>(b * 10)),
      probs(static_cast<std::size_t>(rk::attention_probs_size(b, t, 8)));
  recnas::aligned_buffer<float> ws(
      static_cast<std::size_t>(rk::attention_workspace_size(t, e, 8) + 100000));
  const rk::token_input in[] = {{x.data(), t * e, e, 0, t}};
  for (auto _ : state) {
    rk::token_linear_forward(in, b, e, w.data(), t, t, {y.data(), t * e, e}, false, ws.span());
    rk::dot_interaction({x.data(), b, t, e}, z.data(), 10);
    const recnas::token_view<const float> tv(x.data(), b, t, e);
    rk::attention_forward(
        {tv, tv, tv}, 8, {y.data(), b, t, e}, probs.span(),
        ws.span().first(static_cast<std::size_t>(rk::attention_workspace_size(t, e, 8))));
    benchmark::DoNotOptimize(y.data());
  }
}
BENCHMARK(BM_smoke_kernels);

}  // namespace
