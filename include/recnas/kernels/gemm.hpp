#pragma once
// GEMM family of the FC path, with weight sharing by prefix slicing.
//
// Shapes (row-major float32, every matrix has its own leading dimension):
//   inputs  : S segments; segment s is X_s[batch, width_s] at x_s with row stride ldx_s and uses
//             weight columns [w_col_begin_s, w_col_begin_s + width_s).
//   weight  : W[d_max, in_max] with row stride ldw; an operator uses its first d_out rows.
//   output  : Y[batch, d_out] with row stride ldy.
//
//   fc_forward:          Y = act( sum_s X_s . W[0:d_out, cols_s]^T + b[0:d_out] )
//   activation_backward: dZ = dY * act'(Y)                      (from the forward's output Y)
//   fc_backward_data:    dX_s  = (accumulate_s ? dX_s : 0) + dZ . W[0:d_out, cols_s]
//   fc_backward_weight:  dW[0:d_out, cols_s] += dZ^T . X_s
//   bias_backward:       db[0:d_out] += colsum(dZ)
//   gemm:                C = (accumulate ? C : 0) + op(A) . op(B), op = optional transpose
//
// Nothing is copied outside the packing workspace, and zero masks are never multiplied: a
// subnet of the supernet runs exactly the FLOPs of its own shape. Kernels never allocate; the
// caller passes `workspace` (see fc_workspace_size / gemm_workspace_size). The work is split
// over recnas::parallel::current_threads() by output tiles (a split that depends on the shape
// and thread count only, and each output element is summed in the same order whatever the
// split), so results are bit-identical for any thread count.
//
// Every kernel has a `_ref` twin (naive, double accumulation) used by tests and benchmarks.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "recnas/core/error.hpp"
#include "recnas/core/tensor.hpp"
#include "recnas/kernels/detail/gemm_core.hpp"
#include "recnas/parallel/threads.hpp"
#include "recnas/simd/dispatch.hpp"

// GCC 12 reports false "(may be) used uninitialized" inside its own AVX-512 intrinsics
// (_mm512_undefined_ps pass-through operands) once they are inlined into kernels.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace recnas::kernels {

/// One input segment of an FC operator (a slice of an earlier block's output).
struct fc_input {
  const float* x = nullptr;  // X_s[batch, width] with row stride ldx
  index ldx = 0;
  index w_col_begin = 0;  // first weight column this segment multiplies
  index width = 0;        // active prefix width of the source
};

/// Where the input gradient of one segment goes (dx == nullptr: not needed, skipped).
struct fc_input_grad {
  float* dx = nullptr;  // dX_s[batch, width] with row stride lddx
  index lddx = 0;
  bool accumulate = false;  // add to dX_s instead of overwriting it
};

/// Most input segments one FC call takes (operands live on the stack: no allocation).
inline constexpr index fc_max_segments = 64;

namespace detail {

template <class Arch>
void colsum_accumulate(idx rows, idx cols, const float* dz, idx ld, float* db) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr idx L = static_cast<idx>(batch::size);
  idx j = 0;
  for (; j + 4 * L <= cols; j += 4 * L) {
    batch s0(0.0f), s1(0.0f), s2(0.0f), s3(0.0f);
    for (idx i = 0; i < rows; ++i) {
      const float* r = dz + i * ld + j;
      s0 += batch::load_unaligned(r);
      s1 += batch::load_unaligned(r + L);
      s2 += batch::load_unaligned(r + 2 * L);
      s3 += batch::load_unaligned(r + 3 * L);
    }
    (batch::load_unaligned(db + j) + s0).store_unaligned(db + j);
    (batch::load_unaligned(db + j + L) + s1).store_unaligned(db + j + L);
    (batch::load_unaligned(db + j + 2 * L) + s2).store_unaligned(db + j + 2 * L);
    (batch::load_unaligned(db + j + 3 * L) + s3).store_unaligned(db + j + 3 * L);
  }
  for (; j + L <= cols; j += L) {
    batch s(0.0f);
    for (idx i = 0; i < rows; ++i) s += batch::load_unaligned(dz + i * ld + j);
    (batch::load_unaligned(db + j) + s).store_unaligned(db + j);
  }
  for (; j < cols; ++j) {
    float s = 0.0f;
    for (idx i = 0; i < rows; ++i) s += dz[i * ld + j];
    db[j] += s;
  }
}

template <class Arch>
void activation_backward_rows(activation act, idx rows, idx cols, const float* y, idx ldy,
                              const float* dy, idx lddy, float* dz, idx lddz) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr idx L = static_cast<idx>(batch::size);
  for (idx i = 0; i < rows; ++i) {
    const float* yr = y + i * ldy;
    const float* gr = dy + i * lddy;
    float* zr = dz + i * lddz;
    idx j = 0;
    if (act == activation::relu) {
      for (; j + L <= cols; j += L) {
        const batch yv = batch::load_unaligned(yr + j);
        xsimd::select(yv > batch(0.0f), batch::load_unaligned(gr + j), batch(0.0f))
            .store_unaligned(zr + j);
      }
      for (; j < cols; ++j) zr[j] = yr[j] > 0.0f ? gr[j] : 0.0f;
    } else if (act == activation::sigmoid) {
      for (; j + L <= cols; j += L) {
        const batch yv = batch::load_unaligned(yr + j);
        (batch::load_unaligned(gr + j) * yv * (batch(1.0f) - yv)).store_unaligned(zr + j);
      }
      for (; j < cols; ++j) zr[j] = gr[j] * yr[j] * (1.0f - yr[j]);
    } else {
      for (; j < cols; ++j) zr[j] = gr[j];
    }
  }
}

}  // namespace detail

/// Kernel table of the GEMM family.
struct gemm_table {
  void (*region)(const detail::gemm_problem&, index m0, index m1, index n0, index n1,
                 float* ws) = nullptr;
  void (*colsum_accumulate)(index rows, index cols, const float* dz, index ld,
                            float* db) noexcept = nullptr;
  void (*activation_backward)(activation, index rows, index cols, const float* y, index ldy,
                              const float* dy, index lddy, float* dz,
                              index lddz) noexcept = nullptr;
  int tile_m = 0;  // rows of one packed row block (threads split M in these units)
  int tile_n = 0;  // columns of the widest register tile (threads split N in these units)
  int lanes = 0;

  template <class Arch>
  static gemm_table make() {
    using cfg = detail::gemm_config<Arch>;
    return {&detail::gemm_region<Arch>,
            &detail::colsum_accumulate<Arch>,
            &detail::activation_backward_rows<Arch>,
            cfg::tile_m,
            cfg::tile_n,
            cfg::lanes};
  }
};

// Entry points (they dispatch) and references: never compiled in the ISA translation units,
// where an inline copy built with wider-ISA flags could be the one the linker keeps.
#ifndef RECNAS_ISA_TRANSLATION_UNIT

/// Floats of workspace one GEMM with `n` output columns needs on `threads` threads.
[[nodiscard]] inline index gemm_workspace_size(index n, int threads = parallel::current_threads()) {
  return static_cast<index>(std::max(threads, 1)) * detail::gemm_thread_workspace(n);
}

/// Floats of workspace that covers every FC call below (forward, backward, fused backward)
/// for an operator with this batch, d_out and widest input segment.
[[nodiscard]] inline index fc_workspace_size(index batch, index d_out, index max_width,
                                             int threads = parallel::current_threads()) {
  const index dz = batch * ((d_out + 15) / 16 * 16) + 16;
  return gemm_workspace_size(std::max({d_out, max_width, index{1}}), threads) + dz;
}

namespace detail {

/// Runs one problem over the current threads, splitting M or N by tiles.
inline void run_gemm(const gemm_problem& pb, std::span<float> ws) {
  if (pb.m <= 0 || pb.n <= 0) return;
  const gemm_table& t = simd::dispatcher<gemm_table>::get();
  const idx per_thread = gemm_thread_workspace(pb.n);
  const idx fits = static_cast<idx>(ws.size()) / per_thread;
  expects(fits >= 1,
          "gemm workspace too small: size it with gemm_workspace_size/fc_workspace_size");
  const double flops = 2.0 * static_cast<double>(pb.m) * static_cast<double>(pb.n) *
                       static_cast<double>(std::max<idx>(pb.k, 1));
  // Split axis. With a row-major A (X of the forward, dZ of the data gradient) and a wide N,
  // split N: A is read in place, so each thread packs only its own columns of B. Splitting M
  // there would make every thread pack all of B (a transposing pack of W for the forward), a
  // cost that does not shrink with the thread count. Otherwise split the axis with more tiles.
  bool a_rows = pb.a.ngroups > 0;
  for (int g = 0; g < pb.a.ngroups; ++g) a_rows = a_rows && pb.a.groups[g].cs == 1;
  const idx m_tiles = (pb.m + t.tile_m - 1) / t.tile_m;
  const idx n_tiles = (pb.n + t.tile_n - 1) / t.tile_n;
  const idx n_units = (pb.n + t.lanes - 1) / t.lanes;  // N is split at whole vectors
  const idx threads = parallel::current_threads();
  const bool split_n =
      a_rows && pb.n > gemm_direct_max_n ? n_units >= 4 * threads : n_tiles > m_tiles;
  const idx tiles = split_n ? n_units : m_tiles;
  const idx unit = split_n ? t.lanes : t.tile_m;
  idx chunks = std::min<idx>(threads, static_cast<idx>(flops / 2e6));
  chunks = std::clamp<idx>(std::min(chunks, fits), 1, tiles);
  // Each chunk's slice of the workspace starts on a 64-byte boundary.
  auto slice = [&](idx c) {
    float* p = ws.data() + c * per_thread;
    const auto mis = reinterpret_cast<std::uintptr_t>(p) % 64;
    return mis == 0 ? p : p + (64 - mis) / sizeof(float);
  };
  if (chunks == 1) {
    t.region(pb, 0, pb.m, 0, pb.n, slice(0));
    return;
  }
  parallel::for_chunks(chunks, chunks, [&](idx c0, idx c1) {
    for (idx c = c0; c < c1; ++c) {
      const idx b = tiles * c / chunks * unit;
      const idx e = tiles * (c + 1) / chunks * unit;
      if (split_n) {
        t.region(pb, 0, pb.m, b, std::min(pb.n, e), slice(c));
      } else {
        t.region(pb, b, std::min(pb.m, e), 0, pb.n, slice(c));
      }
    }
  });
}

inline void check_inputs(std::span<const fc_input> in, index ldw) {
  expects(static_cast<index>(in.size()) <= fc_max_segments, "fc: at most fc_max_segments inputs");
  for (const fc_input& s : in) {
    expects(s.width >= 0 && s.w_col_begin >= 0 && s.w_col_begin + s.width <= ldw,
            "fc: segment columns inside the weight's leading dimension");
    expects(s.width == 0 || (s.x != nullptr && s.ldx >= s.width), "fc: segment x and ldx >= width");
  }
}

}  // namespace detail

/// Y[0:batch, 0:d_out] = act( sum_s X_s . W[0:d_out, cols_s]^T + b ), b may be null.
inline void fc_forward(std::span<const fc_input> in, index batch, const float* w, index ldw,
                       const float* bias, index d_out, activation act, float* y, index ldy,
                       std::span<float> workspace) {
  detail::check_inputs(in, ldw);
  expects(batch >= 0 && d_out >= 0 && ldy >= d_out, "fc_forward: shapes");
  if (batch == 0 || d_out == 0) return;
  std::array<detail::operand_group, fc_max_segments> ag{}, bg{};
  int n = 0;
  index k = 0;
  for (const fc_input& s : in) {
    if (s.width == 0) continue;
    ag[n] = {s.x, s.ldx, 1, s.width, 1, 0};
    bg[n] = {w + s.w_col_begin, 1, ldw, s.width, 1, 0};
    k += s.width;
    ++n;
  }
  detail::gemm_problem pb;
  pb.m = batch;
  pb.n = d_out;
  pb.k = k;
  pb.a = {ag.data(), n};
  pb.b = {bg.data(), n};
  pb.c = y;
  pb.ldc = ldy;
  pb.bias = bias;
  pb.act = act;
  detail::run_gemm(pb, workspace);
}

/// dZ = dY * act'(Y) elementwise over [rows, cols] (dz may alias dy).
inline void activation_backward(activation act, index rows, index cols, const float* y, index ldy,
                                const float* dy, index lddy, float* dz, index lddz) {
  expects(rows >= 0 && cols >= 0, "activation_backward: shapes");
  if (rows == 0 || cols == 0) return;
  const auto& t = simd::dispatcher<gemm_table>::get();
  parallel::parallel_rows(rows, 8.0 * static_cast<double>(rows * cols), [&](index r0, index r1) {
    t.activation_backward(act, r1 - r0, cols, y + r0 * ldy, ldy, dy + r0 * lddy, lddy,
                          dz + r0 * lddz, lddz);
  });
}

/// dX_s (+)= dZ . W[0:d_out, cols_s] for every segment whose grad.dx is not null.
inline void fc_backward_data(std::span<const fc_input> in, std::span<const fc_input_grad> grad,
                             index batch, const float* dz, index lddz, const float* w, index ldw,
                             index d_out, std::span<float> workspace) {
  detail::check_inputs(in, ldw);
  expects(grad.size() == in.size(), "fc_backward_data: one fc_input_grad per input");
  if (batch == 0) return;
  for (std::size_t s = 0; s < in.size(); ++s) {
    if (grad[s].dx == nullptr || in[s].width == 0) continue;
    expects(grad[s].lddx >= in[s].width, "fc_backward_data: lddx >= width");
    const detail::operand_group a{dz, lddz, 1, d_out, 1, 0};
    const detail::operand_group b{w + in[s].w_col_begin, ldw, 1, d_out, 1, 0};
    detail::gemm_problem pb;
    pb.m = batch;
    pb.n = in[s].width;
    pb.k = d_out;
    pb.a = {&a, 1};
    pb.b = {&b, 1};
    pb.c = grad[s].dx;
    pb.ldc = grad[s].lddx;
    pb.accumulate = grad[s].accumulate;
    detail::run_gemm(pb, workspace);
  }
}

/// dW[0:d_out, cols_s] += dZ^T . X_s for every segment.
inline void fc_backward_weight(std::span<const fc_input> in, index batch, const float* dz,
                               index lddz, index d_out, float* dw, index lddw,
                               std::span<float> workspace) {
  detail::check_inputs(in, lddw);
  for (const fc_input& s : in) {
    if (s.width == 0 || d_out == 0) continue;
    const detail::operand_group a{dz, 1, lddz, batch, 1, 0};
    const detail::operand_group b{s.x, s.ldx, 1, batch, 1, 0};
    detail::gemm_problem pb;
    pb.m = d_out;
    pb.n = s.width;
    pb.k = batch;
    pb.a = {&a, 1};
    pb.b = {&b, 1};
    pb.c = dw + s.w_col_begin;
    pb.ldc = lddw;
    pb.accumulate = true;
    detail::run_gemm(pb, workspace);
  }
}

/// db[0:d_out] += sum over rows of dZ.
inline void bias_backward(index batch, index d_out, const float* dz, index lddz, float* db) {
  if (batch <= 0 || d_out <= 0) return;
  simd::dispatcher<gemm_table>::get().colsum_accumulate(batch, d_out, dz, lddz, db);
}

/// The whole FC backward from the forward's output: dZ = dY * act'(Y) (in the workspace),
/// then dX_s, dW += and db += (db may be null for an FC without bias).
inline void fc_backward(std::span<const fc_input> in, std::span<const fc_input_grad> grad,
                        index batch, const float* y, index ldy, const float* dy, index lddy,
                        const float* w, index ldw, index d_out, activation act, float* dw,
                        float* db, std::span<float> workspace) {
  if (batch == 0 || d_out == 0) return;
  const float* dz = dy;
  index lddz = lddy;
  std::span<float> ws = workspace;
  if (act != activation::none) {
    const index ld = (d_out + 15) / 16 * 16;
    expects(static_cast<index>(ws.size()) > batch * ld, "fc_backward: workspace too small");
    float* z = ws.data() + (ws.size() - static_cast<std::size_t>(batch * ld));
    activation_backward(act, batch, d_out, y, ldy, dy, lddy, z, ld);
    dz = z;
    lddz = ld;
    ws = ws.first(ws.size() - static_cast<std::size_t>(batch * ld));
  }
  fc_backward_data(in, grad, batch, dz, lddz, w, ldw, d_out, ws);
  if (dw != nullptr) fc_backward_weight(in, batch, dz, lddz, d_out, dw, ldw, ws);
  if (db != nullptr) bias_backward(batch, d_out, dz, lddz, db);
}

/// C[m, n] = (accumulate ? C : 0) + op(A) . op(B); op(A) is m x k (A row-major with lda, read
/// transposed when trans_a), op(B) is k x n.
inline void gemm(index m, index n, index k, const float* a, index lda, bool trans_a, const float* b,
                 index ldb, bool trans_b, float* c, index ldc, bool accumulate,
                 std::span<float> workspace) {
  expects(m >= 0 && n >= 0 && k >= 0 && ldc >= n, "gemm: shapes");
  const detail::operand_group ag = trans_a ? detail::operand_group{a, 1, lda, k, 1, 0}
                                           : detail::operand_group{a, lda, 1, k, 1, 0};
  const detail::operand_group bg = trans_b ? detail::operand_group{b, 1, ldb, k, 1, 0}
                                           : detail::operand_group{b, ldb, 1, k, 1, 0};
  detail::gemm_problem pb;
  pb.m = m;
  pb.n = n;
  pb.k = k;
  pb.a = {&ag, 1};
  pb.b = {&bg, 1};
  pb.c = c;
  pb.ldc = ldc;
  pb.accumulate = accumulate;
  detail::run_gemm(pb, workspace);
}

// ---------------------------------------------------------------- references (double sums)

[[nodiscard]] inline double activation_ref(activation act, double x) {
  switch (act) {
    case activation::relu:
      return x > 0.0 ? x : 0.0;
    case activation::sigmoid:
      return 1.0 / (1.0 + std::exp(-x));
    case activation::none:
      break;
  }
  return x;
}

inline void fc_forward_ref(std::span<const fc_input> in, index batch, const float* w, index ldw,
                           const float* bias, index d_out, activation act, float* y, index ldy) {
  for (index i = 0; i < batch; ++i) {
    for (index j = 0; j < d_out; ++j) {
      double s = bias != nullptr ? bias[j] : 0.0;
      for (const fc_input& seg : in) {
        for (index c = 0; c < seg.width; ++c) {
          s += static_cast<double>(seg.x[i * seg.ldx + c]) *
               static_cast<double>(w[j * ldw + seg.w_col_begin + c]);
        }
      }
      y[i * ldy + j] = static_cast<float>(activation_ref(act, s));
    }
  }
}

inline void activation_backward_ref(activation act, index rows, index cols, const float* y,
                                    index ldy, const float* dy, index lddy, float* dz, index lddz) {
  for (index i = 0; i < rows; ++i) {
    for (index j = 0; j < cols; ++j) {
      const double yy = y[i * ldy + j];
      const double g = dy[i * lddy + j];
      double d = g;
      if (act == activation::relu) d = yy > 0.0 ? g : 0.0;
      if (act == activation::sigmoid) d = g * yy * (1.0 - yy);
      dz[i * lddz + j] = static_cast<float>(d);
    }
  }
}

inline void fc_backward_data_ref(std::span<const fc_input> in, std::span<const fc_input_grad> grad,
                                 index batch, const float* dz, index lddz, const float* w,
                                 index ldw, index d_out) {
  for (std::size_t s = 0; s < in.size(); ++s) {
    if (grad[s].dx == nullptr) continue;
    for (index i = 0; i < batch; ++i) {
      for (index c = 0; c < in[s].width; ++c) {
        double acc = grad[s].accumulate ? grad[s].dx[i * grad[s].lddx + c] : 0.0;
        for (index j = 0; j < d_out; ++j) {
          acc += static_cast<double>(dz[i * lddz + j]) *
                 static_cast<double>(w[j * ldw + in[s].w_col_begin + c]);
        }
        grad[s].dx[i * grad[s].lddx + c] = static_cast<float>(acc);
      }
    }
  }
}

inline void fc_backward_weight_ref(std::span<const fc_input> in, index batch, const float* dz,
                                   index lddz, index d_out, float* dw, index lddw) {
  for (const fc_input& s : in) {
    for (index j = 0; j < d_out; ++j) {
      for (index c = 0; c < s.width; ++c) {
        double acc = dw[j * lddw + s.w_col_begin + c];
        for (index i = 0; i < batch; ++i) {
          acc += static_cast<double>(dz[i * lddz + j]) * static_cast<double>(s.x[i * s.ldx + c]);
        }
        dw[j * lddw + s.w_col_begin + c] = static_cast<float>(acc);
      }
    }
  }
}

inline void bias_backward_ref(index batch, index d_out, const float* dz, index lddz, float* db) {
  for (index j = 0; j < d_out; ++j) {
    double acc = db[j];
    for (index i = 0; i < batch; ++i) acc += dz[i * lddz + j];
    db[j] = static_cast<float>(acc);
  }
}

inline void gemm_ref(index m, index n, index k, const float* a, index lda, bool trans_a,
                     const float* b, index ldb, bool trans_b, float* c, index ldc,
                     bool accumulate) {
  for (index i = 0; i < m; ++i) {
    for (index j = 0; j < n; ++j) {
      double acc = accumulate ? c[i * ldc + j] : 0.0;
      for (index p = 0; p < k; ++p) {
        const double av = trans_a ? a[p * lda + i] : a[i * lda + p];
        const double bv = trans_b ? b[j * ldb + p] : b[p * ldb + j];
        acc += av * bv;
      }
      c[i * ldc + j] = static_cast<float>(acc);
    }
  }
}

#endif  // RECNAS_ISA_TRANSLATION_UNIT
}  // namespace recnas::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
