#pragma once
// Parameter-free operators: zero outputs (the reference's unused `xlarge-zeros` space uses
// them to let a block drop a branch) and a dense identity (the first d columns of the
// concatenated dense input, zero-padded).

#include <algorithm>
#include <string_view>

#include "recnas/ops/concepts.hpp"
#include "recnas/ops/kit.hpp"

namespace recnas::ops {

struct zero_dense {
  static constexpr std::string_view name = "zero_dense";
  static constexpr policy_kind kind = policy_kind::dense_operator;
  static constexpr reads inputs = reads::none;
  static void declare(const op_shape&, param_declarer&) {}
  static void work(const op_shape&, work_graph&) {}
  template <class T>
  static void forward(const op_io<T>& io, tape<T>&, T* y, index ldy) {
    for (index b = 0; b < io.batch; ++b) std::fill(y + b * ldy, y + b * ldy + io.shape.d, T(0));
  }
  template <class T>
  static void backward(const op_io<T>&, const tape<T>&, const T*, index) {}
};

struct zero_sparse {
  static constexpr std::string_view name = "zero_sparse";
  static constexpr policy_kind kind = policy_kind::sparse_operator;
  static constexpr reads inputs = reads::none;
  static void declare(const op_shape&, param_declarer&) {}
  static void work(const op_shape&, work_graph&) {}
  template <class T>
  static void forward(const op_io<T>& io, tape<T>&, T* y, index bs) {
    for (index b = 0; b < io.batch; ++b) {
      std::fill(y + b * bs, y + b * bs + io.shape.s * embed_dim, T(0));
    }
  }
  template <class T>
  static void backward(const op_io<T>&, const tape<T>&, const T*, index) {}
};

struct identity_dense {
  static constexpr std::string_view name = "identity";
  static constexpr policy_kind kind = policy_kind::dense_operator;
  static constexpr reads inputs = reads::dense;
  static void declare(const op_shape&, param_declarer&) {}
  static void work(const op_shape&, work_graph&) {}
  template <class T>
  static void forward(const op_io<T>& io, tape<T>&, T* y, index ldy) {
    const index n = io.shape.d;
    index off = 0;
    for (index b = 0; b < io.batch; ++b) std::fill(y + b * ldy, y + b * ldy + n, T(0));
    for (const auto& s : io.dense) {
      const index w = std::clamp<index>(n - off, 0, s.width);
      kit::copy_block(s.x, s.ld, y + off, ldy, io.batch, w);
      off += s.width;
    }
  }
  template <class T>
  static void backward(const op_io<T>& io, const tape<T>&, const T* dy, index ldy) {
    const index n = io.shape.d;
    index off = 0;
    for (const auto& s : io.dense) {
      const index w = std::clamp<index>(n - off, 0, s.width);
      if (s.dx != nullptr) kit::add_block(dy + off, ldy, s.dx, s.ld, io.batch, w);
      off += s.width;
    }
  }
};

}  // namespace recnas::ops
