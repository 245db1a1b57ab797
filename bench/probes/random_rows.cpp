// Probe: how fast can one core fetch random 64-byte rows of tables larger than the last-level
// cache? The ceiling that recnas's single-thread embedding gather is held against
// (docs/benchmarks.md, "Kernels (issue 2/8): the remaining GEMM and embedding targets").
// It has no recnas code in it and is not part of the CMake build:
//
//   g++ -O3 -std=c++20 bench/probes/random_rows.cpp -o random_rows && ./random_rows [log2 rows]
//
// (-O3 vectorizes the lane-wise sums of the load-only pass, which -O2 leaves scalar.)
//
// Same layout as BM_embedding_gather: 26 tables x 2^20 rows x 16 floats (1.6 GiB) on
// transparent huge pages, uniform random ids, batch 512 (13,312 rows per pass). For each
// prefetch distance and hint it times passes that only load the rows ("load"), that copy them
// to an output ("copy"), and reports GB/s of row bytes, beside a 256 MiB memcpy.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include <sys/mman.h>

namespace {

constexpr long features = 26, width = 16, batch = 512;

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

template <int Hint, bool Store>
float pass(float* const* tables, const std::int64_t* ids, float* out, long ahead) {
  const long n = batch * features;
  float acc[width] = {};  // lane-wise sums: independent chains, vectorizable without reordering
  for (long k = 0; k < n; ++k) {
    if (k + ahead < n)
      __builtin_prefetch(tables[(k + ahead) % features] + ids[k + ahead] * width, 0, Hint);
    const float* row = tables[k % features] + ids[k] * width;
    if constexpr (Store) {
      std::memcpy(out + k * width, row, width * sizeof(float));
    } else {
      for (long c = 0; c < width; ++c) acc[c] += row[c];
    }
  }
  float s = 0.0f;
  for (float v : acc) s += v;
  return s;
}

template <int Hint, bool Store>
double median_gbps(float* const* tables, const std::vector<std::vector<std::int64_t>>& sets,
                   float* out, long ahead) {
  std::vector<double> rates;
  volatile float sink = 0.0f;
  for (int rep = 0; rep < 5; ++rep) {
    const double t0 = now();
    long passes = 0;
    while (now() - t0 < 0.15) {
      sink = sink + pass<Hint, Store>(tables, sets[passes % sets.size()].data(), out, ahead);
      ++passes;
    }
    const double bytes = static_cast<double>(passes * batch * features * width) * sizeof(float);
    rates.push_back(bytes / (now() - t0) * 1e-9);
  }
  std::sort(rates.begin(), rates.end());
  return rates[2];
}

}  // namespace

int main(int argc, char** argv) {
  const long rows = 1L << (argc > 1 ? std::atoi(argv[1]) : 20);
  std::vector<float*> tables;
  for (long f = 0; f < features; ++f) {
    const std::size_t bytes = static_cast<std::size_t>(rows * width) * sizeof(float);
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 1;
    madvise(p, bytes, MADV_HUGEPAGE);
    auto* t = static_cast<float*>(p);
    for (long i = 0; i < rows * width; ++i) t[i] = static_cast<float>(i);  // distinct pages
    tables.push_back(t);
  }
  std::mt19937_64 gen(1);
  std::vector<std::vector<std::int64_t>> sets(16, std::vector<std::int64_t>(batch * features));
  for (auto& s : sets)
    for (auto& id : s) id = static_cast<std::int64_t>(gen() % static_cast<std::uint64_t>(rows));
  std::vector<float> out(static_cast<std::size_t>(batch * features * width));
  std::printf("tables: %ld x %ld rows x %ld floats (%.2f GiB)\n", features, rows, width,
              static_cast<double>(features * rows * width * 4) / (1L << 30));
  for (long ahead : {16L, 32L, 64L, 128L, 256L}) {
    std::printf(
        "prefetch %3ld ahead: load T0 %.2f  T1 %.2f  T2 %.2f  NTA %.2f | copy T0 %.2f GB/s\n",
        ahead, median_gbps<3, false>(tables.data(), sets, out.data(), ahead),
        median_gbps<2, false>(tables.data(), sets, out.data(), ahead),
        median_gbps<1, false>(tables.data(), sets, out.data(), ahead),
        median_gbps<0, false>(tables.data(), sets, out.data(), ahead),
        median_gbps<3, true>(tables.data(), sets, out.data(), ahead));
  }
  const std::size_t n = std::size_t{256} << 20;
  std::vector<char> a(n, 1), b(n, 2);
  std::vector<double> rates;
  for (int rep = 0; rep < 5; ++rep) {
    const double t0 = now();
    std::memcpy(b.data(), a.data(), n);
    rates.push_back(static_cast<double>(n) / (now() - t0) * 1e-9);
  }
  std::sort(rates.begin(), rates.end());
  std::printf("memcpy 256 MiB: %.2f GB/s (checksum %d)\n", rates[2], b[n / 2]);
  return 0;
}
