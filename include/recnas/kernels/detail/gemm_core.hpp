#pragma once
// The packed, register-blocked GEMM engine behind every matrix-shaped kernel (FC forward and
// backward, token-axis linear). Everything here is templated on the xsimd architecture: this
// code is compiled once per ISA translation unit and reached only through kernel tables.
//
// Problem: C[M, N] = (accumulate ? C : 0) + A[M, K] . B[K, N], then optionally
// C = act(C + bias) on the last K block. A and B are "operands": the K axis is a concatenation
// of segments, each with its own base pointer and strides, so that weight sharing (the first
// d_out rows and some column ranges of a larger matrix) and concatenated inputs never need a
// copy outside the packing buffers.
//
// Blocking (GotoBLAS/BLIS style): B is packed per (nc x kc) block into panels `lanes` wide
// (L2 resident); A is packed per row block of `tile_m` rows (L1 resident); the micro-kernel
// keeps an (R*mr) x (NV*lanes) tile of C in registers and streams k.

#include <algorithm>
#include <cmath>
#include <cstddef>

#include <xsimd/xsimd.hpp>

#if defined(__x86_64__)
#include <immintrin.h>  // GCC/Clang declare every intrinsic; only ISA TUs instantiate AVX code
#endif

// GCC 12 reports false "(may be) used uninitialized" inside its own AVX-512 intrinsics
// (_mm512_undefined_ps used as a pass-through operand) once they are inlined into kernels.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace recnas::kernels {

/// Fused activation of a GEMM epilogue.
enum class activation : int { none = 0, relu = 1, sigmoid = 2 };

namespace detail {

using idx = std::ptrdiff_t;

/// `count` segments of `len` entries along K; segment g starts at p + g * stride.
/// For an A operand, element (i, k) of a segment is p[i * rs + k * cs];
/// for a B operand, element (k, j) is p[k * rs + j * cs].
struct operand_group {
  const float* p = nullptr;
  idx rs = 0;
  idx cs = 0;
  idx len = 0;
  idx count = 1;
  idx stride = 0;
};

struct operand {
  const operand_group* groups = nullptr;
  int ngroups = 0;
};

/// One GEMM problem (see the header comment).
struct gemm_problem {
  idx m = 0, n = 0, k = 0;
  operand a, b;
  float* c = nullptr;
  idx ldc = 0;
  bool accumulate = false;
  const float* bias = nullptr;  // length n, or null
  activation act = activation::none;
};

inline constexpr idx gemm_kc = 256;   // K block: one B micro-panel (kc x 48) close to the core
inline constexpr idx gemm_mc = 240;   // M block: one packed A block (mc x kc) stays in L2
inline constexpr idx gemm_nc = 1024;  // N block: one packed B block (kc x nc) stays in L2
inline constexpr idx gemm_max_tile_m = 24;
inline constexpr idx gemm_max_lanes = 16;

/// Floats of packing workspace one thread needs for a problem with n columns.
constexpr idx gemm_thread_workspace(idx n) noexcept {
  const idx nc = std::min<idx>(std::max<idx>(n, 1), gemm_nc);
  const idx nc_padded = (nc + gemm_max_lanes - 1) / gemm_max_lanes * gemm_max_lanes;
  // + 16 floats so each thread's slice can start on a 64-byte boundary.
  return gemm_kc * (nc_padded + gemm_mc) + 16;
}

/// Register blocking per architecture: lanes, rows per packed A panel, panels per row block,
/// widest tile in vectors.
template <class Arch>
struct gemm_config {
  static constexpr int lanes = static_cast<int>(xsimd::batch<float, Arch>::size);
  // AVX-512: 32 registers -> 24 accumulators (8x48, 8x32, 24x16).
  // AVX2/SSE: 16 registers -> 12 accumulators (6x16/8 or 12x8/4...).
  static constexpr int mr = lanes >= 16 ? 8 : (lanes == 8 ? 6 : 4);
  static constexpr int rmax = lanes >= 16 ? 3 : 2;
  static constexpr int nvmax = lanes >= 16 ? 3 : 2;
  static constexpr int tile_m = mr * rmax;
  static constexpr int tile_n = nvmax * lanes;
  static_assert(tile_m <= gemm_max_tile_m && lanes <= gemm_max_lanes,
                "recnas: gemm_thread_workspace() must cover every ISA's tile sizes");
};

template <class Arch>
inline xsimd::batch<float, Arch> apply_activation(xsimd::batch<float, Arch> x,
                                                  activation act) noexcept {
  using batch = xsimd::batch<float, Arch>;
  switch (act) {
    case activation::relu:
      return xsimd::max(x, batch(0.0f));
    case activation::sigmoid:
      return batch(1.0f) / (batch(1.0f) + xsimd::exp(-x));
    case activation::none:
      break;
  }
  return x;
}

/// Micro-kernel: C tile of (R*mr) rows x (NV*lanes) columns.
/// a: R packed panels ([k][mr] each), panel r at a + r * a_ps. b: vector v of row k at
/// b + k * b_rs + v * b_vs. rows/cols: the valid part of the tile in C.
/// How the micro-kernel reads A: from a packed panel ([k][mr], panel r at a + r * a_ps), in
/// place with rows contiguous (element (i, k) at a[i + k * a_s], e.g. dZ^T) or in place
/// row-major (element (i, k) at a[i * a_s + k], e.g. X; one panel of mr rows).
enum class a_mode : int { packed = 0, in_place_cols = 1, in_place_rows = 2 };

template <class Arch, int R, int NV, a_mode AM = a_mode::packed>
void micro_kernel(idx kc, const float* __restrict a, idx a_ps, const float* __restrict b, idx b_rs,
                  idx b_vs, float* c, idx ldc, idx rows, idx cols, bool load_c, bool epilogue,
                  const float* bias, activation act, idx a_s = 0) noexcept {
  static_assert(AM != a_mode::in_place_rows || R == 1,
                "recnas: row-major in-place A is read through one panel of mr row pointers");
  using batch = xsimd::batch<float, Arch>;
  constexpr int L = gemm_config<Arch>::lanes;
  constexpr int MR = gemm_config<Arch>::mr;
  constexpr int ROWS = R * MR;
  batch acc[ROWS][NV];
  if (load_c && rows == ROWS) {
    // C is re-read after the k loop; start fetching it now (it is often out of L2 by then).
#pragma GCC unroll 32
    for (int i = 0; i < ROWS; ++i) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) __builtin_prefetch(c + i * ldc + v * L, 1);
    }
  }
#pragma GCC unroll 32
  for (int i = 0; i < ROWS; ++i) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = batch(0.0f);
  }
  if constexpr (AM == a_mode::in_place_rows) {
    const float* rp[MR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) rp[i] = a + i * a_s;
    for (idx k = 0; k < kc; ++k) {
      batch bv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) bv[v] = batch::load_unaligned(b + k * b_rs + v * b_vs);
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const batch av(rp[i][k]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[i][v] = xsimd::fma(av, bv[v], acc[i][v]);
      }
    }
  } else {
    const idx ks = AM == a_mode::packed ? idx{MR} : a_s;
    for (idx k = 0; k < kc; ++k) {
      batch bv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) bv[v] = batch::load_unaligned(b + k * b_rs + v * b_vs);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const float* ak = a + r * a_ps + k * ks;
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) {
          const batch av(ak[i]);
#pragma GCC unroll 4
          for (int v = 0; v < NV; ++v)
            acc[r * MR + i][v] = xsimd::fma(av, bv[v], acc[r * MR + i][v]);
        }
      }
    }
  }
  if (rows == ROWS && cols == NV * L) {
    batch bias_v[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bias_v[v] = batch(0.0f);
    if (epilogue && bias != nullptr) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) bias_v[v] = batch::load_unaligned(bias + v * L);
    }
#pragma GCC unroll 32
    for (int i = 0; i < ROWS; ++i) {
      float* ci = c + i * ldc;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        batch x = acc[i][v];
        if (load_c) x += batch::load_unaligned(ci + v * L);
        if (epilogue) {
          if (bias != nullptr) x += bias_v[v];
          x = apply_activation<Arch>(x, act);
        }
        x.store_unaligned(ci + v * L);
      }
    }
    return;
  }
  // Edge tile: go through a padded copy so the arithmetic is the same vector code.
  alignas(64) float tmp[NV * L];
  alignas(64) float btmp[NV * L];
  if (epilogue && bias != nullptr) {
    for (int j = 0; j < NV * L; ++j) btmp[j] = j < cols ? bias[j] : 0.0f;
  }
  for (idx i = 0; i < rows; ++i) {
    float* ci = c + i * ldc;
    for (int j = 0; j < NV * L; ++j) tmp[j] = (load_c && j < cols) ? ci[j] : 0.0f;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      batch x = acc[i][v] + batch::load_aligned(tmp + v * L);
      if (epilogue) {
        if (bias != nullptr) x += batch::load_aligned(btmp + v * L);
        x = apply_activation<Arch>(x, act);
      }
      x.store_aligned(tmp + v * L);
    }
    for (idx j = 0; j < cols; ++j) ci[j] = tmp[j];
  }
}

/// Zero-fills n floats. Arch-templated on purpose: a std::fill<float*> instantiated in an ISA
/// translation unit could be the copy the linker keeps for generic code (an ODR hazard).
template <class Arch>
void zero_fill(float* d, idx n) noexcept {
  for (idx i = 0; i < n; ++i) d[i] = 0.0f;
}

/// Transposes `rows` (1..8) rows x 8 columns of s (row stride lds) into 8 rows of d (row
/// stride ldd), writing the first `rows` floats of each. AVX code, only instantiated for
/// architectures with 8-float registers or wider (AVX2 and AVX-512 translation units).
#if defined(__x86_64__)
template <class Arch>
void transpose_8x8(const float* s, idx lds, idx rows, float* d, idx ldd) noexcept {
  __m256 r[8];
  for (idx i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(s + (i < rows ? i : 0) * lds);
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  __m256 o[8];
  o[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  o[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  o[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  o[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  o[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  o[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  o[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  o[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
  if (rows == 8) {
    for (idx k = 0; k < 8; ++k) _mm256_storeu_ps(d + k * ldd, o[k]);
  } else {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(rows)), lane);
    for (idx k = 0; k < 8; ++k) _mm256_maskstore_ps(d + k * ldd, mask, o[k]);
  }
}
#endif

/// Calls fn(base, koff, run) for the runs of operand K entries [k0, k0+kc) inside segments:
/// base points at the segment entry k0+koff (row/column 0), run entries are contiguous in K.
template <class Fn>
void for_each_k_run(const operand& op, idx k0, idx kc, Fn&& fn) {
  idx kstart = 0;  // K index where the current group starts
  idx done = 0;
  for (int g = 0; g < op.ngroups && done < kc; ++g) {
    const operand_group& grp = op.groups[g];
    const idx glen = grp.len * grp.count;
    if (k0 + done >= kstart + glen) {
      kstart += glen;
      continue;
    }
    while (done < kc && k0 + done < kstart + glen) {
      const idx local = k0 + done - kstart;
      const idx seg = local / grp.len;
      const idx off = local - seg * grp.len;
      const idx run = std::min(grp.len - off, kc - done);
      fn(grp.p + seg * grp.stride, off, grp.rs, grp.cs, done, run);
      done += run;
    }
    kstart += glen;
  }
}

/// Packs A rows [i0, i0+rows) x K [k0, k0+kc) into `panels` panels of [kc][mr]; zero padding.
template <class Arch>
void pack_a(const operand& a, idx i0, idx rows, idx k0, idx kc, int panels, float* dst) {
  constexpr int MR = gemm_config<Arch>::mr;
  using batch = xsimd::batch<float, Arch>;
  for (int p = 0; p < panels; ++p) {
    float* d = dst + p * kc * MR;
    const idx r0 = p * MR;
    const idx nr = std::clamp<idx>(rows - r0, 0, MR);
    if (nr < MR) zero_fill<Arch>(d, kc * MR);
    if (nr == 0) continue;
    for_each_k_run(a, k0, kc, [&](const float* base, idx off, idx rs, idx cs, idx kd, idx run) {
      const float* src = base + (i0 + r0) * rs + off * cs;
      float* out = d + kd * MR;
      if (rs == 1) {
        // Contiguous along rows (a transposed operand): copy mr floats per k.
        if (nr == MR) {
          // Fixed-length copies: the compiler turns them into one or two vector moves.
          for (idx k = 0; k < run; ++k) {
            const float* s = src + k * cs;
            for (int i = 0; i < MR; ++i) out[k * MR + i] = s[i];
          }
        } else {
          for (idx k = 0; k < run; ++k)
            for (idx i = 0; i < nr; ++i) out[k * MR + i] = src[k * cs + i];
        }
      } else {
        // Row-major along k: transpose (8x8 register transposes where the ISA has them).
        idx kt = 0;
#if defined(__x86_64__)
        if constexpr (batch::size >= 8) {
          if (cs == 1) {
            for (; kt + 8 <= run; kt += 8) transpose_8x8<Arch>(src + kt, rs, nr, out + kt * MR, MR);
          }
        }
#endif
        for (idx i = 0; i < nr; ++i) {
          const float* s = src + i * rs;
          for (idx k = kt; k < run; ++k) out[k * MR + i] = s[k * cs];
        }
      }
    });
  }
}

/// Packs B K [k0, k0+kc) x columns [j0, j0+cols) into one panel per register tile: tile p
/// (columns [p*tile_n, p*tile_n + w)) is [kc][pw] at dst + p * kc * tile_n, pw = w rounded up
/// to whole vectors (zero padding), so the micro-kernel reads B as one sequential stream.
template <class Arch>
void pack_b(const operand& b, idx j0, idx cols, idx k0, idx kc, float* dst) {
  using batch = xsimd::batch<float, Arch>;
  using cfg = gemm_config<Arch>;
  constexpr int L = cfg::lanes;
  constexpr idx TN = cfg::tile_n;
  for (idx p = 0; p * TN < cols; ++p) {
    float* d = dst + p * kc * TN;
    const idx c0 = p * TN;
    const idx nc = std::min<idx>(TN, cols - c0);
    const idx pw = (nc + L - 1) / L * L;
    if (nc < pw) zero_fill<Arch>(d, kc * pw);
    for_each_k_run(b, k0, kc, [&](const float* base, idx off, idx rs, idx cs, idx kd, idx run) {
      const float* src = base + off * rs + (j0 + c0) * cs;
      float* out = d + kd * pw;
      if (cs == 1) {
        const idx full = nc / L * L;
        for (idx k = 0; k < run; ++k) {
          const float* sk = src + k * rs;
          float* ok = out + k * pw;
          for (idx j = 0; j < full; j += L) batch::load_unaligned(sk + j).store_unaligned(ok + j);
          for (idx j = full; j < nc; ++j) ok[j] = sk[j];
        }
      } else {
        // Transposed operand (e.g. W read as W^T): 8x8 register transposes, then the rest.
        idx kt = 0;
#if defined(__x86_64__)
        if constexpr (L >= 8) {
          if (rs == 1) {
            for (; kt + 8 <= run; kt += 8) {
              for (idx jt = 0; jt < nc; jt += 8) {
                transpose_8x8<Arch>(src + jt * cs + kt, cs, std::min<idx>(8, nc - jt),
                                    out + kt * pw + jt, pw);
              }
            }
          }
        }
#endif
        for (idx j = 0; j < nc; ++j) {
          const float* sj = src + j * cs;
          for (idx k = kt; k < run; ++k) out[k * pw + j] = sj[k * rs];
        }
      }
    });
  }
}

/// Runs the micro-kernels of one packed A block (rows x kc, panels of mr) against one B block:
/// packed by pack_b (b_rs < 0), or read in place with row stride b_rs (contiguous columns).
/// B micro-panels are the outer loop so that one of them (kc x tile_n) stays close (L1/L2)
/// while the A panels stream.
template <class Arch>
void gemm_block(idx kc, const float* apack, idx rows, const float* bpack, idx b_rs, idx nc,
                float* c, idx ldc, bool load_c, bool epilogue, const float* bias, activation act) {
  using cfg = gemm_config<Arch>;
  constexpr int L = cfg::lanes;
  constexpr int MR = cfg::mr;
  const idx a_ps = kc * MR;
  for (idx jr = 0; jr < nc; jr += cfg::tile_n) {
    const idx w = std::min<idx>(cfg::tile_n, nc - jr);
    const idx nv = (w + L - 1) / L;
    const bool packed = b_rs < 0;
    const float* bp = packed ? bpack + (jr / cfg::tile_n) * kc * cfg::tile_n : bpack + jr;
    const idx brs = packed ? nv * L : b_rs;
    float* cj = c + jr;
    const float* bj = bias != nullptr ? bias + jr : nullptr;
    if (nv == 1) {
      // Tall narrow tiles; the last one only as tall as the rows left (whole mr panels) so a
      // 16-row operator never goes through the edge path.
      for (idx ir = 0; ir < rows; ir += cfg::tile_m) {
        const idx rr = std::min<idx>(cfg::tile_m, rows - ir);
        const float* ap = apack + (ir / MR) * a_ps;
        float* cp = cj + ir * ldc;
        if (rr > 2 * MR || cfg::rmax == 2) {
          micro_kernel<Arch, cfg::rmax, 1>(kc, ap, a_ps, bp, brs, L, cp, ldc, rr, w, load_c,
                                           epilogue, bj, act);
        } else if (rr > MR) {
          micro_kernel<Arch, 2, 1>(kc, ap, a_ps, bp, brs, L, cp, ldc, rr, w, load_c, epilogue, bj,
                                   act);
        } else {
          micro_kernel<Arch, 1, 1>(kc, ap, a_ps, bp, brs, L, cp, ldc, rr, w, load_c, epilogue, bj,
                                   act);
        }
      }
      continue;
    }
    for (idx ir = 0; ir < rows; ir += MR) {
      const idx pr = std::min<idx>(MR, rows - ir);
      const float* ap = apack + (ir / MR) * a_ps;
      float* cp = cj + ir * ldc;
      if (nv == cfg::nvmax) {
        micro_kernel<Arch, 1, cfg::nvmax>(kc, ap, a_ps, bp, brs, L, cp, ldc, pr, w, load_c,
                                          epilogue, bj, act);
      } else if constexpr (cfg::nvmax > 2) {
        micro_kernel<Arch, 1, 2>(kc, ap, a_ps, bp, brs, L, cp, ldc, pr, w, load_c, epilogue, bj,
                                 act);
      }
    }
  }
}

/// Micro-kernels of one full row block with A read in place (a_mode::in_place_*): A element
/// (i, k) of the block at a[i * a_s + k] (rows) or a[i + k * a_s] (cols); B packed by pack_b,
/// starting at its k row kd. Used when N is narrow, where packing A would cost as much as the
/// multiply (A is then read once per tile column, and there are at most a few).
template <class Arch, a_mode AM>
void direct_block(idx run, const float* a, idx a_s, const float* bpack, idx kc, idx kd, idx nc,
                  float* c, idx ldc, bool load_c, bool epilogue, const float* bias,
                  activation act) {
  using cfg = gemm_config<Arch>;
  constexpr int L = cfg::lanes;
  constexpr int MR = cfg::mr;
  for (idx jr = 0; jr < nc; jr += cfg::tile_n) {
    const idx w = std::min<idx>(cfg::tile_n, nc - jr);
    const idx nv = (w + L - 1) / L;
    const float* bp = bpack + (jr / cfg::tile_n) * kc * cfg::tile_n + kd * nv * L;
    const float* bj = bias != nullptr ? bias + jr : nullptr;
    float* cj = c + jr;
    if constexpr (AM == a_mode::in_place_rows) {
      if (nv == 1) {
        micro_kernel<Arch, 1, 1, AM>(run, a, 0, bp, L, L, cj, ldc, MR, w, load_c, epilogue, bj, act,
                                     a_s);
      } else if (nv == 2) {
        micro_kernel<Arch, 1, 2, AM>(run, a, 0, bp, 2 * L, L, cj, ldc, MR, w, load_c, epilogue, bj,
                                     act, a_s);
      } else if constexpr (cfg::nvmax > 2) {
        micro_kernel<Arch, 1, cfg::nvmax, AM>(run, a, 0, bp, nv * L, L, cj, ldc, MR, w, load_c,
                                              epilogue, bj, act, a_s);
      }
    } else {
      if (nv == 1) {
        micro_kernel<Arch, cfg::rmax, 1, AM>(run, a, MR, bp, L, L, cj, ldc, cfg::tile_m, w, load_c,
                                             epilogue, bj, act, a_s);
        continue;
      }
      for (int p = 0; p < cfg::rmax; ++p) {
        float* cp = cj + p * MR * ldc;
        if (nv == cfg::nvmax) {
          micro_kernel<Arch, 1, cfg::nvmax, AM>(run, a + p * MR, MR, bp, nv * L, L, cp, ldc, MR, w,
                                                load_c, epilogue, bj, act, a_s);
        } else if constexpr (cfg::nvmax > 2) {
          micro_kernel<Arch, 1, 2, AM>(run, a + p * MR, MR, bp, nv * L, L, cp, ldc, MR, w, load_c,
                                       epilogue, bj, act, a_s);
        }
      }
    }
  }
}

/// Micro-kernels of `rows` (a multiple of mr) rows of A read in place row-major (element (i, k)
/// at a[i * lda + k]) against a packed B block, starting at its k row kd. Wide-N counterpart of
/// direct_block: no transposing pack of A (X of the forward, dZ of the data gradient), so a
/// thread that owns only some columns of C does not pack all of A again.
template <class Arch>
void rows_block(idx run, const float* a, idx lda, idx rows, const float* bpack, idx kc, idx kd,
                idx nc, float* c, idx ldc, bool load_c, bool epilogue, const float* bias,
                activation act) {
  using cfg = gemm_config<Arch>;
  constexpr int L = cfg::lanes;
  constexpr int MR = cfg::mr;
  constexpr a_mode AM = a_mode::in_place_rows;
  for (idx jr = 0; jr < nc; jr += cfg::tile_n) {
    const idx w = std::min<idx>(cfg::tile_n, nc - jr);
    const idx nv = (w + L - 1) / L;
    const float* bp = bpack + (jr / cfg::tile_n) * kc * cfg::tile_n + kd * nv * L;
    const float* bj = bias != nullptr ? bias + jr : nullptr;
    for (idx ir = 0; ir < rows; ir += MR) {
      float* cp = c + ir * ldc + jr;
      const float* ap = a + ir * lda;
      if (nv == cfg::nvmax) {
        micro_kernel<Arch, 1, cfg::nvmax, AM>(run, ap, 0, bp, nv * L, L, cp, ldc, MR, w, load_c,
                                              epilogue, bj, act, lda);
      } else if (nv == 1) {
        micro_kernel<Arch, 1, 1, AM>(run, ap, 0, bp, L, L, cp, ldc, MR, w, load_c, epilogue, bj,
                                     act, lda);
      } else if constexpr (cfg::nvmax > 2) {
        micro_kernel<Arch, 1, 2, AM>(run, ap, 0, bp, 2 * L, L, cp, ldc, MR, w, load_c, epilogue, bj,
                                     act, lda);
      }
    }
  }
}

/// Widest N for which A is read in place instead of packed.
inline constexpr idx gemm_direct_max_n = 64;

/// C[m0:m1, n0:n1] of the problem on one thread; ws holds gemm_thread_workspace(n) floats.
template <class Arch>
void gemm_region(const gemm_problem& pb, idx m0, idx m1, idx n0, idx n1, float* ws) {
  using cfg = gemm_config<Arch>;
  constexpr int L = cfg::lanes;
  constexpr int MR = cfg::mr;
  static_assert(gemm_mc % cfg::tile_m == 0, "recnas: gemm_mc must be a multiple of every tile_m");
  if (m1 <= m0 || n1 <= n0) return;
  const idx nc_max = std::min<idx>(gemm_nc, n1 - n0);
  float* bpack = ws;
  float* apack = ws + gemm_kc * ((nc_max + L - 1) / L * L);
  // Narrow N: read A in place when every A segment has the same unit-stride direction. Decided
  // on the whole problem (not this thread's region), so that every element is summed in the
  // same order whatever the thread split.
  a_mode am = a_mode::packed;
  if (pb.n <= gemm_direct_max_n && pb.a.ngroups > 0) {
    bool rows = true, cols = true;
    for (int g = 0; g < pb.a.ngroups; ++g) {
      rows = rows && pb.a.groups[g].cs == 1;
      cols = cols && pb.a.groups[g].rs == 1;
    }
    am = rows ? a_mode::in_place_rows : cols ? a_mode::in_place_cols : a_mode::packed;
  }
  const idx block_rows = am == a_mode::in_place_rows ? MR : cfg::tile_m;
  // Few rows (M <= 64, e.g. dW of a narrow layer): B tiles are used by a few panels only, so
  // packing B would cost as much as the multiply; read a single row-major B segment in place
  // instead. Threads split M at multiples of tile_m, so row blocks line up with the one-thread
  // case.
  const idx direct_end =
      am == a_mode::packed ? m0 : std::clamp<idx>(pb.m / block_rows * block_rows, m0, m1);
  // (The arithmetic is the same with B packed or in place: only where B is read from differs.)
  // Wide N with row-major A: whole mr-row blocks read A in place (no transposing pack); the
  // last m % mr rows go through the packed path. Threads split M at multiples of tile_m (a
  // multiple of mr), so the blocks line up with the one-thread case.
  bool a_rows = am == a_mode::packed && pb.a.ngroups > 0 && pb.k > 0;
  for (int g = 0; g < pb.a.ngroups; ++g) a_rows = a_rows && pb.a.groups[g].cs == 1;
  const idx rows_end = a_rows ? std::clamp<idx>(pb.m / MR * MR, direct_end, m1) : direct_end;
  const bool b_in_place = rows_end == direct_end && pb.m <= gemm_direct_max_n && direct_end == m0 &&
                          pb.b.ngroups == 1 && pb.b.groups[0].count == 1 && pb.b.groups[0].cs == 1;
  for (idx jc = n0; jc < n1; jc += gemm_nc) {
    const idx nc = std::min<idx>(gemm_nc, n1 - jc);
    idx pc = 0;
    do {
      const idx kc = std::min<idx>(gemm_kc, pb.k - pc);
      const bool first = pc == 0;
      const bool last = pc + kc >= pb.k;
      const float* bias = pb.bias != nullptr ? pb.bias + jc : nullptr;
      if (!b_in_place) {
        pack_b<Arch>(pb.b, jc, nc, pc, kc, bpack);
      } else if (nc % L != 0) {
        pack_b<Arch>(pb.b, jc + nc / L * L, nc % L, pc, kc, bpack);
      }
      for (idx ic = m0; ic < direct_end; ic += block_rows) {
        float* c = pb.c + ic * pb.ldc + jc;
        if (kc == 0) {  // no K at all: the epilogue alone (C = act(bias) or act(C))
          gemm_block<Arch>(0, apack, block_rows, bpack, -1, nc, c, pb.ldc, pb.accumulate, true,
                           bias, pb.act);
          continue;
        }
        for_each_k_run(pb.a, pc, kc,
                       [&](const float* base, idx off, idx rs, idx cs, idx kd, idx run) {
                         const float* a = base + ic * rs + off * cs;
                         const bool load_c = pb.accumulate || !first || kd > 0;
                         const bool epi = last && kd + run == kc;
                         if (am == a_mode::in_place_rows) {
                           direct_block<Arch, a_mode::in_place_rows>(
                               run, a, rs, bpack, kc, kd, nc, c, pb.ldc, load_c, epi, bias, pb.act);
                         } else {
                           direct_block<Arch, a_mode::in_place_cols>(
                               run, a, cs, bpack, kc, kd, nc, c, pb.ldc, load_c, epi, bias, pb.act);
                         }
                       });
      }
      for (idx ic = direct_end; ic < rows_end; ic += gemm_mc) {
        const idx rows = std::min<idx>(gemm_mc, rows_end - ic);
        float* c = pb.c + ic * pb.ldc + jc;
        for_each_k_run(pb.a, pc, kc,
                       [&](const float* base, idx off, idx rs, idx /*cs*/, idx kd, idx run) {
                         rows_block<Arch>(run, base + ic * rs + off, rs, rows, bpack, kc, kd, nc, c,
                                          pb.ldc, pb.accumulate || !first || kd > 0,
                                          last && kd + run == kc, bias, pb.act);
                       });
      }
      for (idx ic = rows_end; ic < m1; ic += gemm_mc) {
        const idx rows = std::min<idx>(gemm_mc, m1 - ic);
        // Whole row blocks of tile_m rows so the tall narrow kernel never reads past the pack.
        const int panels = static_cast<int>((rows + cfg::tile_m - 1) / cfg::tile_m * cfg::rmax);
        pack_a<Arch>(pb.a, ic, rows, pc, kc, panels, apack);
        float* c = pb.c + ic * pb.ldc + jc;
        if (b_in_place) {
          // Full vectors of B straight from its rows; only the last partial vector is packed.
          const operand_group& g = pb.b.groups[0];
          const idx main = nc / L * L;
          gemm_block<Arch>(kc, apack, rows, g.p + pc * g.rs + jc, g.rs, main, c, pb.ldc,
                           pb.accumulate || !first, last, bias, pb.act);
          if (main < nc) {
            gemm_block<Arch>(kc, apack, rows, bpack, -1, nc - main, c + main, pb.ldc,
                             pb.accumulate || !first, last, bias != nullptr ? bias + main : nullptr,
                             pb.act);
          }
        } else {
          gemm_block<Arch>(kc, apack, rows, bpack, -1, nc, c, pb.ldc, pb.accumulate || !first, last,
                           bias, pb.act);
        }
      }
      pc += kc;
    } while (pc < pb.k);
  }
}

// ---- batched form: C_b = A . B_b for every example b with one pre-packed A (token linear).

/// One K segment of a batched problem: A packed by pack_a (m rows padded to tile_m, k columns),
/// B_b[k, n] at b + ex * b_bs, row stride b_rs, contiguous along n.
struct batched_segment {
  const float* apack = nullptr;
  idx k = 0;
  const float* b = nullptr;
  idx b_bs = 0;
  idx b_rs = 0;
};

struct batched_gemm {
  idx m = 0, n = 0;
  const batched_segment* segs = nullptr;
  int nseg = 0;
  float* c = nullptr;  // C_b[m, n] at c + ex * c_bs, row stride c_rs
  idx c_bs = 0;
  idx c_rs = 0;
  bool accumulate = false;
};

/// Floats of the packed A of an m x k segment.
template <class Arch>
constexpr idx packed_a_size(idx m, idx k) noexcept {
  using cfg = gemm_config<Arch>;
  return (m + cfg::tile_m - 1) / cfg::tile_m * cfg::tile_m * k;
}

/// Packs all m rows x k of an operand (whole row blocks, zero padded) for batched_range.
template <class Arch>
void pack_a_full(const operand& a, idx m, idx k, float* dst) {
  using cfg = gemm_config<Arch>;
  const int panels = static_cast<int>((m + cfg::tile_m - 1) / cfg::tile_m * cfg::rmax);
  pack_a<Arch>(a, 0, m, 0, k, panels, dst);
}

/// Examples [b0, b1) of a batched problem; ws holds max_k * round_up(n, 16) floats when n is
/// not a multiple of the vector width (B is then packed with zero padding).
template <class Arch>
void batched_range(const batched_gemm& pb, idx b0, idx b1, float* ws) {
  constexpr int L = gemm_config<Arch>::lanes;
  const bool direct = pb.n % L == 0;
  for (idx ex = b0; ex < b1; ++ex) {
    float* c = pb.c + ex * pb.c_bs;
    for (int s = 0; s < pb.nseg; ++s) {
      const batched_segment& sg = pb.segs[s];
      const bool load_c = pb.accumulate || s > 0;
      const float* b = sg.b + ex * sg.b_bs;
      if (direct) {
        gemm_block<Arch>(sg.k, sg.apack, pb.m, b, sg.b_rs, pb.n, c, pb.c_rs, load_c, false, nullptr,
                         activation::none);
      } else {
        const operand_group g{b, sg.b_rs, 1, sg.k, 1, 0};
        pack_b<Arch>(operand{&g, 1}, 0, pb.n, 0, sg.k, ws);
        gemm_block<Arch>(sg.k, sg.apack, pb.m, ws, -1, pb.n, c, pb.c_rs, load_c, false, nullptr,
                         activation::none);
      }
    }
    if (pb.nseg == 0 && !pb.accumulate) {
      for (idx i = 0; i < pb.m; ++i) zero_fill<Arch>(c + i * pb.c_rs, pb.n);
    }
  }
}

}  // namespace detail
}  // namespace recnas::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
