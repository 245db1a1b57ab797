#!/usr/bin/env bash
# Compile time and peak memory of the heaviest translation units (issue 20 item 6): the umbrella
# header recnas/recnas.hpp alone, and every unit of the recnas tool (examples/recnas/*.cpp), with
# the flags of a Release build (-O3, C++20, the project's warnings). Each is compiled REPEATS
# times; prints the median wall seconds and the median peak RSS (MB) of the compiler.
# Usage: bench/compile/unit_cost.sh [REPEATS [UNIT...]]   (on an otherwise idle machine; UNIT
# names restrict the run, e.g. `umbrella cmd_search`)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
reps="${1:-3}"
shift || true
only=" $* "
cxx="${CXX:-g++}"
flags=(-std=c++20 -O3 -DNDEBUG -DRECNAS_SIMD_DISPATCH=1 -Wall -Wextra -Wpedantic -Wshadow
       -Wno-missing-field-initializers -I"$root/include" -isystem /usr/include/eigen3)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
printf '#include <recnas/recnas.hpp>\nint main() { return 0; }\n' > "$tmp/umbrella.cpp"
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
printf "%-28s %8s %8s\n" unit seconds peak_MB
for src in "$tmp/umbrella.cpp" "$root"/examples/recnas/*.cpp; do
  name="$(basename "$src")"
  if [ "$only" != "  " ] && [[ "$only" != *" ${name%.cpp} "* ]]; then continue; fi
  [ "$name" = umbrella.cpp ] && name="recnas/recnas.hpp"
  : > "$tmp/runs"
  for _ in $(seq "$reps"); do
    /usr/bin/time -f "%e %M" -o "$tmp/t" "$cxx" "${flags[@]}" -I"$root/examples/recnas" \
      -c "$src" -o "$tmp/o.o"
    cat "$tmp/t" >> "$tmp/runs"
  done
  s=$(cut -d' ' -f1 "$tmp/runs" | median)
  m=$(cut -d' ' -f2 "$tmp/runs" | median)
  printf "%-28s %8.2f %8.0f\n" "$name" "$s" "$(echo "$m / 1024" | bc -l)"
done
