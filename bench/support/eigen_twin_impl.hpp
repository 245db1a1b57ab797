#pragma once
// Body shared by eigen_twin_avx2.cpp and eigen_twin_avx512.cpp: define RECNAS_EIGEN_TWIN_NAME
// (the table function) and rename the Eigen namespace before including this file.

// GCC 12 reports false "(may be) used uninitialized" inside its own AVX-512 intrinsics
// (_mm512_undefined_ps pass-through operands) once Eigen's kernels inline them.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include <Eigen/Core>

#include "eigen_twin.hpp"

namespace recnas::bench::eigen_twin {
namespace {

using rowmat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void forward(const fc_operands& o, std::ptrdiff_t r0, std::ptrdiff_t r1) {
  Eigen::Map<const rowmat> X(o.x, o.m, o.k), W(o.w, o.n, o.k);
  Eigen::Map<rowmat> Y(o.y, o.m, o.n);
  Y.middleRows(r0, r1 - r0).noalias() = X.middleRows(r0, r1 - r0) * W.transpose();
}

void backward_data(const fc_operands& o, std::ptrdiff_t r0, std::ptrdiff_t r1) {
  Eigen::Map<const rowmat> W(o.w, o.n, o.k), dY(o.dy, o.m, o.n);
  Eigen::Map<rowmat> dX(o.dx, o.m, o.k);
  dX.middleRows(r0, r1 - r0).noalias() = dY.middleRows(r0, r1 - r0) * W;
}

void backward_weight(const fc_operands& o, std::ptrdiff_t r0, std::ptrdiff_t r1) {
  Eigen::Map<const rowmat> X(o.x, o.m, o.k), dY(o.dy, o.m, o.n);
  Eigen::Map<rowmat> dW(o.dw, o.n, o.k);
  dW.middleRows(r0, r1 - r0).noalias() += dY.middleCols(r0, r1 - r0).transpose() * X;
}

}  // namespace

const table& RECNAS_EIGEN_TWIN_NAME() {
  static const table t{RECNAS_EIGEN_TWIN_LEVEL, Eigen::SimdInstructionSetsInUse(), &forward,
                       &backward_data, &backward_weight};
  return t;
}

}  // namespace recnas::bench::eigen_twin

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
