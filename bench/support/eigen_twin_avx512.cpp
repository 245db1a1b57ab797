// Eigen twin compiled with AVX-512 flags (see eigen_twin.hpp).
#if !defined(__AVX512F__) || !defined(__FMA__)
#error "eigen_twin_avx512.cpp must be compiled with AVX-512 flags (bench/CMakeLists.txt)"
#endif
#define Eigen Eigen_avx512  // private copy of Eigen's inline code (see eigen_twin.hpp)
#define RECNAS_EIGEN_TWIN_NAME avx512
#define RECNAS_EIGEN_TWIN_LEVEL "avx512"
#include "eigen_twin_impl.hpp"

#ifndef EIGEN_VECTORIZE_AVX512
#error "Eigen did not pick AVX-512: check the per-source flags in bench/CMakeLists.txt"
#endif
