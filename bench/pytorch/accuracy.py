"""Accuracy of the PyTorch twins on the Criteo sample (../shared/data), with the recipe of
docs/benchmarks.md: the AutoCTR 8:1:1 split file, Adagrad (eps 1e-2) with one LR, batch 256,
4 epochs in file order with the partial batch dropped, linear warm-up over 10% of the steps
from 1e-8 then cosine to 1e-8, global-norm clip 5; mean and std over seeds.

    bench/pytorch/run.sh accuracy.py --model dlrm --lr 0.1 --threads 2 --json
    bench/pytorch/run.sh accuracy.py --model dlrm-nasrec --lr 0.1 --init recnas --threads 1 --json
"""
import argparse
import json
import math
import os
import statistics
import sys

import torch

import models
from train_bench import CONFIGS, REFERENCE_CONFIGS, clip_, limit_threads

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "criteo", "autoint")


def load(data_dir, cap):
    sizes = models.table_sizes(cap)
    split = {}
    with open(os.path.join(data_dir, "split-autoctr.txt")) as f:
        for line in f:
            if line.startswith("#"):
                continue
            row, _fold, part, _label = line.rstrip("\n").split("\t")
            split[int(row)] = part
    parts = {k: ([], [], []) for k in ("train", "val", "test")}
    with open(os.path.join(data_dir, "train_examples.txt")) as f:
        for i, line in enumerate(f):
            fields = line.rstrip("\n").split("\t")
            label = float(fields[0])
            dense = []
            for v in fields[1:14]:
                try:
                    x = int(v)
                except ValueError:
                    x = 0
                dense.append(math.log(max(x, 0) + 1))
            ids = []
            for k, v in enumerate(fields[14:40]):
                ids.append(0 if v == "" else int(math.fmod(int(v, 16), sizes[k] - 1)) + 1)
            d, c, y = parts[split[i]]
            d.append(dense)
            c.append(ids)
            y.append(label)
    return {k: (torch.tensor(d), torch.tensor(c), torch.tensor(y)) for k, (d, c, y) in parts.items()}, sizes


def auc(scores, labels):
    order = torch.argsort(scores)
    s, y = scores[order], labels[order]
    ranks = torch.empty_like(s, dtype=torch.float64)
    i, n = 0, len(s)
    while i < n:
        j = i
        while j < n and s[j] == s[i]:
            j += 1
        ranks[i:j] = (i + 1 + j) / 2.0
        i = j
    pos = y.sum().item()
    neg = n - pos
    return ((ranks * y.double()).sum().item() - pos * (pos + 1) / 2) / (pos * neg)


def lr_at(step, total, peak, warm_frac=0.1, floor=1e-8):
    w = int(math.floor(warm_frac * total))
    if step < w:
        return floor + (peak - floor) * step / w
    t = min(1.0, max(0.0, (step - w) / max(1, total - w)))
    return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * t))


def run(model, seed, data, sizes, a):
    torch.manual_seed(seed)
    if model == "dlrm":
        net = models.DLRM(sizes, sparse=True)
    else:
        net = models.NASRecSubnet(os.path.join(a.config_dir, CONFIGS[model]), sizes, sparse=True)
    if a.init == "recnas":
        models.recnas_init_(net)
    params = list(net.parameters())
    opt = torch.optim.Adagrad(params, lr=a.lr, eps=1e-2)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    d, c, y = data["train"]
    steps_per_epoch = len(y) // a.batch
    total = steps_per_epoch * a.epochs
    step = 0
    for _ in range(a.epochs):
        for b in range(steps_per_epoch):
            sl = slice(b * a.batch, (b + 1) * a.batch)
            for gsets in opt.param_groups:
                gsets["lr"] = lr_at(step, total, a.lr)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(d[sl], c[sl]), y[sl])
            loss.backward()
            clip_(params, 5.0)
            opt.step()
            step += 1
    with torch.no_grad():
        td, tc, ty = data["test"]
        z = net(td, tc)
        return loss_fn(z, ty).item(), auc(z, ty)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["dlrm", *CONFIGS], default="dlrm")
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cap", type=int, default=500000)
    ap.add_argument("--data-dir", default=DATA)
    ap.add_argument("--config-dir", default=REFERENCE_CONFIGS)
    ap.add_argument("--init", choices=["reference", "recnas"], default="reference",
                    help="Xavier as the reference (default), or recnas's init (models.recnas_init_)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    limit_threads(a.threads)
    if not os.path.exists(os.path.join(a.data_dir, "train_examples.txt")):
        sys.exit(f"accuracy.py: the Criteo sample is not at {a.data_dir}")
    data, sizes = load(a.data_dir, a.cap)
    losses, aucs = [], []
    for seed in range(a.seeds):
        l, u = run(a.model, seed, data, sizes, a)
        print(f"{a.model} lr={a.lr} init={a.init} seed={seed}: test logloss {l:.4f} auc {u:.4f}", file=sys.stderr)
        losses.append(l)
        aucs.append(u)
    out = {"model": a.model, "lr": a.lr, "init": a.init, "seeds": a.seeds, "test_logloss": losses, "test_auc": aucs,
           "logloss_mean": statistics.mean(losses),
           "logloss_std": statistics.stdev(losses) if len(losses) > 1 else 0.0,
           "auc_mean": statistics.mean(aucs)}
    print(f"{a.model}: test logloss {out['logloss_mean']:.4f} ± {out['logloss_std']:.4f}, "
          f"AUC {out['auc_mean']:.4f}", file=sys.stderr)
    if a.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
