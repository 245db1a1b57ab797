// Eigen twin compiled with -mavx2 -mfma (see eigen_twin.hpp).
#if !defined(__AVX2__) || !defined(__FMA__)
#error "eigen_twin_avx2.cpp must be compiled with -mavx2 -mfma (bench/CMakeLists.txt)"
#endif
#define Eigen Eigen_avx2  // private copy of Eigen's inline code (see eigen_twin.hpp)
#define RECNAS_EIGEN_TWIN_NAME avx2
#define RECNAS_EIGEN_TWIN_LEVEL "avx2"
#include "eigen_twin_impl.hpp"

#ifndef EIGEN_VECTORIZE_AVX2
#error "Eigen did not pick AVX2: check the per-source flags in bench/CMakeLists.txt"
#endif
