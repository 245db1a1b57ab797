#!/usr/bin/env bash
# Runs a PyTorch baseline script with the settings that make it a fair baseline
# (docs/benchmarks.md): OpenBLAS and OpenMP limited to --threads, passive OpenMP waiting, and a
# malloc that does not return activations to the kernel every step. Needs Debian's
# python3-torch (apt-get install python3-torch libopenblas0-pthread) and /usr/bin/python3.
#   bench/pytorch/run.sh [train_bench.py|accuracy.py] --threads N [args...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
script="train_bench.py"
if [[ "${1:-}" == *.py ]]; then script="$1"; shift; fi
threads=1
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [[ "${args[$i]}" == "--threads" ]] && threads="${args[$((i + 1))]}"
done
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads"
export OMP_WAIT_POLICY=PASSIVE
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=17179869184
exec /usr/bin/python3 "$here/$script" "$@"
