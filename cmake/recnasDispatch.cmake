# recnas_enable_simd_dispatch(<target>)
#
# recnas is header-only, so its kernels are compiled with the flags of the consumer's
# translation units. Without this function every kernel uses the TU's default xsimd
# architecture (compile-time selection: SSE2 without flags, AVX-512 with -march=native).
#
# With it, the target gets one extra generated TU per ISA (AVX2+FMA, AVX-512), each compiled
# with that ISA's flags, and the kernels pick the best table the CPU supports at run time
# (recnas::simd::active_isa(), forced by RECNAS_ISA=generic|avx2|avx512). The rest of the
# target keeps its own flags, so the binary still runs on a machine without AVX-512.
function(recnas_enable_simd_dispatch target)
  if(NOT CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
    return()  # other architectures use the compile-time default path
  endif()
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    message(WARNING "recnas: SIMD dispatch needs GCC or Clang; ${target} uses the default ISA")
    return()
  endif()
  set(_isas avx2 avx512)
  set(_avx2_tag "xsimd::fma3<xsimd::avx2>")
  set(_avx2_flags -mavx2 -mfma)
  set(_avx512_tag "xsimd::avx512dq")  # see recnas::simd::fallback_arch
  set(_avx512_flags -mavx2 -mfma -mavx512f -mavx512cd -mavx512bw -mavx512dq -mavx512vl)
  set(_outdir "${CMAKE_CURRENT_BINARY_DIR}/recnas_dispatch/${target}")
  foreach(isa IN LISTS _isas)
    set(RECNAS_ISA_TAG "${_${isa}_tag}")
    set(RECNAS_ISA_NAME "${isa}")
    set(_src "${_outdir}/recnas_isa_${isa}.cpp")
    configure_file("${CMAKE_CURRENT_FUNCTION_LIST_DIR}/recnas_isa_tu.cpp.in" "${_src}" @ONLY)
    target_sources(${target} PRIVATE "${_src}")
    set_source_files_properties("${_src}" PROPERTIES COMPILE_OPTIONS "${_${isa}_flags}")
  endforeach()
  target_compile_definitions(${target} PUBLIC RECNAS_SIMD_DISPATCH=1)
endfunction()
