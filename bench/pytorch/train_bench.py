"""Training throughput of the PyTorch twins (examples/s), with the fair-baseline settings of
docs/benchmarks.md: threads limited in torch AND OpenBLAS, passive OpenMP waiting, a malloc
that keeps freed activations, optional row-sparse embedding gradients.

Models: dlrm (canonical DLRM, models.DLRM), dlrm-nasrec (recnas's --model dlrm baseline, the
NASRec-Full-operator DLRM, from dlrm_nasrec_full.json), criteo-full / criteo-small (released
NASRec configs). Data: random ids over the capped tables (--data random), or the Criteo sample's
train split in file order (--data criteo, the rows `recnas train --data criteo:...` trains on),
repeated for --epochs.

Run through run.sh, which sets the environment before Python starts:
    bench/pytorch/run.sh --model dlrm --threads 1 --json
    bench/pytorch/run.sh --model criteo-full --data criteo --epochs 4 --sparse-grad --threads 1 --json
"""
import argparse
import ctypes
import ctypes.util
import json
import os
import statistics
import sys
import time

import torch

import models

REFERENCE_CONFIGS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "reference",
                                 "nasrec-configs")
CONFIGS = {
    "criteo-full": "ea_criteo_kaggle_xlarge_best_1shot.json",
    "criteo-small": "ea_criteo_kaggle_autoctr_best_1shot.json",
    # recnas's dlrm baseline, written in the reference's config format (lives next to this file)
    "dlrm-nasrec": os.path.join(os.path.dirname(os.path.abspath(__file__)), "dlrm_nasrec_full.json"),
}


def limit_threads(n):
    torch.set_num_threads(n)
    for name in ("openblas", "openblas64_", "openblasp-r0.3.21"):
        path = ctypes.util.find_library(name)
        if path:
            try:
                ctypes.CDLL(path).openblas_set_num_threads(n)
            except (OSError, AttributeError):
                pass


def build(model, sparse, cap, config_dir, sizes=None):
    sizes = sizes or models.table_sizes(cap)
    if model == "dlrm":
        return models.DLRM(sizes, sparse=sparse)
    return models.NASRecSubnet(os.path.join(config_dir, CONFIGS[model]), sizes, sparse=sparse)


def clip_(params, max_norm):
    """Global-norm clip that also sees sparse gradients (torch 1.13 ignores them)."""
    sq = torch.zeros(())
    for p in params:
        if p.grad is None:
            continue
        g = p.grad.coalesce()._values() if p.grad.is_sparse else p.grad
        sq += (g.float() ** 2).sum()
    norm = sq.sqrt()
    coef = max_norm / (norm + 1e-6)
    if coef < 1:
        for p in params:
            if p.grad is not None:
                if p.grad.is_sparse:
                    p.grad = p.grad.coalesce() * coef
                else:
                    p.grad.mul_(coef)
    return norm


def batches(a, sizes):
    """(dense, ids, labels) batches: random over the tables, or the Criteo sample's train split."""
    if a.data == "random":
        g = torch.Generator().manual_seed(1)
        n = a.warmup + a.steps
        dense = torch.rand(n, a.batch, 13, generator=g)
        ids = torch.stack([torch.randint(0, s, (n, a.batch), generator=g) for s in sizes], dim=2)
        labels = (torch.rand(n, a.batch, generator=g) < 0.25).float()
        return [(dense[i], ids[i], labels[i]) for i in range(n)]
    from accuracy import DATA, load  # noqa: PLC0415 (import cycle: accuracy imports us)
    data, _ = load(a.data_dir or DATA, a.cap)
    d, c, y = data["train"]
    per_epoch = len(y) // a.batch  # partial batch dropped, file order, as recnas train
    return [(d[sl], c[sl], y[sl]) for _ in range(a.epochs)
            for sl in (slice(b * a.batch, (b + 1) * a.batch) for b in range(per_epoch))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["dlrm", *CONFIGS], default="dlrm")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--data", choices=["random", "criteo"], default="random")
    ap.add_argument("--data-dir", default=None, help="folder of the Criteo sample (--data criteo)")
    ap.add_argument("--epochs", type=int, default=4, help="passes over the sample (--data criteo)")
    ap.add_argument("--steps", type=int, default=60, help="timed steps (--data random)")
    ap.add_argument("--warmup", type=int, default=10, help="untimed first steps")
    ap.add_argument("--window", type=int, default=10)
    ap.add_argument("--sparse-grad", action="store_true")
    ap.add_argument("--cap", type=int, default=500000, help="embedding rows per table (0.5M as the search)")
    ap.add_argument("--config-dir", default=REFERENCE_CONFIGS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    limit_threads(a.threads)
    torch.manual_seed(a.seed)
    if a.data == "criteo":
        a.warmup = min(a.warmup, max(1, (8000 // a.batch) * a.epochs // 4))
    net = build(a.model, a.sparse_grad, a.cap, a.config_dir)
    params = list(net.parameters())
    opt = torch.optim.Adagrad(params, lr=0.12, eps=1e-2)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    sizes = models.table_sizes(a.cap)
    data = batches(a, sizes)
    times = []
    for step, (dense, ids, labels) in enumerate(data):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(dense, ids), labels)
        loss.backward()
        clip_(params, 5.0)
        opt.step()
        if step >= a.warmup:
            times.append(time.perf_counter() - t0)
    windows = [sum(times[i:i + a.window]) for i in range(0, len(times) - a.window + 1, a.window)]
    rate = a.batch * a.window / statistics.median(windows) if windows else float("nan")
    overall = a.batch * len(times) / sum(times)
    nparams = sum(p.numel() for p in params)
    emb = sum(p.numel() for p in net.emb.parameters())
    out = {"model": a.model, "threads": a.threads, "batch": a.batch, "sparse_grad": a.sparse_grad,
           "data": a.data, "timed_steps": len(times), "examples_per_s": overall,
           "examples_per_s_median_window": rate, "params": nparams - emb, "embedding_params": emb,
           "torch": torch.__version__}
    if hasattr(net, "live_blocks"):
        out["live_blocks"] = net.live_blocks()
    print(f"{a.model} threads={a.threads} sparse_grad={a.sparse_grad} data={a.data}: {overall:.0f} "
          f"examples/s over {len(times)} steps after {a.warmup} untimed "
          f"(median window of {a.window} steps: {rate:.0f})", file=sys.stderr)
    if a.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
