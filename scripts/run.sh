#!/usr/bin/env bash
# The main job: install dependencies, build the recnas tool, run it.
# Usage: scripts/run.sh [recnas arguments...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/deps.sh"
build="${RECNAS_BUILD_DIR:-$root/build/release}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DRECNAS_BUILD_TESTS=OFF \
      -DRECNAS_BUILD_BENCHMARKS=OFF -DRECNAS_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" --target recnas_cli -j "$(nproc)"
exec "$build/examples/recnas" "$@"
