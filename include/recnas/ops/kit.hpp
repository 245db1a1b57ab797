#pragma once
// The operator kit: the building blocks recnas's own operators are written with, public for
// operator authors. Every function is a template on the scalar type and is the one place that
// decides how the work runs: float goes to recnas::kernels (SIMD, threaded), double to a plain
// Eigen/scalar path that the conformance checks (recnas/testing/operator_check.hpp) use as the
// reference. An operator written with the kit is therefore written once. Contents:
//   - segment-wise linear layers over a prefix slice of a max-size weight (`linear_*`), and the
//     token-axis linear layer (`token_linear_*`);
//   - the projections of the reference (`dense_projection_*`, `token_projection_*`: a linear
//     layer, optionally LayerNorm, or skipped when the widths match), which keep their
//     LayerNorm state in a `projection_saved` of the operator's tape struct;
//   - LayerNorm over rows or strided vectors (`layernorm_*`), ReLU, block copies and sums,
//     concatenation of segments.
// What is in kit::detail is the plumbing of the float/double split and may change.

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <span>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "recnas/kernels/attention.hpp"
#include "recnas/kernels/elementwise.hpp"
#include "recnas/kernels/gemm.hpp"
#include "recnas/kernels/interaction.hpp"
#include "recnas/kernels/token_linear.hpp"
#include "recnas/ops/concepts.hpp"
#include "recnas/parallel/threads.hpp"

namespace recnas::ops::kit {

/// The calling thread's kernel workspace, for operators that call recnas::kernels themselves (grown
/// on demand, never shrunk). Kernels split it over their own chunks, so one per calling thread is
/// enough.
inline std::span<float> kernel_workspace(index floats) {
  thread_local aligned_buffer<float> buf;
  buf.reserve_discard(static_cast<std::size_t>(floats));
  return {buf.data(), static_cast<std::size_t>(floats)};
}

/// Whether the kit runs T on recnas::kernels (float) or on the reference path (double).
template <class T>
inline constexpr bool use_kernels = std::is_same_v<T, float>;

/// Copies a [rows, cols] block.
template <class T>
void copy_block(const T* src, index lds, T* dst, index ldd, index rows, index cols) {
  for (index r = 0; r < rows; ++r) std::copy(src + r * lds, src + r * lds + cols, dst + r * ldd);
}

/// dst += src on a [rows, cols] block.
template <class T>
void add_block(const T* src, index lds, T* dst, index ldd, index rows, index cols) {
  for (index r = 0; r < rows; ++r) {
    for (index c = 0; c < cols; ++c) dst[r * ldd + c] += src[r * lds + c];
  }
}

namespace detail {

inline std::vector<kernels::fc_input> fc_inputs(std::span<const dense_seg<float>> xs,
                                                index& max_w) {
  std::vector<kernels::fc_input> in;
  in.reserve(xs.size());
  max_w = 0;
  for (const auto& s : xs) {
    in.push_back({s.x, s.ld, s.col, s.width});
    max_w = std::max(max_w, s.width);
  }
  return in;
}
inline std::vector<kernels::token_input> token_inputs(std::span<const token_seg<float>> xs) {
  std::vector<kernels::token_input> in;
  in.reserve(xs.size());
  for (const auto& s : xs) in.push_back({s.x, s.bs, embed_dim, s.col, s.tokens});
  return in;
}

template <class T>
using rmat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using cmap = Eigen::Map<const rmat<T>, 0, Eigen::OuterStride<>>;
template <class T>
using mmap = Eigen::Map<rmat<T>, 0, Eigen::OuterStride<>>;

template <class T>
cmap<T> cm(const T* p, index r, index c, index ld) {
  return cmap<T>(p, r, c, Eigen::OuterStride<>(ld));
}
template <class T>
mmap<T> mm(T* p, index r, index c, index ld) {
  return mmap<T>(p, r, c, Eigen::OuterStride<>(ld));
}

}  // namespace detail

/// y[B, n] = sum_seg x_seg[B, w] * W[0:n, col:col+w]^T (+ b[0:n]); W has row stride ldw.
template <class T>
void linear_forward(index batch, std::span<const dense_seg<T>> xs, const T* w, index ldw,
                    const T* b, index n, T* y, index ldy) {
  if constexpr (use_kernels<T>) {
    index max_w = 0;
    const auto in = detail::fc_inputs(xs, max_w);
    kernels::fc_forward(in, batch, w, ldw, b, n, kernels::activation::none, y, ldy,
                        kernel_workspace(kernels::fc_workspace_size(batch, n, max_w)));
    return;
  }
  index inner = 0;
  for (const auto& s : xs) inner += s.width;
  parallel::parallel_rows(
      batch, 2.0 * static_cast<double>(batch * n * inner), [&](index r0, index r1) {
        auto Y = detail::mm(y + r0 * ldy, r1 - r0, n, ldy);
        if (b != nullptr) {
          Y.rowwise() = Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(b, n);
        } else {
          Y.setZero();
        }
        for (const auto& s : xs) {
          if (s.width == 0) continue;
          Y.noalias() += detail::cm(s.x + r0 * s.ld, r1 - r0, s.width, s.ld) *
                         detail::cm(w + s.col, n, s.width, ldw).transpose();
        }
      });
}

/// Backward of linear_forward: dx_seg += dy W_seg; dW_seg += dy^T x_seg; db += sum dy.
template <class T>
void linear_backward(index batch, std::span<const dense_seg<T>> xs, const T* w, T* gw, index ldw,
                     T* gb, index n, const T* dy, index ldy) {
  if constexpr (use_kernels<T>) {
    index max_w = 0;
    const auto in = detail::fc_inputs(xs, max_w);
    std::vector<kernels::fc_input_grad> gr;
    gr.reserve(xs.size());
    for (const auto& s : xs) gr.push_back({s.dx, s.ld, true});
    const auto ws = kernel_workspace(kernels::fc_workspace_size(batch, n, max_w));
    kernels::fc_backward_data(in, gr, batch, dy, ldy, w, ldw, n, ws);
    kernels::fc_backward_weight(in, batch, dy, ldy, n, gw, ldw, ws);
    if (gb != nullptr) kernels::bias_backward(batch, n, dy, ldy, gb);
    return;
  }
  index inner = 0;
  for (const auto& s : xs) inner += s.width;
  const double cost = 2.0 * static_cast<double>(batch * n * inner);
  parallel::parallel_rows(batch, cost, [&](index r0, index r1) {
    const auto DY = detail::cm(dy + r0 * ldy, r1 - r0, n, ldy);
    for (const auto& s : xs) {
      if (s.width == 0 || s.dx == nullptr) continue;
      detail::mm(s.dx + r0 * s.ld, r1 - r0, s.width, s.ld).noalias() +=
          DY * detail::cm(w + s.col, n, s.width, ldw);
    }
  });
  // Weight gradient: split over output rows so every chunk owns its rows (deterministic).
  parallel::parallel_rows(n, cost, [&](index o0, index o1) {
    const auto DY = detail::cm(dy + o0, batch, o1 - o0, ldy);
    for (const auto& s : xs) {
      if (s.width == 0) continue;
      detail::mm(gw + o0 * ldw + s.col, o1 - o0, s.width, ldw).noalias() +=
          DY.transpose() * detail::cm(s.x, batch, s.width, s.ld);
    }
    if (gb != nullptr) {
      for (index r = 0; r < batch; ++r) {
        for (index o = o0; o < o1; ++o) gb[o] += dy[r * ldy + o];
      }
    }
  });
}

/// Token-axis linear: y[b, o, :] = sum_seg sum_t W[o, col+t] x_seg[b, t, :] (+ bias[o]),
/// o < n; y has batch stride ybs and token stride E.
template <class T>
void token_linear_forward(index batch, std::span<const token_seg<T>> xs, const T* w, index ldw,
                          const T* b, index n, T* y, index ybs) {
  if constexpr (use_kernels<T>) {
    const auto in = detail::token_inputs(xs);
    for (index bi = 0; bi < batch; ++bi) {  // the bias first, then accumulate the product
      for (index o = 0; o < n; ++o) {
        std::fill(y + bi * ybs + o * embed_dim, y + bi * ybs + (o + 1) * embed_dim,
                  b != nullptr ? b[o] : T(0));
      }
    }
    kernels::token_linear_forward(
        in, batch, embed_dim, w, ldw, n, {y, ybs, embed_dim}, true,
        kernel_workspace(kernels::token_linear_workspace_size(in, n, embed_dim)));
    return;
  }
  index inner = 0;
  for (const auto& s : xs) inner += s.tokens;
  parallel::parallel_rows(
      batch, 2.0 * static_cast<double>(batch * n * inner * embed_dim), [&](index b0, index b1) {
        for (index bi = b0; bi < b1; ++bi) {
          auto Y = detail::mm(y + bi * ybs, n, embed_dim, embed_dim);
          if (b != nullptr) {
            Y = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>(b, n).replicate(1, embed_dim);
          } else {
            Y.setZero();
          }
          for (const auto& s : xs) {
            if (s.tokens == 0) continue;
            Y.noalias() += detail::cm(w + s.col, n, s.tokens, ldw) *
                           detail::cm(s.x + bi * s.bs, s.tokens, embed_dim, embed_dim);
          }
        }
      });
}

template <class T>
void token_linear_backward(index batch, std::span<const token_seg<T>> xs, const T* w, T* gw,
                           index ldw, T* gb, index n, const T* dy, index ybs) {
  if constexpr (use_kernels<T>) {
    const auto in = detail::token_inputs(xs);
    std::vector<kernels::token_input_grad> gr;
    gr.reserve(xs.size());
    for (const auto& s : xs) gr.push_back({s.dx, s.bs, embed_dim, true});
    const auto ws = kernel_workspace(kernels::token_linear_workspace_size(in, n, embed_dim));
    const kernels::token_output d{const_cast<T*>(dy), ybs, embed_dim};
    kernels::token_linear_backward_data(in, gr, batch, embed_dim, w, ldw, n, d, ws);
    kernels::token_linear_backward_weight(in, batch, embed_dim, n, d, gw, ldw, ws);
    if (gb != nullptr) {
      for (index bi = 0; bi < batch; ++bi) {
        for (index o = 0; o < n; ++o) {
          for (index e = 0; e < embed_dim; ++e) gb[o] += dy[bi * ybs + o * embed_dim + e];
        }
      }
    }
    return;
  }
  index inner = 0;
  for (const auto& s : xs) inner += s.tokens;
  const double cost = 2.0 * static_cast<double>(batch * n * inner * embed_dim);
  parallel::parallel_rows(batch, cost, [&](index b0, index b1) {
    for (index bi = b0; bi < b1; ++bi) {
      const auto DY = detail::cm(dy + bi * ybs, n, embed_dim, embed_dim);
      for (const auto& s : xs) {
        if (s.tokens == 0 || s.dx == nullptr) continue;
        detail::mm(s.dx + bi * s.bs, s.tokens, embed_dim, embed_dim).noalias() +=
            detail::cm(w + s.col, n, s.tokens, ldw).transpose() * DY;
      }
    }
  });
  parallel::parallel_rows(n, cost, [&](index o0, index o1) {
    for (index bi = 0; bi < batch; ++bi) {
      const auto DY = detail::cm(dy + bi * ybs + o0 * embed_dim, o1 - o0, embed_dim, embed_dim);
      for (const auto& s : xs) {
        if (s.tokens == 0) continue;
        detail::mm(gw + o0 * ldw + s.col, o1 - o0, s.tokens, ldw).noalias() +=
            DY * detail::cm(s.x + bi * s.bs, s.tokens, embed_dim, embed_dim).transpose();
      }
      if (gb != nullptr) {
        for (index o = o0; o < o1; ++o) {
          for (index e = 0; e < embed_dim; ++e) gb[o] += dy[bi * ybs + o * embed_dim + e];
        }
      }
    }
  });
}

/// A family of vectors of length n inside a buffer: vector (a, c) for a < outer, c < inner
/// starts at a*outer_stride + c and its elements are elem_stride apart. Dense rows are
/// (B, 1, ld, 1); per-channel token vectors (LN over tokens) are (B, E, bs, E).
struct vectors {
  index outer = 0;
  index inner = 1;
  index outer_stride = 0;
  index elem_stride = 1;
  index n = 0;
  [[nodiscard]] index base(index a, index c) const noexcept { return a * outer_stride + c; }
};

/// In-place LayerNorm (eps 1e-5): x <- gamma * (x - mean) / sqrt(var + eps) + beta, gamma and
/// beta indexed by element. Saves xhat (compact [outer*inner, n]) and rstd for backward.
template <class T>
void layernorm_forward(T* x, const vectors& v, const T* gamma, const T* beta, T* xhat, T* rstd);

namespace detail {

/// Float LayerNorm over the tokens of each channel (vectors (B, E, bs, E)): the 16 channels of
/// one example are normalised together, so every inner loop runs over 16 contiguous floats
/// (vectorised by the compiler) instead of a strided scalar walk. xhat is kept in the tokens'
/// own layout ([B, n, E], compact); rstd as [B, E].
inline void layernorm_channels_forward(float* x, const vectors& v, const float* gamma,
                                       const float* beta, float* xhat, float* rstd) {
  constexpr index E = embed_dim;
  const index n = v.n;
  parallel::parallel_rows(v.outer, 8.0 * static_cast<double>(v.outer * E * n),
                          [&](index a0, index a1) {
                            for (index a = a0; a < a1; ++a) {
                              float* p = x + a * v.outer_stride;
                              float* h = xhat + a * n * E;
                              std::array<float, E> mean{}, var{}, r{};
                              for (index k = 0; k < n; ++k)
                                for (index c = 0; c < E; ++c) mean[c] += p[k * E + c];
                              for (index c = 0; c < E; ++c) mean[c] /= static_cast<float>(n);
                              for (index k = 0; k < n; ++k)
                                for (index c = 0; c < E; ++c) {
                                  const float d = p[k * E + c] - mean[c];
                                  var[c] += d * d;
                                }
                              for (index c = 0; c < E; ++c) {
                                r[c] = 1.0f / std::sqrt(var[c] / static_cast<float>(n) + 1e-5f);
                                rstd[a * E + c] = r[c];
                              }
                              for (index k = 0; k < n; ++k)
                                for (index c = 0; c < E; ++c) {
                                  const float hk = (p[k * E + c] - mean[c]) * r[c];
                                  h[k * E + c] = hk;
                                  p[k * E + c] = gamma[k] * hk + beta[k];
                                }
                            }
                          });
}
/// Backward of layernorm_channels_forward, in place on dy; gg, gb accumulate (serial, fixed
/// order, so results do not depend on the thread count).
inline void layernorm_channels_backward(float* dy, const vectors& v, const float* gamma,
                                        const float* xhat, const float* rstd, float* gg,
                                        float* gb) {
  constexpr index E = embed_dim;
  const index n = v.n;
  for (index a = 0; a < v.outer; ++a) {
    const float* p = dy + a * v.outer_stride;
    const float* h = xhat + a * n * E;
    for (index k = 0; k < n; ++k) {
      float sg = 0, sb = 0;
      for (index c = 0; c < E; ++c) {
        sg += p[k * E + c] * h[k * E + c];
        sb += p[k * E + c];
      }
      gg[k] += sg;
      gb[k] += sb;
    }
  }
  parallel::parallel_rows(
      v.outer, 8.0 * static_cast<double>(v.outer * E * n), [&](index a0, index a1) {
        for (index a = a0; a < a1; ++a) {
          float* p = dy + a * v.outer_stride;
          const float* h = xhat + a * n * E;
          std::array<float, E> m1{}, m2{};
          for (index k = 0; k < n; ++k)
            for (index c = 0; c < E; ++c) {
              const float g = p[k * E + c] * gamma[k];
              m1[c] += g;
              m2[c] += g * h[k * E + c];
            }
          const float inv_n = 1.0f / static_cast<float>(n);
          for (index k = 0; k < n; ++k)
            for (index c = 0; c < E; ++c) {
              const float g = p[k * E + c] * gamma[k];
              p[k * E + c] = rstd[a * E + c] * (g - m1[c] * inv_n - h[k * E + c] * m2[c] * inv_n);
            }
        }
      });
}

}  // namespace detail

template <class T>
void layernorm_forward(T* x, const vectors& v, const T* gamma, const T* beta, T* xhat, T* rstd) {
  if constexpr (use_kernels<T>) {
    if (v.inner == embed_dim && v.elem_stride == embed_dim) {
      detail::layernorm_channels_forward(x, v, gamma, beta, xhat, rstd);
      return;
    }
  }
  const index count = v.outer * v.inner;
  parallel::parallel_rows(count, 8.0 * static_cast<double>(count * v.n), [&](index i0, index i1) {
    for (index i = i0; i < i1; ++i) {
      T* p = x + v.base(i / v.inner, i % v.inner);
      double mean = 0;
      for (index k = 0; k < v.n; ++k) mean += static_cast<double>(p[k * v.elem_stride]);
      mean /= static_cast<double>(v.n);
      double var = 0;
      for (index k = 0; k < v.n; ++k) {
        const double dlt = static_cast<double>(p[k * v.elem_stride]) - mean;
        var += dlt * dlt;
      }
      var /= static_cast<double>(v.n);
      const T r = static_cast<T>(1.0 / std::sqrt(var + 1e-5));
      rstd[i] = r;
      T* h = xhat + i * v.n;
      for (index k = 0; k < v.n; ++k) {
        h[k] = static_cast<T>(static_cast<double>(p[k * v.elem_stride]) - mean) * r;
        p[k * v.elem_stride] = gamma[k] * h[k] + beta[k];
      }
    }
  });
}

/// Backward of layernorm_forward, in place on dy (dy becomes dx). gg/gb accumulate.
template <class T>
void layernorm_backward(T* dy, const vectors& v, const T* gamma, const T* xhat, const T* rstd,
                        T* gg, T* gb) {
  if constexpr (use_kernels<T>) {
    if (v.inner == embed_dim && v.elem_stride == embed_dim) {
      detail::layernorm_channels_backward(dy, v, gamma, xhat, rstd, gg, gb);
      return;
    }
  }
  const index count = v.outer * v.inner;
  for (index i = 0; i < count; ++i) {  // parameter gradients: serial, fixed order
    const T* p = dy + v.base(i / v.inner, i % v.inner);
    const T* h = xhat + i * v.n;
    for (index k = 0; k < v.n; ++k) {
      gg[k] += p[k * v.elem_stride] * h[k];
      gb[k] += p[k * v.elem_stride];
    }
  }
  parallel::parallel_rows(count, 8.0 * static_cast<double>(count * v.n), [&](index i0, index i1) {
    for (index i = i0; i < i1; ++i) {
      T* p = dy + v.base(i / v.inner, i % v.inner);
      const T* h = xhat + i * v.n;
      double m1 = 0, m2 = 0;
      for (index k = 0; k < v.n; ++k) {
        const double g = static_cast<double>(p[k * v.elem_stride]) * gamma[k];
        m1 += g;
        m2 += g * h[k];
      }
      m1 /= static_cast<double>(v.n);
      m2 /= static_cast<double>(v.n);
      for (index k = 0; k < v.n; ++k) {
        const double g = static_cast<double>(p[k * v.elem_stride]) * gamma[k];
        p[k * v.elem_stride] = static_cast<T>(rstd[i] * (g - m1 - h[k] * m2));
      }
    }
  });
}

/// Row LayerNorm (eps 1e-5) in place on y[rows, n] (row stride ld). The float path runs
/// kernels::layer_norm and saves what its backward reads: the pre-LN rows (compact [rows, n])
/// in `saved` and mean, rstd in stats[0:rows], stats[rows:2 rows]. The double path keeps the
/// scalar code (xhat in `saved`, rstd in stats[0:rows]). Both buffers have the same sizes.
template <class T>
void layernorm_rows_forward(T* y, index rows, index n, index ld, const T* gamma, const T* beta,
                            T* saved, T* stats) {
  if constexpr (use_kernels<T>) {
    copy_block(y, ld, saved, n, rows, n);
    kernels::layer_norm(rows, n, saved, n, gamma, beta, 1e-5f, y, ld, stats, stats + rows);
  } else {
    layernorm_forward(y, vectors{rows, 1, ld, 1, n}, gamma, beta, saved, stats);
  }
}
/// Backward of layernorm_rows_forward, in place on dy (dy becomes dx); gg, gb accumulate.
template <class T>
void layernorm_rows_backward(T* dy, index rows, index n, index ld, const T* gamma, const T* saved,
                             const T* stats, T* gg, T* gb) {
  if constexpr (use_kernels<T>) {
    // Parameter gradients first: the in-place dx call overwrites dy.
    kernels::layer_norm_backward(rows, n, saved, n, dy, ld, gamma, stats, stats + rows, nullptr, 0,
                                 false, gg, gb);
    kernels::layer_norm_backward(rows, n, saved, n, dy, ld, gamma, stats, stats + rows, dy, ld,
                                 false, nullptr, nullptr);
  } else {
    layernorm_backward(dy, vectors{rows, 1, ld, 1, n}, gamma, saved, stats, gg, gb);
  }
}

/// y = max(y, 0) on a [rows, cols] block with row stride ld.
template <class T>
void relu_forward(T* y, index rows, index cols, index ld) {
  for (index r = 0; r < rows; ++r) {
    T* p = y + r * ld;
    for (index c = 0; c < cols; ++c) p[c] = std::max(p[c], T(0));
  }
}
/// g = dy * (y > 0) on a [rows, cols] block (g may be dy). A select rather than a branch, so
/// the compiler vectorises it; one pass instead of a copy and then a masking pass.
template <class T>
void relu_backward_copy(const T* dy, index ldd, const T* y, index ldy, T* g, index ldg, index rows,
                        index cols) {
  for (index r = 0; r < rows; ++r) {
    const T* d = dy + r * ldd;
    const T* v = y + r * ldy;
    T* o = g + r * ldg;
    for (index c = 0; c < cols; ++c) o[c] = v[c] > T(0) ? d[c] : T(0);
  }
}
/// dy *= (y > 0), y the ReLU output.
template <class T>
void relu_backward(T* dy, index ldd, const T* y, index ldy, index rows, index cols) {
  relu_backward_copy(dy, ldd, y, ldy, dy, ldd, rows, cols);
}

/// Writes the concatenation of dense segments (in order) into y[B, sum widths].
template <class T>
void concat_dense(index batch, std::span<const dense_seg<T>> xs, T* y, index ldy) {
  index off = 0;
  for (const auto& s : xs) {
    copy_block(s.x, s.ld, y + off, ldy, batch, s.width);
    off += s.width;
  }
}
template <class T>
void concat_dense_backward(index batch, std::span<const dense_seg<T>> xs, const T* dy, index ldy) {
  index off = 0;
  for (const auto& s : xs) {
    if (s.dx != nullptr) add_block(dy + off, ldy, s.dx, s.ld, batch, s.width);
    off += s.width;
  }
}
/// Token concatenation into y[B, sum tokens, E] with batch stride ybs.
template <class T>
void concat_tokens(index batch, std::span<const token_seg<T>> xs, T* y, index ybs) {
  index off = 0;
  for (const auto& s : xs) {
    copy_block(s.x, s.bs, y + off * embed_dim, ybs, batch, s.tokens * embed_dim);
    off += s.tokens;
  }
}
template <class T>
void concat_tokens_backward(index batch, std::span<const token_seg<T>> xs, const T* dy, index ybs) {
  index off = 0;
  for (const auto& s : xs) {
    if (s.dx != nullptr)
      add_block(dy + off * embed_dim, ybs, s.dx, s.bs, batch, s.tokens * embed_dim);
    off += s.tokens;
  }
}

template <class T>
index total_width(std::span<const dense_seg<T>> xs) {
  index w = 0;
  for (const auto& s : xs) w += s.width;
  return w;
}
template <class T>
index total_tokens(std::span<const token_seg<T>> xs) {
  index t = 0;
  for (const auto& s : xs) t += s.tokens;
  return t;
}

/// The four consecutive slots of a projection at `first`: weight, bias, LayerNorm gamma and
/// beta (declared by param_declarer::matrix + bias_or_layernorm; an unused one has zero rows).
template <class T>
struct projection_slots {
  const param_ref<T>& W;
  const param_ref<T>& b;
  const param_ref<T>& ln_g;
  const param_ref<T>& ln_b;
  static projection_slots of(const op_io<T>& io, index first) {
    const auto at = [&](index k) -> const param_ref<T>& {
      return io.params[static_cast<std::size_t>(first + k)];
    };
    return {at(0), at(1), at(2), at(3)};
  }
};

/// What a projection keeps for its backward: the state of its LayerNorm, null when none ran.
/// An operator embeds one per projection in the struct it saves on its tape.
template <class T>
struct projection_saved {
  const T* ln_values = nullptr;  // xhat, or the pre-LN rows (layernorm_rows_forward on float)
  const T* ln_stats = nullptr;   // rstd, or mean then rstd (layernorm_rows_forward on float)
};

/// A projection that is either a linear layer (+ optional LN) or skipped when the widths match
/// (reference rule). Slots: W, b, ln_g, ln_b at `first`. Output y [B, n] (row stride ldy).
template <class T>
void dense_projection_forward(const op_io<T>& io, index first, std::span<const dense_seg<T>> xs,
                              index n, bool skip, T* y, index ldy, projection_saved<T>& kept) {
  const index B = io.batch;
  if (skip) {
    concat_dense(B, xs, y, ldy);
    return;
  }
  const auto [W, b, g, be] = projection_slots<T>::of(io, first);
  linear_forward(B, xs, W.w, W.cols, b.present() ? b.w : static_cast<const T*>(nullptr), n, y, ldy);
  if (io.shape.layernorm) {
    T* xhat = io.scratch->alloc(B * n);
    T* rstd = io.scratch->alloc(2 * B);
    layernorm_rows_forward(y, B, n, ldy, g.w, be.w, xhat, rstd);
    kept.ln_values = xhat;
    kept.ln_stats = rstd;
  }
}

/// Backward of dense_projection_forward; dy is modified (becomes the pre-LN gradient).
template <class T>
void dense_projection_backward(const op_io<T>& io, index first, std::span<const dense_seg<T>> xs,
                               index n, bool skip, T* dy, index ldy,
                               const projection_saved<T>& kept) {
  const index B = io.batch;
  if (skip) {
    concat_dense_backward(B, xs, dy, ldy);
    return;
  }
  const auto [W, b, g, be] = projection_slots<T>::of(io, first);
  if (io.shape.layernorm) {
    layernorm_rows_backward(dy, B, n, ldy, g.w, kept.ln_values, kept.ln_stats, g.g, be.g);
  }
  linear_backward(B, xs, W.w, W.g, W.cols, b.present() ? b.g : static_cast<T*>(nullptr), n, dy,
                  ldy);
}

/// Token-axis projection (+ optional LN over the n output tokens, per channel), or the
/// token concatenation when skipped. Output y [B, n, E], batch stride ybs.
template <class T>
void token_projection_forward(const op_io<T>& io, index first, index n, bool skip, T* y, index ybs,
                              projection_saved<T>& kept) {
  const index B = io.batch;
  if (skip) {
    concat_tokens(B, io.tokens, y, ybs);
    return;
  }
  const auto [W, b, g, be] = projection_slots<T>::of(io, first);
  token_linear_forward(B, io.tokens, W.w, W.cols,
                       b.present() ? b.w : static_cast<const T*>(nullptr), n, y, ybs);
  if (io.shape.layernorm) {
    T* xhat = io.scratch->alloc(B * embed_dim * n);
    T* rstd = io.scratch->alloc(B * embed_dim);
    layernorm_forward(y, vectors{B, embed_dim, ybs, embed_dim, n}, g.w, be.w, xhat, rstd);
    kept.ln_values = xhat;
    kept.ln_stats = rstd;
  }
}

template <class T>
void token_projection_backward(const op_io<T>& io, index first, index n, bool skip, T* dy,
                               index ybs, const projection_saved<T>& kept) {
  const index B = io.batch;
  if (skip) {
    concat_tokens_backward(B, io.tokens, dy, ybs);
    return;
  }
  const auto [W, b, g, be] = projection_slots<T>::of(io, first);
  if (io.shape.layernorm) {
    layernorm_backward(dy, vectors{B, embed_dim, ybs, embed_dim, n}, g.w, kept.ln_values,
                       kept.ln_stats, g.g, be.g);
  }
  token_linear_backward(B, io.tokens, W.w, W.g, W.cols,
                        b.present() ? b.g : static_cast<T*>(nullptr), n, dy, ybs);
}

// ---- row-wise layers over all tokens (the token-wise parts of a transformer block) --------
// Each mirrors one recnas::kernels entry point for float; the double path is the reference
// the conformance checks compare with. An operator written with these runs both from one body.

/// y[rows, n] = act(x[rows, W.cols] W^T + b): one linear layer applied to every row.
template <class T>
void rows_linear_forward(index rows, const T* x, const param_ref<T>& W, const param_ref<T>& b,
                         index n, kernels::activation act, T* y) {
  if constexpr (use_kernels<T>) {
    const std::array<kernels::fc_input, 1> in{kernels::fc_input{x, W.cols, 0, W.cols}};
    kernels::fc_forward(in, rows, W.w, W.cols, b.w, n, act, y, n,
                        kernel_workspace(kernels::fc_workspace_size(rows, n, W.cols)));
  } else {
    const std::array<dense_seg<T>, 1> xs{dense_seg<T>{x, nullptr, W.cols, W.cols, 0}};
    linear_forward<T>(rows, xs, W.w, W.cols, b.w, n, y, n);
    if (act == kernels::activation::relu) relu_forward(y, rows, n, n);
    expects(act == kernels::activation::none || act == kernels::activation::relu,
            "kit::rows_linear_forward: activation none or relu");
  }
}

/// Backward of rows_linear_forward (y its output, read for act'): dx (+)= dz W, W.g += dz^T x,
/// b.g += colsum dz with dz = dy * act'(y); `accumulate` false overwrites dx.
template <class T>
void rows_linear_backward(index rows, const T* x, T* dx, bool accumulate, const param_ref<T>& W,
                          const param_ref<T>& b, index n, kernels::activation act, const T* y,
                          const T* dy) {
  if constexpr (use_kernels<T>) {
    const std::array<kernels::fc_input, 1> in{kernels::fc_input{x, W.cols, 0, W.cols}};
    const std::array<kernels::fc_input_grad, 1> gr{kernels::fc_input_grad{dx, W.cols, accumulate}};
    kernels::fc_backward(in, gr, rows, y, n, dy, n, W.w, W.cols, n, act, W.g, b.g,
                         kernel_workspace(kernels::fc_workspace_size(rows, n, W.cols)));
  } else {
    std::vector<T> dz(dy, dy + rows * n);
    if (act == kernels::activation::relu) relu_backward(dz.data(), n, y, n, rows, n);
    if (!accumulate) std::fill(dx, dx + rows * W.cols, T(0));
    const std::array<dense_seg<T>, 1> xs{dense_seg<T>{x, dx, W.cols, W.cols, 0}};
    linear_backward<T>(rows, xs, W.w, W.g, W.cols, b.g, n, dz.data(), n);
  }
}

/// y += alpha x on a [rows, cols] block.
template <class T>
void axpy(index rows, index cols, T alpha, const T* x, index ldx, T* y, index ldy) {
  if constexpr (use_kernels<T>) {
    kernels::axpy(rows, cols, alpha, x, ldx, y, ldy);
  } else {
    for (index r = 0; r < rows; ++r) {
      for (index c = 0; c < cols; ++c) y[r * ldy + c] += alpha * x[r * ldx + c];
    }
  }
}

/// y = gamma * (x - mean) * rstd + beta per row (eps 1e-5), keeping mean and rstd per row for
/// the backward, which reads x again (x is not overwritten).
template <class T>
void layer_norm(index rows, index width, const T* x, index ldx, const T* gamma, const T* beta, T* y,
                index ldy, T* mean, T* rstd) {
  if constexpr (use_kernels<T>) {
    kernels::layer_norm(rows, width, x, ldx, gamma, beta, 1e-5F, y, ldy, mean, rstd);
  } else {
    for (index r = 0; r < rows; ++r) {
      T mu = 0, var = 0;
      for (index c = 0; c < width; ++c) mu += x[r * ldx + c];
      mu /= static_cast<T>(width);
      for (index c = 0; c < width; ++c) var += (x[r * ldx + c] - mu) * (x[r * ldx + c] - mu);
      var /= static_cast<T>(width);
      const T rs = T(1) / std::sqrt(var + T(1e-5));
      mean[r] = mu;
      rstd[r] = rs;
      for (index c = 0; c < width; ++c)
        y[r * ldy + c] = (x[r * ldx + c] - mu) * rs * gamma[c] + beta[c];
    }
  }
}

/// Backward of layer_norm: dx (+)= LN'(dy); dgamma, dbeta accumulate.
template <class T>
void layer_norm_backward(index rows, index width, const T* x, index ldx, const T* dy, index lddy,
                         const T* gamma, const T* mean, const T* rstd, T* dx, index lddx,
                         bool accumulate, T* dgamma, T* dbeta) {
  if constexpr (use_kernels<T>) {
    kernels::layer_norm_backward(rows, width, x, ldx, dy, lddy, gamma, mean, rstd, dx, lddx,
                                 accumulate, dgamma, dbeta);
  } else {
    const T inv_n = T(1) / static_cast<T>(width);
    for (index r = 0; r < rows; ++r) {
      T sum_g = 0, sum_gx = 0;
      for (index c = 0; c < width; ++c) {
        const T xh = (x[r * ldx + c] - mean[r]) * rstd[r];
        const T g = dy[r * lddy + c] * gamma[c];
        sum_g += g;
        sum_gx += g * xh;
        dgamma[c] += dy[r * lddy + c] * xh;
        dbeta[c] += dy[r * lddy + c];
      }
      for (index c = 0; c < width; ++c) {
        const T xh = (x[r * ldx + c] - mean[r]) * rstd[r];
        const T v = rstd[r] * (dy[r * lddy + c] * gamma[c] - inv_n * sum_g - xh * inv_n * sum_gx);
        dx[r * lddx + c] = accumulate ? dx[r * lddx + c] + v : v;
      }
    }
  }
}

/// Multi-head self-attention core over s tokens of width E = embed_dim, per example: qkv is
/// [B, s, 3E] (Q, K, V side by side), o [B, s, E]. `core` keeps what the backward needs:
/// attention_core_size<T>(B, s, heads) values (float: one log-sum-exp per query and head, as
/// the kernel keeps; double: the probabilities).
template <class T>
[[nodiscard]] index attention_core_size(index B, index s, index heads) {
  if constexpr (use_kernels<T>) {
    return kernels::attention_probs_size(B, s, heads);
  } else {
    return B * heads * s * s;
  }
}

namespace detail {
template <class T>
token_view<T> qkv_part(T* qkv, index B, index s, index part) {
  constexpr index E = embed_dim;
  return token_view<T>(qkv + part * E, B, s, E, s * 3 * E, 3 * E);
}
}  // namespace detail

template <class T>
void attention_forward(const T* qkv, index B, index s, index heads, T* o, T* core) {
  constexpr index E = embed_dim;
  if constexpr (use_kernels<T>) {
    const kernels::attention_io io{detail::qkv_part(qkv, B, s, 0), detail::qkv_part(qkv, B, s, 1),
                                   detail::qkv_part(qkv, B, s, 2)};
    kernels::attention_forward(
        io, heads, token_view<float>(o, B, s, E),
        std::span<float>(core, static_cast<std::size_t>(attention_core_size<T>(B, s, heads))),
        kernel_workspace(kernels::attention_workspace_size(s, E, heads)));
  } else {
    const index hd = E / heads;
    const T scale = T(1) / std::sqrt(T(hd));
    parallel::parallel_rows(B, static_cast<double>(B * s * s * 8 * E), [&](index b0, index b1) {
      for (index b = b0; b < b1; ++b) {
        const T* x = qkv + b * s * 3 * E;
        for (index h = 0; h < heads; ++h) {
          for (index r = 0; r < s; ++r) {
            T* row = core + ((b * heads + h) * s + r) * s;
            T mx = -std::numeric_limits<T>::infinity();
            for (index c = 0; c < s; ++c) {
              T dot = 0;
              for (index k = 0; k < hd; ++k)
                dot += x[r * 3 * E + h * hd + k] * x[c * 3 * E + E + h * hd + k];
              row[c] = dot * scale;
              mx = std::max(mx, row[c]);
            }
            T sum = 0;
            for (index c = 0; c < s; ++c) {
              row[c] = std::exp(row[c] - mx);
              sum += row[c];
            }
            for (index c = 0; c < s; ++c) row[c] /= sum;
            for (index k = 0; k < hd; ++k) {
              T acc = 0;
              for (index c = 0; c < s; ++c) acc += row[c] * x[c * 3 * E + 2 * E + h * hd + k];
              o[(b * s + r) * E + h * hd + k] = acc;
            }
          }
        }
      }
    });
  }
}

/// Backward of attention_forward: writes dqkv [B, s, 3E] from do [B, s, E].
template <class T>
void attention_backward(const T* qkv, index B, index s, index heads, const T* core, const T* dout,
                        T* dqkv) {
  constexpr index E = embed_dim;
  if constexpr (use_kernels<T>) {
    const kernels::attention_io io{detail::qkv_part(qkv, B, s, 0), detail::qkv_part(qkv, B, s, 1),
                                   detail::qkv_part(qkv, B, s, 2)};
    kernels::attention_backward(
        io, heads,
        std::span<const float>(core, static_cast<std::size_t>(attention_core_size<T>(B, s, heads))),
        token_view<const float>(dout, B, s, E), detail::qkv_part(dqkv, B, s, 0),
        detail::qkv_part(dqkv, B, s, 1), detail::qkv_part(dqkv, B, s, 2), false,
        kernel_workspace(kernels::attention_workspace_size(s, E, heads)));
  } else {
    const index hd = E / heads;
    const T scale = T(1) / std::sqrt(T(hd));
    parallel::parallel_rows(B, static_cast<double>(B * s * s * 8 * E), [&](index b0, index b1) {
      std::vector<T> dA(static_cast<std::size_t>(s));
      for (index b = b0; b < b1; ++b) {
        const T* x = qkv + b * s * 3 * E;
        T* dx = dqkv + b * s * 3 * E;
        std::fill(dx, dx + s * 3 * E, T(0));
        for (index h = 0; h < heads; ++h) {
          for (index r = 0; r < s; ++r) {
            const T* A = core + ((b * heads + h) * s + r) * s;
            const T* dO = dout + (b * s + r) * E + h * hd;
            // dV[c] += A[r, c] dO[r]; dA[r, c] = dO[r] . V[c]; softmax backward; dQ, dK.
            T dot = 0;
            for (index c = 0; c < s; ++c) {
              T d = 0;
              for (index k = 0; k < hd; ++k) {
                dx[c * 3 * E + 2 * E + h * hd + k] += A[c] * dO[k];
                d += dO[k] * x[c * 3 * E + 2 * E + h * hd + k];
              }
              dA[static_cast<std::size_t>(c)] = d;
              dot += d * A[c];
            }
            for (index c = 0; c < s; ++c) {
              const T g = A[c] * (dA[static_cast<std::size_t>(c)] - dot) * scale;
              for (index k = 0; k < hd; ++k) {
                dx[r * 3 * E + h * hd + k] += g * x[c * 3 * E + E + h * hd + k];
                dx[c * 3 * E + E + h * hd + k] += g * x[r * 3 * E + h * hd + k];
              }
            }
          }
        }
      }
    });
  }
}

// ---- element-wise and interaction layers --------------------------------------------------

/// y = a * b element-wise on a [rows, cols] block.
template <class T>
void multiply(index rows, index cols, const T* a, index lda, const T* b, index ldb, T* y,
              index ldy) {
  if constexpr (use_kernels<T>) {
    kernels::binary(kernels::binary_op::mul, rows, cols, a, lda, b, ldb, y, ldy);
  } else {
    for (index r = 0; r < rows; ++r) {
      for (index c = 0; c < cols; ++c) y[r * ldy + c] = a[r * lda + c] * b[r * ldb + c];
    }
  }
}

/// Backward of multiply: da (+)= dy * b, db (+)= dy * a; either may be null.
template <class T>
void multiply_backward(index rows, index cols, const T* a, index lda, const T* b, index ldb,
                       const T* dy, index lddy, T* da, index ldda, T* db, index lddb,
                       bool accumulate) {
  if constexpr (use_kernels<T>) {
    kernels::binary_backward(kernels::binary_op::mul, rows, cols, a, lda, b, ldb, dy, lddy, da,
                             ldda, db, lddb, accumulate);
  } else {
    for (index r = 0; r < rows; ++r) {
      for (index c = 0; c < cols; ++c) {
        const T g = dy[r * lddy + c];
        if (da != nullptr) {
          T& d = da[r * ldda + c];
          d = (accumulate ? d : T(0)) + g * b[r * ldb + c];
        }
        if (db != nullptr) {
          T& d = db[r * lddb + c];
          d = (accumulate ? d : T(0)) + g * a[r * lda + c];
        }
      }
    }
  }
}

/// Pairwise dot products of the n vectors of each example, strict lower triangle in the order
/// (1,0), (2,0), (2,1), ...: out[b, :n(n-1)/2] (row stride ldo).
template <class T>
void dot_interaction(token_view<const T> t, T* out, index ldo) {
  if constexpr (use_kernels<T>) {
    kernels::dot_interaction(t, out, ldo);
  } else {
    const index n = t.tokens(), e = t.width();
    parallel::parallel_rows(t.batch(), static_cast<double>(t.batch() * n * n * e / 2),
                            [&](index b0, index b1) {
                              for (index b = b0; b < b1; ++b) {
                                index p = 0;
                                for (index i = 1; i < n; ++i) {
                                  for (index j = 0; j < i; ++j) {
                                    T acc = 0;
                                    for (index c = 0; c < e; ++c) acc += t(b, i, c) * t(b, j, c);
                                    out[b * ldo + p++] = acc;
                                  }
                                }
                              }
                            });
  }
}

/// Backward of dot_interaction: dt (+)= the gradient of the pairs dout.
template <class T>
void dot_interaction_backward(token_view<const T> t, const T* dout, index ldo, token_view<T> dt,
                              bool accumulate) {
  if constexpr (use_kernels<T>) {
    kernels::dot_interaction_backward(t, dout, ldo, dt, accumulate);
  } else {
    const index n = t.tokens(), e = t.width();
    parallel::parallel_rows(t.batch(), static_cast<double>(t.batch() * n * n * e),
                            [&](index b0, index b1) {
                              for (index b = b0; b < b1; ++b) {
                                if (!accumulate) {
                                  for (index i = 0; i < n; ++i)
                                    for (index c = 0; c < e; ++c) dt(b, i, c) = T(0);
                                }
                                index p = 0;
                                for (index i = 1; i < n; ++i) {
                                  for (index j = 0; j < i; ++j) {
                                    const T g = dout[b * ldo + p++];
                                    for (index c = 0; c < e; ++c) {
                                      dt(b, i, c) += g * t(b, j, c);
                                      dt(b, j, c) += g * t(b, i, c);
                                    }
                                  }
                                }
                              }
                            });
  }
}

/// Factorisation-machine features per channel: out[b, c] = (sum_t x)^2 - sum_t x^2.
template <class T>
void fm(token_view<const T> x, T* out, index ldo) {
  if constexpr (use_kernels<T>) {
    kernels::fm(x, out, ldo);
  } else {
    for (index b = 0; b < x.batch(); ++b) {
      for (index c = 0; c < x.width(); ++c) {
        T s1 = 0, s2 = 0;
        for (index k = 0; k < x.tokens(); ++k) {
          s1 += x(b, k, c);
          s2 += x(b, k, c) * x(b, k, c);
        }
        out[b * ldo + c] = s1 * s1 - s2;
      }
    }
  }
}

/// Backward of fm: dx (+)= 2 (sum_t x - x) dout.
template <class T>
void fm_backward(token_view<const T> x, const T* dout, index ldo, token_view<T> dx,
                 bool accumulate) {
  if constexpr (use_kernels<T>) {
    kernels::fm_backward(x, dout, ldo, dx, accumulate);
  } else {
    for (index b = 0; b < x.batch(); ++b) {
      for (index c = 0; c < x.width(); ++c) {
        T s1 = 0;
        for (index k = 0; k < x.tokens(); ++k) s1 += x(b, k, c);
        for (index k = 0; k < x.tokens(); ++k) {
          const T v = T(2) * (s1 - x(b, k, c)) * dout[b * ldo + c];
          dx(b, k, c) = accumulate ? dx(b, k, c) + v : v;
        }
      }
    }
  }
}

}  // namespace recnas::ops::kit
