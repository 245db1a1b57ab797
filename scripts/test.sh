#!/usr/bin/env bash
# Install dependencies, build everything from a fresh build folder, run every test.
# Usage: scripts/test.sh [--sanitize]   (--sanitize: ASan+UBSan build in build/sanitize)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/deps.sh"
mode="${1:-}"
jobs="$(nproc)"
if [ "$mode" = "--sanitize" ]; then
  build="$root/build/sanitize"
  flags=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DRECNAS_SANITIZE=ON
         -DRECNAS_BUILD_BENCHMARKS=OFF -DRECNAS_BUILD_EXAMPLES=OFF)
  # Package tests rebuild a consumer, header and layer checks only parse: nothing to add under
  # sanitizers.
  ctest_args=(-LE "package|failtest|headers|layers")
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
else
  build="$root/build/test"
  flags=(-DCMAKE_BUILD_TYPE=Release)
  ctest_args=()
fi
rm -rf "$build"
cmake -S "$root" -B "$build" -DRECNAS_WERROR=ON "${flags[@]}"
cmake --build "$build" -j "$jobs"
cd "$build"
ctest --output-on-failure -j "$jobs" "${ctest_args[@]}"
