// Data pipeline throughput: text parsing (MB/s, rows/s; 1 and 2 threads) against the
// machine's memcpy and page-cache read bandwidth measured in the same run, cache-backed
// batch streaming (rows/s), and the peak memory of streaming synthetic rows.
//   recnas_bench_data --benchmark_counters_tabular=true
// The parse input is the real Criteo sample (../shared/data) repeated to ~48 MB when present,
// else synthetic Criteo-layout text; it is written to a temporary file and read from the page
// cache (the first pass warms it).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <recnas/data/data.hpp>

namespace {

namespace rd = recnas::data;
using rd_index = recnas::index;

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("recnas_bench_data_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

/// Removes the benchmark's temporary files at exit.
struct temp_files {
  std::vector<std::string> paths;
  ~temp_files() {
    for (const auto& p : paths) std::filesystem::remove(p);
  }
};
temp_files& temps() {
  static temp_files t;
  return t;
}

/// ../shared/data next to the repository (or $RECNAS_SHARED_DATA_DIR).
std::string shared_data_dir() {
  if (const char* env = std::getenv("RECNAS_SHARED_DATA_DIR")) return env;
  return (std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "shared" /
          "data")
      .string();
}

/// Criteo-layout text of about `bytes` bytes; true when it holds real rows.
const std::string& criteo_text(std::size_t bytes, bool* real = nullptr) {
  static std::map<std::size_t, std::pair<std::string, bool>> files;
  auto it = files.find(bytes);
  if (it == files.end()) {
    const std::string path = temp_path("criteo_" + std::to_string(bytes) + ".txt");
    temps().paths.push_back(path);
    const std::string sample = shared_data_dir() + "/criteo/autoint/train_examples.txt";
    bool is_real = std::filesystem::exists(sample);
    if (is_real) {
      std::ifstream in(sample, std::ios::binary);
      const std::string body((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
      std::ofstream out(path, std::ios::binary);
      for (std::size_t done = 0; done < bytes; done += body.size()) out << body;
    } else {
      const rd::synthetic_generator g({});
      g.write_text(path, static_cast<std::int64_t>(bytes / 180));
    }
    it = files.emplace(bytes, std::pair{path, is_real}).first;
  }
  if (real != nullptr) *real = it->second.second;
  return it->second.first;
}

// ---- yardsticks: memcpy and page-cache read bandwidth of this machine -----------------------

void BM_memcpy_bandwidth(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<char> a(n, 1), b(n, 2);
  for (auto _ : state) {
    std::memcpy(b.data(), a.data(), n);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
BENCHMARK(BM_memcpy_bandwidth)->Arg(64 << 20)->UseRealTime();

void BM_mmap_read_bandwidth(benchmark::State& state) {
  const rd::mapped_file f(criteo_text(static_cast<std::size_t>(state.range(0))));
  for (auto _ : state) {
    // Touch every byte (a newline count): what any parser must at least do.
    std::size_t lines = 0;
    const char* p = f.data();
    const char* e = p + f.size();
    while ((p = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(e - p)))) !=
           nullptr) {
      ++lines;
      ++p;
    }
    benchmark::DoNotOptimize(lines);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * f.size()));
}
BENCHMARK(BM_mmap_read_bandwidth)->Arg(48 << 20)->UseRealTime();

// ---- parsing -------------------------------------------------------------------------------

/// User + system CPU seconds of the whole process (all threads).
double process_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

/// Parse (and optionally preprocess) the whole file with `threads` threads.
void run_parse(benchmark::State& state, std::size_t bytes, int threads, bool preprocess) {
  bool real = false;
  const std::string& path = criteo_text(bytes, &real);
  const auto size = std::filesystem::file_size(path);
  rd_index rows = 0;
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) {
    recnas::parallel::with_threads(threads, [&] {
      rd::text_reader r(rd::criteo_format(), path,
                        {.chunk_bytes = std::size_t{8} << 20, .threads = threads});
      rd::raw_block chunk;
      rows = 0;
      while (r.next_chunk(chunk)) {
        if (preprocess) {
          auto ex = rd::preprocess(chunk, r.features());
          benchmark::DoNotOptimize(ex.labels());
        }
        rows += chunk.rows();
      }
    });
  }
  const double cpu = process_cpu_seconds() - cpu0;
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
  state.counters["rows_per_s"] =
      benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsIterationInvariantRate);
  // CPU time of all threads: unaffected by other processes, shows the parallel efficiency.
  state.counters["MB_per_cpu_s"] =
      static_cast<double>(state.iterations()) * static_cast<double>(size) / 1e6 / cpu;
  state.counters["MB_per_s_per_core"] = benchmark::Counter(
      static_cast<double>(size) / 1e6 / threads, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(real ? "real Criteo rows" : "synthetic Criteo-layout rows");
}

void BM_parse_criteo(benchmark::State& state) {
  run_parse(state, static_cast<std::size_t>(state.range(0)), static_cast<int>(state.range(1)),
            false);
}
BENCHMARK(BM_parse_criteo)
    ->ArgNames({"bytes", "threads"})
    ->Args({48 << 20, 1})
    ->Args({48 << 20, 2})
    ->UseRealTime();

void BM_parse_preprocess_criteo(benchmark::State& state) {
  run_parse(state, static_cast<std::size_t>(state.range(0)), static_cast<int>(state.range(1)),
            true);
}
BENCHMARK(BM_parse_preprocess_criteo)
    ->ArgNames({"bytes", "threads"})
    ->Args({48 << 20, 1})
    ->Args({48 << 20, 2})
    ->UseRealTime();

// ---- cache-backed batches ------------------------------------------------------------------

const std::string& cache_file(std::int64_t rows) {
  static std::map<std::int64_t, std::string> files;
  auto it = files.find(rows);
  if (it == files.end()) {
    const std::string path = temp_path("stream_" + std::to_string(rows) + ".cache");
    temps().paths.push_back(path);
    const rd::synthetic_generator g({});
    rd::cache_writer w(path, g.features());
    rd::example_block b(65536, 13, 26);
    for (std::int64_t r = 0; r < rows; r += 65536) {
      const auto n = static_cast<rd_index>(std::min<std::int64_t>(65536, rows - r));
      g.generate(r, n, b);
      b.set_rows(n);
      w.append(b);
    }
    w.finish();
    it = files.emplace(rows, path).first;
  }
  return it->second;
}

/// One epoch of batches of 512 from a cache (args: rows, shuffle, prefetch).
void BM_cache_stream(benchmark::State& state) {
  const auto rows = state.range(0);
  const auto d = rd::dataset::from_cache(cache_file(rows));
  rd::stream_options o{
      .batch_size = 512, .shuffle = state.range(1) != 0, .shuffle_window = 1 << 18, .seed = 1};
  o.prefetch = static_cast<int>(state.range(2));
  std::int64_t seen = 0;
  for (auto _ : state) {
    rd::batch_stream s(d, o);
    while (auto b = s.next()) {
      benchmark::DoNotOptimize(b->categorical.data());
      seen += b->size();
    }
  }
  state.counters["rows_per_s"] =
      benchmark::Counter(static_cast<double>(seen), benchmark::Counter::kIsRate);
  state.counters["batches_per_s"] =
      benchmark::Counter(static_cast<double>(seen) / 512, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_cache_stream)
    ->ArgNames({"rows", "shuffle", "prefetch"})
    ->Args({1 << 20, 0, 0})
    ->Args({1 << 20, 0, 4})
    ->Args({1 << 20, 1, 4})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// ---- peak memory of streaming synthetic rows -----------------------------------------------

long vm_hwm_kib() {
  std::ifstream in("/proc/self/status");
  std::string key;
  long v = -1;
  while (in >> key) {
    if (key == "VmHWM:") {
      in >> v;
      break;
    }
    in.ignore(1 << 10, '\n');
  }
  return v;
}

/// Streams `rows` synthetic rows (shuffled, prefetched): memory must not grow with rows.
void BM_stream_synthetic_memory(benchmark::State& state) {
  const auto rows = state.range(0);
  long before = 0, after = 0;
  for (auto _ : state) {
    { std::ofstream("/proc/self/clear_refs") << "5"; }  // reset the peak RSS counter
    before = vm_hwm_kib();
    const auto d = rd::dataset::synthetic({}, rows);
    rd::batch_stream s(
        d,
        {.batch_size = 512, .shuffle = true, .shuffle_window = 1 << 20, .seed = 1, .prefetch = 4});
    std::int64_t seen = 0;
    while (auto b = s.next()) seen += b->size();
    benchmark::DoNotOptimize(seen);
    after = vm_hwm_kib();
  }
  state.counters["peak_rss_MiB"] = static_cast<double>(after) / 1024.0;
  state.counters["peak_growth_MiB"] = static_cast<double>(after - before) / 1024.0;
  state.counters["rows_per_s"] =
      benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_stream_synthetic_memory)
    ->Arg(1 << 20)
    ->Arg(10'000'000)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kSecond);

// ---- smoke ---------------------------------------------------------------------------------

void BM_smoke_data(benchmark::State& state) {
  const auto d = rd::dataset::synthetic(
      {.num_dense = 2, .num_categorical = 3, .cardinalities = {4, 5, 6}}, 2000);
  for (auto _ : state) {
    rd::batch_stream s(d,
                       {.batch_size = 64, .shuffle = true, .shuffle_window = 500, .prefetch = 2});
    std::int64_t seen = 0;
    while (auto b = s.next()) seen += b->size();
    benchmark::DoNotOptimize(seen);
  }
}
BENCHMARK(BM_smoke_data);

}  // namespace
