#!/usr/bin/env bash
# Compile time of name -> type dispatch with parameter packs vs Boost.Hana (issue 20 item 5).
# Usage: bench/compile/hana_vs_packs.sh [REPEATS]; prints the median seconds per variant and N.
set -euo pipefail
[ -f /usr/include/boost/hana.hpp ] || { echo "needs Boost.Hana headers (apt-get install libboost-dev); recnas itself does not" >&2; exit 1; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
reps="${1:-5}"
cxx="${CXX:-g++}"
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
printf "%-8s %6s %10s %10s %8s\n" variant N packs_s hana_s ratio
for n in 3 16 64; do
  declare -A t
  for v in packs hana; do
    t[$v]=$(for _ in $(seq "$reps"); do
      s=$(date +%s.%N)
      "$cxx" -std=c++20 -O2 -c -DRECNAS_PROBE_N="$n" "$here/visit_$v.cpp" -o /dev/null
      e=$(date +%s.%N); echo "$e - $s" | bc
    done | median)
  done
  printf "%-8s %6d %10.3f %10.3f %8.2f\n" dispatch "$n" "${t[packs]}" "${t[hana]}" \
    "$(echo "${t[hana]} / ${t[packs]}" | bc -l)"
done
