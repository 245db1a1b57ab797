#!/usr/bin/env bash
# Does the searched model beat the hand-designed ones on real data? Runs, on the real samples
# in ../shared/data (never committed), with default settings and seeds 0, 1, 2:
#   1. recnas train --model M for every baseline (the final-training protocol's defaults);
#   2. recnas search --space nasrec-full --budget small on the Criteo and the Avazu sample;
# and prints per seed, mean, standard deviation and the paired comparison of the winner with
# the best baseline; everything is also written to OUT/summary.json.
# Usage: bench/search_quality.sh [OUT]   (RECNAS=path/to/recnas, SEEDS="0 1 2", PARTS="train search",
#        MODELS="dnn dlrm deepfm autoint dcnv2 dlrm-ref", SPACE=nasrec-full)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
recnas="${RECNAS:-$root/build/release/examples/recnas}"
out="${1:-$root/build/search-quality}"
seeds="${SEEDS:-0 1 2}"
parts="${PARTS:-train search}"
data="$root/../shared/data"
criteo="$data/criteo/autoint/train_examples.txt"
avazu="$data/avazu/wide_resdnn/train.csv"
[ -x "$recnas" ] || { echo "build the tool first (scripts/run.sh builds it), or set RECNAS" >&2; exit 1; }
[ -f "$criteo" ] && [ -f "$avazu" ] || { echo "skipped: the real samples are not in $data" >&2; exit 0; }
mkdir -p "$out"
threads="${THREADS:-2}"
for part in $parts; do
  if [ "$part" = train ]; then
    for m in ${MODELS:-dnn dlrm deepfm autoint dcnv2 dlrm-ref}; do
      for s in $seeds; do
        f="$out/train-criteo-$m-$s.json"
        [ -s "$f" ] && continue
        echo "== recnas train --model $m --data criteo:<sample> --seed $s" >&2
        /usr/bin/time -f "%e" -o "$f.time" "$recnas" train --model "$m" --data "criteo:$criteo" \
          --seed "$s" --threads "$threads" --json | tail -1 > "$f.tmp" && mv "$f.tmp" "$f"
      done
    done
  fi
  if [ "$part" = search ]; then
    for ds in criteo avazu; do
      path="$criteo"; [ "$ds" = avazu ] && path="$avazu"
      for s in $seeds; do
        f="$out/search-$ds-$s.json"
        [ -s "$f" ] && continue
        echo "== recnas search --space ${SPACE:-nasrec-full} --budget small --data $ds:<sample> --seed $s" >&2
        /usr/bin/time -f "%e" -o "$f.time" "$recnas" search --space "${SPACE:-nasrec-full}" --budget small \
          --data "$ds:$path" --seed "$s" --threads "$threads" --out "$out/search-$ds-$s" --json \
          | tail -1 > "$f.tmp" && mv "$f.tmp" "$f"
      done
    done
  fi
done
python3 - "$out" "$seeds" <<'PY'
import json, os, statistics as st, sys
out, seeds = sys.argv[1], sys.argv[2].split()
def load(name):
    p = os.path.join(out, name)
    if not os.path.exists(p) or os.path.getsize(p) == 0: return None
    j = json.load(open(p))
    t = open(p + ".time").read().split()[-1] if os.path.exists(p + ".time") else "?"
    return j, t
def ms(v): return "%.4f +- %.4f" % (st.mean(v), st.stdev(v) if len(v) > 1 else 0.0)
summary = {"train": {}, "search": {}}
print("\n## recnas train (defaults), Criteo sample: test logloss per seed")
for m in ["dnn", "dlrm", "deepfm", "autoint", "dcnv2", "dlrm-ref"]:
    rows = [load("train-criteo-%s-%s.json" % (m, s)) for s in seeds]
    rows = [r for r in rows if r]
    if not rows: continue
    v = [r[0]["logloss"] for r in rows]
    summary["train"][m] = {"test_logloss": v, "lr": [r[0]["lr"] for r in rows],
                           "epochs": [r[0]["epochs"] for r in rows], "seconds": [r[1] for r in rows]}
    print("%-8s %s  mean %s  (lr %s, epochs %s, %s s)" % (m, " ".join("%.4f" % x for x in v), ms(v),
          summary["train"][m]["lr"], summary["train"][m]["epochs"], summary["train"][m]["seconds"]))
for ds in ["criteo", "avazu"]:
    rows = [load("search-%s-%s.json" % (ds, s)) for s in seeds]
    rows = [r for r in rows if r]
    if not rows: continue
    print("\n## recnas search --budget small, %s sample: test logloss per seed" % ds)
    win = [r[0]["best_logloss"] for r in rows]
    names = sorted(rows[0][0]["baselines"].keys())
    base = {n: [r[0]["baselines"][n] for r in rows] for n in names}
    print("%-10s %s  mean %s  (%s s)" % ("winner", " ".join("%.4f" % x for x in win), ms(win),
                                         " ".join(r[1] for r in rows)))
    for n in names: print("%-10s %s  mean %s" % (n, " ".join("%.4f" % x for x in base[n]), ms(base[n])))
    best = min(names, key=lambda n: st.mean(base[n]))
    d = [w - b for w, b in zip(win, base[best])]
    print("paired vs best baseline (%s): winner - baseline %s, mean %+.4f, winner better in %d/%d seeds"
          % (best, " ".join("%+.4f" % x for x in d), st.mean(d), sum(x < 0 for x in d), len(d)))
    summary["search"][ds] = {"winner": win, "baselines": base, "best_baseline": best,
                             "paired_diff": d, "seconds": [r[1] for r in rows]}
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=2)
PY
