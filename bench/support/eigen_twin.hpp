#pragma once
// Eigen reference products of the kernel benchmarks, compiled at the ISAs of our kernels.
//
// recnas_bench_kernels' own translation unit is built with the project's default flags (SSE2),
// so an Eigen product written there is an SSE2 Eigen. eigen_twin_avx2.cpp and
// eigen_twin_avx512.cpp compile the same products with AVX2+FMA / AVX-512 flags (per-source
// COMPILE_OPTIONS in bench/CMakeLists.txt). Inside them the namespace `Eigen` is renamed
// (Eigen_avx2, Eigen_avx512) so the linker cannot merge their inline Eigen functions with the
// SSE2 copies of the main TU (same mangled names, different instructions). The interface is
// plain pointers only: nothing ISA-specific crosses it.

#include <cstddef>

namespace recnas::bench::eigen_twin {

/// Row-major float operands of one FC: X [m, k], W [n, k], Y/dY [m, n], dX [m, k], dW [n, k].
struct fc_operands {
  const float* x;
  const float* w;
  const float* dy;
  float* y;
  float* dx;
  float* dw;
  std::ptrdiff_t m, n, k;
};

/// One compiled Eigen level: Y[r0:r1] = X[r0:r1] W^T; dX[r0:r1] = dY[r0:r1] W;
/// dW[r0:r1] += dY[:, r0:r1]^T X (rows of dW, i.e. output features r0..r1).
struct table {
  const char* level;  // "avx2", "avx512" or "sse2" (the flags of that TU)
  const char* name;   // Eigen::SimdInstructionSetsInUse() of that TU
  void (*forward)(const fc_operands&, std::ptrdiff_t r0, std::ptrdiff_t r1);
  void (*backward_data)(const fc_operands&, std::ptrdiff_t r0, std::ptrdiff_t r1);
  void (*backward_weight)(const fc_operands&, std::ptrdiff_t r0, std::ptrdiff_t r1);
};

// Defined in eigen_twin_avx2.cpp / eigen_twin_avx512.cpp (only when
// RECNAS_BENCH_EIGEN_ISA_TWINS is defined). Call them only if simd::detected_isa() allows.
const table& avx2();
const table& avx512();

}  // namespace recnas::bench::eigen_twin
