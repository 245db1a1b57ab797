#pragma once
// Straightforward building blocks of the operators (Eigen maps, no copies of weights): the
// segment-wise linear layer over a prefix slice of a max-size weight, the token-axis linear
// layer, LayerNorm over strided vectors, activations. Operators call only these, so switching
// them to recnas::kernels changes no operator.

#include <algorithm>
#include <array>
#include <cmath>
#include <span>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "recnas/kernels/elementwise.hpp"
#include "recnas/kernels/gemm.hpp"
#include "recnas/kernels/token_linear.hpp"
#include "recnas/ops/concepts.hpp"
#include "recnas/parallel/threads.hpp"

namespace recnas::ops::detail {

/// The calling thread's kernel workspace (grown on demand, never shrunk). Kernels split it
/// over their own chunks, so one per calling thread is enough.
inline std::span<float> kernel_workspace(index floats) {
  thread_local aligned_buffer<float> buf;
  buf.reserve_discard(static_cast<std::size_t>(floats));
  return {buf.data(), static_cast<std::size_t>(floats)};
}

template <class T>
inline constexpr bool use_kernels = std::is_same_v<T, float>;

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

/// Copies a float [rows, cols] block (row strides lds, ldd).
inline void copy_rows_float(const float* src, index lds, float* dst, index ldd, index rows,
                            index cols) {
  for (index r = 0; r < rows; ++r) std::copy(src + r * lds, src + r * lds + cols, dst + r * ldd);
}

/// y[B, n] = sum_seg x_seg[B, w] * W[0:n, col:col+w]^T (+ b[0:n]); W has row stride ldw.
template <class T>
void linear_forward(index batch, std::span<const dense_seg<T>> xs, const T* w, index ldw,
                    const T* b, index n, T* y, index ldy) {
  if constexpr (use_kernels<T>) {
    index max_w = 0;
    const auto in = fc_inputs(xs, max_w);
    kernels::fc_forward(in, batch, w, ldw, b, n, kernels::activation::none, y, ldy,
                        kernel_workspace(kernels::fc_workspace_size(batch, n, max_w)));
    return;
  }
  index inner = 0;
  for (const auto& s : xs) inner += s.width;
  parallel::parallel_rows(
      batch, 2.0 * static_cast<double>(batch * n * inner), [&](index r0, index r1) {
        auto Y = mm(y + r0 * ldy, r1 - r0, n, ldy);
        if (b != nullptr) {
          Y.rowwise() = Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(b, n);
        } else {
          Y.setZero();
        }
        for (const auto& s : xs) {
          if (s.width == 0) continue;
          Y.noalias() += cm(s.x + r0 * s.ld, r1 - r0, s.width, s.ld) *
                         cm(w + s.col, n, s.width, ldw).transpose();
        }
      });
}

/// Backward of linear_forward: dx_seg += dy W_seg; dW_seg += dy^T x_seg; db += sum dy.
template <class T>
void linear_backward(index batch, std::span<const dense_seg<T>> xs, const T* w, T* gw, index ldw,
                     T* gb, index n, const T* dy, index ldy) {
  if constexpr (use_kernels<T>) {
    index max_w = 0;
    const auto in = fc_inputs(xs, max_w);
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
    const auto DY = cm(dy + r0 * ldy, r1 - r0, n, ldy);
    for (const auto& s : xs) {
      if (s.width == 0 || s.dx == nullptr) continue;
      mm(s.dx + r0 * s.ld, r1 - r0, s.width, s.ld).noalias() += DY * cm(w + s.col, n, s.width, ldw);
    }
  });
  // Weight gradient: split over output rows so every chunk owns its rows (deterministic).
  parallel::parallel_rows(n, cost, [&](index o0, index o1) {
    const auto DY = cm(dy + o0, batch, o1 - o0, ldy);
    for (const auto& s : xs) {
      if (s.width == 0) continue;
      mm(gw + o0 * ldw + s.col, o1 - o0, s.width, ldw).noalias() +=
          DY.transpose() * cm(s.x, batch, s.width, s.ld);
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
    const auto in = token_inputs(xs);
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
          auto Y = mm(y + bi * ybs, n, embed_dim, embed_dim);
          if (b != nullptr) {
            Y = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>(b, n).replicate(1, embed_dim);
          } else {
            Y.setZero();
          }
          for (const auto& s : xs) {
            if (s.tokens == 0) continue;
            Y.noalias() += cm(w + s.col, n, s.tokens, ldw) *
                           cm(s.x + bi * s.bs, s.tokens, embed_dim, embed_dim);
          }
        }
      });
}

template <class T>
void token_linear_backward(index batch, std::span<const token_seg<T>> xs, const T* w, T* gw,
                           index ldw, T* gb, index n, const T* dy, index ybs) {
  if constexpr (use_kernels<T>) {
    const auto in = token_inputs(xs);
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
      const auto DY = cm(dy + bi * ybs, n, embed_dim, embed_dim);
      for (const auto& s : xs) {
        if (s.tokens == 0 || s.dx == nullptr) continue;
        mm(s.dx + bi * s.bs, s.tokens, embed_dim, embed_dim).noalias() +=
            cm(w + s.col, n, s.tokens, ldw).transpose() * DY;
      }
    }
  });
  parallel::parallel_rows(n, cost, [&](index o0, index o1) {
    for (index bi = 0; bi < batch; ++bi) {
      const auto DY = cm(dy + bi * ybs + o0 * embed_dim, o1 - o0, embed_dim, embed_dim);
      for (const auto& s : xs) {
        if (s.tokens == 0) continue;
        mm(gw + o0 * ldw + s.col, o1 - o0, s.tokens, ldw).noalias() +=
            DY * cm(s.x + bi * s.bs, s.tokens, embed_dim, embed_dim).transpose();
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

template <class T>
void layernorm_forward(T* x, const vectors& v, const T* gamma, const T* beta, T* xhat, T* rstd) {
  if constexpr (use_kernels<T>) {
    if (v.inner == embed_dim && v.elem_stride == embed_dim) {
      layernorm_channels_forward(x, v, gamma, beta, xhat, rstd);
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
      layernorm_channels_backward(dy, v, gamma, xhat, rstd, gg, gb);
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
    copy_rows_float(y, ld, saved, n, rows, n);
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

/// A projection that is either a linear layer (+ optional LN) or skipped when the widths match
/// (reference rule). Slots: W, b, ln_g, ln_b at `first`. Output y [B, n] (row stride ldy).
/// Saves 2 pointers at t.p[save], t.p[save+1].
template <class T>
void dense_projection_forward(const op_io<T>& io, index first, std::span<const dense_seg<T>> xs,
                              index n, bool skip, T* y, index ldy, tape<T>& t, int save) {
  const index B = io.batch;
  if (skip) {
    concat_dense(B, xs, y, ldy);
    return;
  }
  const auto& W = io.params[static_cast<std::size_t>(first)];
  const auto& b = io.params[static_cast<std::size_t>(first + 1)];
  linear_forward(B, xs, W.w, W.cols, b.present() ? b.w : static_cast<const T*>(nullptr), n, y, ldy);
  if (io.shape.layernorm) {
    const auto& g = io.params[static_cast<std::size_t>(first + 2)];
    const auto& be = io.params[static_cast<std::size_t>(first + 3)];
    T* xhat = io.scratch->alloc(B * n);
    T* rstd = io.scratch->alloc(2 * B);
    layernorm_rows_forward(y, B, n, ldy, g.w, be.w, xhat, rstd);
    t.p[static_cast<std::size_t>(save)] = xhat;
    t.p[static_cast<std::size_t>(save + 1)] = rstd;
  }
}

/// Backward of dense_projection_forward; dy is modified (becomes the pre-LN gradient).
template <class T>
void dense_projection_backward(const op_io<T>& io, index first, std::span<const dense_seg<T>> xs,
                               index n, bool skip, T* dy, index ldy, const tape<T>& t, int save) {
  const index B = io.batch;
  if (skip) {
    concat_dense_backward(B, xs, dy, ldy);
    return;
  }
  const auto& W = io.params[static_cast<std::size_t>(first)];
  const auto& b = io.params[static_cast<std::size_t>(first + 1)];
  if (io.shape.layernorm) {
    const auto& g = io.params[static_cast<std::size_t>(first + 2)];
    const auto& be = io.params[static_cast<std::size_t>(first + 3)];
    layernorm_rows_backward(dy, B, n, ldy, g.w, t.p[static_cast<std::size_t>(save)],
                            t.p[static_cast<std::size_t>(save + 1)], g.g, be.g);
  }
  linear_backward(B, xs, W.w, W.g, W.cols, b.present() ? b.g : static_cast<T*>(nullptr), n, dy,
                  ldy);
}

/// Token-axis projection (+ optional LN over the n output tokens, per channel), or the
/// token concatenation when skipped. Output y [B, n, E], batch stride ybs.
template <class T>
void token_projection_forward(const op_io<T>& io, index first, index n, bool skip, T* y, index ybs,
                              tape<T>& t, int save) {
  const index B = io.batch;
  if (skip) {
    concat_tokens(B, io.tokens, y, ybs);
    return;
  }
  const auto& W = io.params[static_cast<std::size_t>(first)];
  const auto& b = io.params[static_cast<std::size_t>(first + 1)];
  token_linear_forward(B, io.tokens, W.w, W.cols,
                       b.present() ? b.w : static_cast<const T*>(nullptr), n, y, ybs);
  if (io.shape.layernorm) {
    const auto& g = io.params[static_cast<std::size_t>(first + 2)];
    const auto& be = io.params[static_cast<std::size_t>(first + 3)];
    T* xhat = io.scratch->alloc(B * embed_dim * n);
    T* rstd = io.scratch->alloc(B * embed_dim);
    layernorm_forward(y, vectors{B, embed_dim, ybs, embed_dim, n}, g.w, be.w, xhat, rstd);
    t.p[static_cast<std::size_t>(save)] = xhat;
    t.p[static_cast<std::size_t>(save + 1)] = rstd;
  }
}

template <class T>
void token_projection_backward(const op_io<T>& io, index first, index n, bool skip, T* dy,
                               index ybs, const tape<T>& t, int save) {
  const index B = io.batch;
  if (skip) {
    concat_tokens_backward(B, io.tokens, dy, ybs);
    return;
  }
  const auto& W = io.params[static_cast<std::size_t>(first)];
  const auto& b = io.params[static_cast<std::size_t>(first + 1)];
  if (io.shape.layernorm) {
    const auto& g = io.params[static_cast<std::size_t>(first + 2)];
    const auto& be = io.params[static_cast<std::size_t>(first + 3)];
    layernorm_backward(dy, vectors{B, embed_dim, ybs, embed_dim, n}, g.w,
                       t.p[static_cast<std::size_t>(save)], t.p[static_cast<std::size_t>(save + 1)],
                       g.g, be.g);
  }
  token_linear_backward(B, io.tokens, W.w, W.g, W.cols,
                        b.present() ? b.g : static_cast<T*>(nullptr), n, dy, ybs);
}

}  // namespace recnas::ops::detail
