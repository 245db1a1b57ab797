#!/usr/bin/env bash
# The main job: install dependencies, build the recnas tool, run it.
# Usage: scripts/run.sh                  the default: a search on the embedded synthetic dataset
#        scripts/run.sh [recnas arguments...]   any recnas subcommand (scripts/run.sh --help)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/deps.sh"
build="${RECNAS_BUILD_DIR:-$root/build/release}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DRECNAS_BUILD_TESTS=OFF \
      -DRECNAS_BUILD_BENCHMARKS=OFF -DRECNAS_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" --target recnas_cli -j "$(nproc)"
if [ "$#" -eq 0 ]; then
  # NASRec-Full on 100k synthetic rows with planted interactions: supernet training,
  # evolution (128 candidates), top-3 re-training, the six baselines; a few minutes on 2 cores.
  set -- search --space nasrec-full --data synthetic:rows=100000 --budget small \
         --objectives logloss,flops --threads "$(nproc)" --out "${RECNAS_OUT:-$root/out/search}"
fi
exec "$build/examples/recnas" "$@"
