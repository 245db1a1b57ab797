# Settings for recnas's own targets (tests, benchmarks, examples). Nothing here reaches
# consumers of recnas::recnas.

find_program(RECNAS_CCACHE ccache)
if(RECNAS_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${RECNAS_CCACHE}" CACHE STRING "" FORCE)
endif()

set(RECNAS_PROJECT_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wold-style-cast -Wunused -Woverloaded-virtual -Wimplicit-fallthrough
    -Wno-missing-field-initializers)  # C++20 designated initializers rely on defaults
if(RECNAS_WERROR)
  list(APPEND RECNAS_PROJECT_WARNINGS -Werror)
endif()

set(RECNAS_SANITIZER_FLAGS "")
if(RECNAS_SANITIZE)
  set(RECNAS_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all
      -fno-omit-frame-pointer)
endif()

# recnas_project_target(<target> [DISPATCH]): warnings, sanitizers, deps, optional SIMD dispatch.
function(recnas_project_target target)
  cmake_parse_arguments(ARG "DISPATCH" "" "" ${ARGN})
  target_link_libraries(${target} PRIVATE recnas::recnas)
  target_compile_options(${target} PRIVATE ${RECNAS_PROJECT_WARNINGS} ${RECNAS_SANITIZER_FLAGS})
  target_link_options(${target} PRIVATE ${RECNAS_SANITIZER_FLAGS})
  set_target_properties(${target} PROPERTIES CXX_EXTENSIONS OFF)
  if(ARG_DISPATCH)
    recnas_enable_simd_dispatch(${target})
  endif()
endfunction()
