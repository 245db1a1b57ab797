#!/usr/bin/env bash
# Training throughput of recnas vs PyTorch, side by side on this machine (issue 5/8 benchmark).
#
# Same model, same data, same batch, same threads on both sides:
#   * criteo-full: the released NASRec Criteo-Full config
#     (recnas train --arch ... vs bench/pytorch NASRecSubnet from the same JSON);
#   * dlrm: recnas's --model dlrm (DLRM written with NASRec-Full operators) vs its exact PyTorch
#     mirror (bench/pytorch/dlrm_nasrec_full.json), and, labelled as a different model, the
#     canonical PyTorch DLRM (models.DLRM: bottom 13-512-256-64-16, dot of 27 vectors, top
#     367-512-256-1).
# Data: the Criteo sample's 8,000 train rows (AutoCTR 8:1:1 split) in file order, tables capped
# at 0.5M rows (49.1M embedding parameters), batch 512, partial batch dropped, --epochs passes.
# PyTorch runs through bench/pytorch/run.sh (threads limited in torch and OpenBLAS, passive
# OpenMP, malloc thresholds) with row-sparse embedding gradients (the strongest baseline) and,
# with --dense-grad, also with dense gradients (as the reference releases it).
# Runs are interleaved (ours, PyTorch, ours, PyTorch, ...) and the table shows medians.
#
# With --accuracy it instead runs the accuracy-parity check (test logloss on the Criteo sample,
# AutoCTR 8:1:1 split, the reference recipe: Adagrad eps 1e-2, batch 256, 4 epochs in file
# order, warm-up + cosine, clip 5; seeds 0..2; DLRM at lr 0.1, Criteo-Full at lr 0.01) for
# recnas and for PyTorch with the reference's Xavier init and with recnas's init.
#
#   bench/train_compare.sh [--recnas build/h-bench/examples/recnas] [--reps 3] [--threads "1 2"]
#                          [--epochs 4] [--models "criteo-full dlrm"] [--dense-grad] [--out DIR]
#   bench/train_compare.sh --accuracy [--seeds 3] [--out DIR]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
recnas="$root/build/h-bench/examples/recnas"
reps=3
threads_list="1 2"
epochs=4
models="criteo-full dlrm"
dense_grad=0
accuracy=0
seeds=3
out=""
data_dir="$root/../shared/data/criteo/autoint"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --recnas) recnas="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --threads) threads_list="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --dense-grad) dense_grad=1; shift ;;
    --accuracy) accuracy=1; shift ;;
    --seeds) seeds="$2"; shift 2 ;;
    --data-dir) data_dir="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n 2,27p "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "train_compare.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -x "$recnas" ]] || { echo "train_compare.sh: no recnas tool at $recnas (build target recnas_cli)" >&2; exit 2; }
[[ -f "$data_dir/train_examples.txt" ]] || { echo "train_compare.sh: the Criteo sample is not at $data_dir" >&2; exit 2; }
/usr/bin/python3 -c "import torch" 2>/dev/null || { echo "train_compare.sh: needs python3-torch (apt-get install python3-torch libopenblas0-pthread)" >&2; exit 2; }
[[ -n "$out" ]] || out="$(mktemp -d /tmp/train_compare.XXXXXX)"
mkdir -p "$out"
results="$out/results.jsonl"
: > "$results"
full_json="$root/tests/unit/supernet/nasrec-configs/ea_criteo_kaggle_xlarge_best_1shot.json"
spec="criteo:$data_dir/train_examples.txt,cap=500000"

if [[ $accuracy == 1 ]]; then
  acc="$out/accuracy.jsonl"
  : > "$acc"
  echo "# $(date -u +%FT%TZ) accuracy parity, $seeds seeds; load at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  for m in "dlrm 0.1" "criteo-full 0.01"; do
    set -- $m
    if [[ "$1" == dlrm ]]; then ours=("$recnas" train --model dlrm); pts="dlrm-nasrec dlrm"
    else ours=("$recnas" train --arch "$full_json" --space nasrec-full); pts="criteo-full"; fi
    for init in reference recnas; do
      for ((s = 0; s < seeds; s++)); do
        line="$("${ours[@]}" --data "$spec" --epochs 4 --batch 256 --lr "$2" --seed "$s" --threads 1 \
          --init "$init" --json 2>>"$out/stderr.log" | tail -n 1)"
        echo "{\"side\": \"recnas\", \"init\": \"$init\", \"model\": \"$1\", \"seed\": $s, \"r\": $line}" >> "$acc"
      done
    done
    for p in $pts; do
      for init in reference recnas; do
        [[ "$p" == dlrm && $init == recnas ]] && continue
        line="$("$here/pytorch/run.sh" accuracy.py --model "$p" --lr "$2" --init "$init" --seeds "$seeds" \
          --data-dir "$data_dir" --threads 1 --json 2>>"$out/stderr.log" | tail -n 1)"
        echo "{\"side\": \"pytorch:$p init=$init\", \"init\": \"$init\", \"model\": \"$1\", \"r\": $line}" >> "$acc"
      done
    done
  done
  /usr/bin/python3 - "$acc" <<'EOF2'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("\nTest logloss on the Criteo sample (8:1:1 AutoCTR split), mean +- std over seeds")
print("| model | side | test logloss | test AUC | recnas (same init) - this |")
print("|---|---|---:|---:|---:|")
for m in ("dlrm", "criteo-full"):
    ours = {}
    for init in ("reference", "recnas"):
        rs = [r["r"] for r in rows if r["side"] == "recnas" and r["model"] == m and r["init"] == init]
        if not rs:
            continue
        ll = [r["logloss"] for r in rs]
        ours[init] = statistics.mean(ll)
        sd = statistics.stdev(ll) if len(ll) > 1 else 0.0
        print(f"| {m} | recnas init={init} | {ours[init]:.4f} +- {sd:.4f} | "
              f"{statistics.mean(r['auc'] for r in rs):.4f} | |")
    for r in rows:
        if r["model"] == m and r["side"] != "recnas":
            j = r["r"]
            d = ours.get(r["init"])
            diff = f"{d - j['logloss_mean']:+.4f}" if d is not None else ""
            print(f"| {m} | {r['side']} | {j['logloss_mean']:.4f} +- {j['logloss_std']:.4f} | "
                  f"{j['auc_mean']:.4f} | {diff} |")
EOF2
  exit 0
fi

# record LABEL MODEL THREADS COMMAND...: run, keep the last stdout line (JSON), tag it.
record() {
  local label="$1" model="$2" t="$3"; shift 3
  local line
  line="$("$@" 2>>"$out/stderr.log" | tail -n 1)"
  echo "$label t=$t: $(echo "$line" | /usr/bin/python3 -c 'import json,sys; print(round(json.load(sys.stdin)["examples_per_s"]))') examples/s" >&2
  echo "{\"side\": \"$label\", \"bench_model\": \"$model\", \"bench_threads\": $t, \"load1\": $(cut -d' ' -f1 /proc/loadavg), \"r\": $line}" >> "$results"
}

echo "# $(date -u +%FT%TZ) $(uname -n); $(nproc) CPUs; load at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for rep in $(seq 1 "$reps"); do
  for t in $threads_list; do
    for m in $models; do
      if [[ "$m" == criteo-full ]]; then
        ours=("$recnas" train --arch "$full_json" --space nasrec-full)
        pts=(criteo-full)
      else
        ours=("$recnas" train --model dlrm)
        pts=(dlrm-nasrec dlrm)
      fi
      record recnas "$m" "$t" "${ours[@]}" --data "$spec" --epochs "$epochs" --batch 512 \
        --threads "$t" --json
      for p in "${pts[@]}"; do
        record "pytorch-sparse:$p" "$m" "$t" "$here/pytorch/run.sh" --model "$p" --data criteo \
          --data-dir "$data_dir" --epochs "$epochs" --batch 512 --sparse-grad --threads "$t" --json
        if [[ $dense_grad == 1 ]]; then
          record "pytorch-dense:$p" "$m" "$t" "$here/pytorch/run.sh" --model "$p" --data criteo \
            --data-dir "$data_dir" --epochs "$epochs" --batch 512 --threads "$t" --json
        fi
      done
    done
  done
done
echo "# load at end: $(cut -d' ' -f1-3 /proc/loadavg); raw results: $results" >&2

/usr/bin/python3 - "$results" <<'EOF'
import collections, json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = collections.defaultdict(list)
for r in rows:
    by[(r["bench_model"], r["bench_threads"], r["side"])].append(r["r"]["examples_per_s"])
loads = [r["load1"] for r in rows]
print(f"\nTraining examples/s, batch 512, Criteo sample train split, tables capped at 0.5M; median "
      f"of {max(len(v) for v in by.values())} interleaved runs; 1-min load {min(loads):.1f}-{max(loads):.1f}")
print(f"| model | threads | PyTorch side | recnas | PyTorch | recnas / PyTorch |")
print("|---|---|---|---:|---:|---:|")
for (m, t, side), v in sorted(by.items()):
    if side == "recnas":
        continue
    ours = statistics.median(by[(m, t, "recnas")])
    pt = statistics.median(v)
    print(f"| {m} | {t} | {side} | {ours:.0f} | {pt:.0f} | {ours / pt:.2f}x |")
EOF
