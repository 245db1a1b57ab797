#include <atomic>
#include <limits>
#include <vector>

#include <doctest/doctest.h>

#include <recnas/kernels/peak.hpp>
#include <recnas/parallel/threads.hpp>
#include <recnas/simd/dispatch.hpp>

using recnas::simd::isa;

TEST_CASE("the force knob lowers the ISA and never raises it above the CPU") {
  const isa detected = recnas::simd::detected_isa();
  {
    recnas::simd::scoped_isa guard(isa::generic);
    CHECK(recnas::simd::active_isa() == isa::generic);
  }
  CHECK(recnas::simd::active_isa() == detected);
  {
    recnas::simd::scoped_isa guard(isa::avx512);
    CHECK(static_cast<int>(recnas::simd::active_isa()) <= static_cast<int>(detected));
  }
  CHECK(recnas::simd::parse_isa("avx2") == isa::avx2);
  CHECK_FALSE(recnas::simd::parse_isa("sse9").has_value());
}

TEST_CASE("every ISA table the machine can run gives the same peak-probe result") {
  using D = recnas::simd::dispatcher<recnas::kernels::peak_table>;
  // The test executables link the generated AVX2/AVX-512 translation units.
  CHECK(D::installed(isa::avx2));
  CHECK(D::installed(isa::avx512));
  const isa detected = recnas::simd::detected_isa();
  for (isa level : {isa::generic, isa::avx2, isa::avx512}) {
    if (static_cast<int>(level) > static_cast<int>(detected)) {
      MESSAGE("skipping ISA " << recnas::simd::to_string(level) << ": not supported by this CPU");
      continue;
    }
    recnas::simd::scoped_isa guard(level);
    CHECK(D::selected() ==
          (level == isa::generic ? recnas::simd::isa_of<recnas::simd::fallback_arch>() : level));
    const auto& t = D::get();
    const int expected_lanes = level == isa::avx512 ? 16 : level == isa::avx2 ? 8 : t.lanes;
    CHECK(t.lanes == expected_lanes);
    CHECK(t.flops_per_iteration == 2 * 12 * t.lanes);
    // acc = acc * a + b for 100 steps, 12 chains x lanes, summed: compare with double math.
    double expect = 0;
    for (int c = 0; c < 12; ++c) {
      double acc = 1.0f + 0.001f * static_cast<float>(c);
      for (int i = 0; i < 100; ++i)
        acc = acc * static_cast<double>(0.999999f) + static_cast<double>(1e-7f);
      expect += acc * t.lanes;
    }
    CHECK(static_cast<double>(t.fma_chains(100, 1.0f)) == doctest::Approx(expect).epsilon(1e-5));
  }
}

TEST_CASE("for_chunks covers [0, n) exactly once with a fixed split") {
  for (std::ptrdiff_t n : {0, 1, 7, 129, 1000}) {
    for (std::ptrdiff_t chunks : {1, 2, 3, 64}) {
      std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
      recnas::parallel::with_threads(2, [&] {
        recnas::parallel::for_chunks(n, chunks, [&](std::ptrdiff_t b, std::ptrdiff_t e) {
          for (auto i = b; i < e; ++i) hits[static_cast<std::size_t>(i)]++;
        });
      });
      for (auto& h : hits) CHECK(h.load() == 1);
    }
  }
  CHECK(recnas::parallel::with_threads(1, [] { return recnas::parallel::current_threads(); }) == 1);
  CHECK_THROWS_AS(recnas::parallel::with_threads(0, [] {}), recnas::contract_error);
}

namespace {
// Products computed at run time (volatile operands: no constant folding), so they see the
// thread's floating-point mode.
float times(float a, float b) {
  volatile float x = a;
  volatile float y = b;
  return x * y;
}
}  // namespace

TEST_CASE("with_threads flushes subnormals on every thread unless told to keep them") {
  using recnas::parallel::subnormals;
  const float tiny = std::numeric_limits<float>::min();        // smallest normal
  const float sub = std::numeric_limits<float>::denorm_min();  // a subnormal input
  const bool x86 = recnas::parallel::detail::fp_flush_bits != 0;
  CHECK(times(tiny, 0.5f) == tiny / 2);  // the process default outside: gradual underflow
  for (const auto mode : {subnormals::flush, subnormals::keep}) {
    CAPTURE(static_cast<int>(mode));
    const bool flush = mode == subnormals::flush && x86;
    std::vector<float> made(64, -1.0f), read(64, -1.0f);  // per chunk, on any thread
    float made_here = -1.0f, read_here = -1.0f;           // on the calling thread
    recnas::parallel::with_threads(
        2,
        [&] {
          made_here = times(tiny, 0.5f);
          read_here = times(sub, 2.0f);
          recnas::parallel::for_chunks(64, 64, [&](std::ptrdiff_t b, std::ptrdiff_t e) {
            for (auto i = b; i < e; ++i) {
              made[static_cast<std::size_t>(i)] = times(tiny, 0.5f);
              read[static_cast<std::size_t>(i)] = times(sub, 2.0f);
            }
          });
        },
        mode);
    // FTZ: a subnormal result is zero; DAZ: a subnormal input reads as zero.
    CHECK(made_here == (flush ? 0.0f : tiny / 2));
    CHECK(read_here == (flush ? 0.0f : 2 * sub));
    for (std::size_t i = 0; i < made.size(); ++i) {
      CHECK(made[i] == (flush ? 0.0f : tiny / 2));
      CHECK(read[i] == (flush ? 0.0f : 2 * sub));
    }
  }
  CHECK(times(tiny, 0.5f) == tiny / 2);  // the caller's mode is restored
  CHECK(times(sub, 2.0f) == 2 * sub);
}
