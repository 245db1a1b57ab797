"""PyTorch twins of recnas models, for side-by-side benchmarks (not part of recnas).

- DLRM: bottom MLP 13-512-256-64-16, pairwise dot interaction of the 27 vectors (+ the dense
  vector), top MLP 367-512-256-1, embeddings of width 16.
- NASRec fixed-mode subnet built from a reference JSON config (nasrec/configs/*.json), with the
  reference's semantics (docs: ../../docs/supernet.md and the NASRec spec): no LayerNorm except
  the two inside Attention (gamma 0.17), projections skipped when widths match, DP with
  k = round(sqrt(2d)) tokens and the strict lower triangle, the dsi/FM aliasing at d = 128.
"""
import json
import math

import torch
import torch.nn as nn

E = 16
CRITEO_CARDINALITIES = [1461, 584, 10131227, 2202609, 306, 25, 12518, 634, 4, 93146, 5684, 8351593,
                        3195, 28, 14993, 5461307, 11, 5653, 2174, 5, 7046548, 19, 16, 286182, 106,
                        142573]


def table_sizes(cap):
    return [min(c, cap) for c in CRITEO_CARDINALITIES]


class Embeddings(nn.Module):
    def __init__(self, sizes, sparse):
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(n, E, sparse=sparse) for n in sizes)
        for t in self.tables:
            nn.init.xavier_normal_(t.weight)

    def forward(self, ids):  # ids [B, F] -> [B, F, E]
        return torch.stack([t(ids[:, f]) for f, t in enumerate(self.tables)], dim=1)


def mlp(widths, last_relu):
    layers = []
    for i in range(len(widths) - 1):
        lin = nn.Linear(widths[i], widths[i + 1])
        nn.init.xavier_uniform_(lin.weight)
        nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i < len(widths) - 2 or last_relu:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class DLRM(nn.Module):
    def __init__(self, sizes, sparse=False, num_dense=13):
        super().__init__()
        self.emb = Embeddings(sizes, sparse)
        self.bottom = mlp([num_dense, 512, 256, 64, E], last_relu=True)
        n = len(sizes) + 1
        self.register_buffer("li", torch.tril_indices(n, n, offset=-1)[0], persistent=False)
        self.register_buffer("lj", torch.tril_indices(n, n, offset=-1)[1], persistent=False)
        self.top = mlp([E + n * (n - 1) // 2, 512, 256, 1], last_relu=False)

    def forward(self, dense, ids):
        x = self.bottom(dense)
        t = torch.cat([x.unsqueeze(1), self.emb(ids)], dim=1)
        z = torch.bmm(t, t.transpose(1, 2))[:, self.li, self.lj]
        return self.top(torch.cat([x, z], dim=1)).squeeze(1)


def linear(i, o, bias=True):
    lin = nn.Linear(i, o, bias=bias)
    nn.init.xavier_uniform_(lin.weight)
    if bias:
        nn.init.zeros_(lin.bias)
    return lin


class TokenLinear(nn.Module):
    """[B, T, E] -> [B, s, E] with an s x T weight shared across the E channels."""

    def __init__(self, t, s):
        super().__init__()
        self.lin = linear(t, s)

    def forward(self, x):
        return self.lin(x.transpose(1, 2)).transpose(1, 2)


class Block(nn.Module):
    def __init__(self, space, macro, micro, dense_widths, sparse_tokens):
        super().__init__()
        dense_names = {"xlarge": ["fc", "dp", "sg", "sum"], "autoctr": ["fc", "dp"]}[space]
        sparse_names = {"xlarge": ["attention", "efc"], "autoctr": ["efc"]}[space]
        nd = len(dense_names)
        a, b = micro["active_nodes"]
        self.dense_op = dense_names[a]
        self.sparse_op = sparse_names[b - nd]
        self.d = micro["dense_in_dims"]
        self.s = micro["sparse_in_dims"]
        self.dsi = micro["dense_sparse_interact"]
        self.fm = micro["deep_fm"]
        self.dense_idx = sorted(macro["dense_idx"])
        self.sparse_idx = sorted(macro["sparse_idx"])
        self.left = macro["dense_left_idx"][0]
        self.right = macro["dense_right_idx"][0]
        w_in = sum(dense_widths[j] for j in self.dense_idx)
        t_in = sum(sparse_tokens[j] for j in self.sparse_idx)
        d, s = self.d, self.s
        if self.dense_op == "fc":
            self.fc = linear(w_in, d)
        elif self.dense_op == "dp":
            self.k = int(round(math.sqrt(2 * d)))
            self.dp_dense = linear(w_in, E) if w_in != E else None
            self.dp_tok = TokenLinear(t_in, self.k) if t_in != self.k else None
            pairs = self.k * (self.k + 1) // 2
            self.dp_out = linear(pairs, d) if pairs != d else None
            li = torch.tril_indices(self.k + 1, self.k + 1, offset=-1)
            self.register_buffer("li", li[0], persistent=False)
            self.register_buffer("lj", li[1], persistent=False)
        else:
            self.w = max(dense_widths[self.left], dense_widths[self.right])
            if self.dense_op == "sg":
                self.gate = linear(self.w, self.w)
            self.proj = linear(self.w, d) if self.w != d else None
        if self.sparse_op == "efc":
            self.efc = TokenLinear(t_in, s)
        else:
            self.tok = TokenLinear(t_in, s)
            self.mha = nn.MultiheadAttention(E, 8, batch_first=True)
            self.ln1 = nn.LayerNorm(E)
            self.ffn = nn.Sequential(linear(E, E), nn.ReLU(), linear(E, E))
            self.ln2 = nn.LayerNorm(E)
            nn.init.constant_(self.ln1.weight, 0.17)
            nn.init.constant_(self.ln2.weight, 0.17)
        self.dsi_proj = linear(d, 8 * E) if (self.dsi and d != 8 * E) else None
        self.fm_proj = linear(E, d) if (self.fm and d != E) else None
        self.out_tokens = s + (8 if self.dsi else 0)

    @staticmethod
    def pad(x, w):
        return x if x.shape[1] == w else nn.functional.pad(x, (0, w - x.shape[1]))

    def dense_sources(self):
        """Sources read by the dense op: (dense indices, sparse indices)."""
        if self.dense_op == "fc":
            return self.dense_idx, []
        if self.dense_op == "dp":
            return self.dense_idx, self.sparse_idx
        return [self.left, self.right], []

    def forward(self, dense, sparse, need_dense=True, need_sparse=True):
        run_dense = need_dense or (need_sparse and self.dsi)
        run_sparse = need_sparse or (need_dense and self.fm)
        if self.dense_op in ("fc", "dp"):
            x = torch.cat([dense[j] for j in self.dense_idx], dim=1) if run_dense else None
        if (run_dense and self.dense_op == "dp") or run_sparse:
            t = torch.cat([sparse[j] for j in self.sparse_idx], dim=1)
        y = sp = None
        if not run_dense:
            pass
        elif self.dense_op == "fc":
            y = torch.relu(self.fc(x))
        elif self.dense_op == "dp":
            xd = self.dp_dense(x) if self.dp_dense is not None else x
            tk = self.dp_tok(t) if self.dp_tok is not None else t
            st = torch.cat([xd.unsqueeze(1), tk], dim=1)
            z = torch.bmm(st, st.transpose(1, 2))[:, self.li, self.lj]
            y = self.dp_out(z) if self.dp_out is not None else z
        else:
            l = self.pad(dense[self.left], self.w)
            r = self.pad(dense[self.right], self.w)
            h = torch.sigmoid(self.gate(l)) * r if self.dense_op == "sg" else l + r
            y = self.proj(h) if self.proj is not None else h
        if not run_sparse:
            pass
        elif self.sparse_op == "efc":
            sp = torch.relu(self.efc(t))
        else:
            p = self.tok(t)
            a, _ = self.mha(p, p, p, need_weights=False)
            h = self.ln1(p + a)
            sp = self.ln2(h + self.ffn(h))
        if run_dense and self.fm:
            s1 = sp.sum(dim=1)
            f = s1 * s1 - (sp * sp).sum(dim=1)
            y_fm = y + (self.fm_proj(f) if self.fm_proj is not None else f)
        else:
            y_fm = y
        tok = None
        if need_sparse and self.dsi:
            # The reference adds FM to dense_out in place after taking the dsi tokens; at d = 128
            # the tokens are a view of dense_out, so they see the FM term (spec 1.6).
            tok = (self.dsi_proj(y) if self.dsi_proj is not None else y_fm).reshape(-1, 8, E)
        y = y_fm
        out_sparse = None
        if need_sparse:
            out_sparse = torch.cat([sp, tok], dim=1) if self.dsi else sp
        return (y if need_dense else None), out_sparse


class NASRecSubnet(nn.Module):
    """A released NASRec config in fixed mode. Dead blocks are pruned (they cannot reach the
    head), as recnas does; the reference executes them in eager mode."""

    def __init__(self, config_path, sizes, sparse=False, num_dense=13, prune_dead=True):
        super().__init__()
        cfg = json.load(open(config_path))
        space = cfg["config"]
        self.emb = Embeddings(sizes, sparse)
        widths, tokens = [num_dense], [len(sizes)]
        blocks = []
        for macro, micro in zip(cfg["macro"], cfg["micro"]):
            b = Block(space, macro, micro, widths, tokens)
            blocks.append(b)
            widths.append(b.d)
            tokens.append(b.out_tokens)
        self.blocks = nn.ModuleList(blocks)
        # Per-tensor liveness, as the reference's traced FLOPs: a block's dense output needs its
        # sparse op only if fm = 1, and its sparse output needs its dense op only if dsi = 1.
        n = len(blocks)
        need_d = [False] * (n + 1)
        need_s = [False] * (n + 1)
        need_d[n] = need_s[n] = True
        for i in range(n, 0, -1):
            b = blocks[i - 1]
            if not prune_dead:
                need_d[i] = need_s[i] = True
            run_dense = need_d[i] or (need_s[i] and b.dsi)
            run_sparse = need_s[i] or (need_d[i] and b.fm)
            if run_dense:
                dd, ds = b.dense_sources()
                for j in dd:
                    need_d[j] = True
                for j in ds:
                    need_s[j] = True
            if run_sparse:
                for j in b.sparse_idx:
                    need_s[j] = True
        self.need = list(zip(need_d[1:], need_s[1:]))
        self.head = linear(widths[-1] + E * tokens[-1], 1)

    def forward(self, dense, ids):
        ds, ss = [dense], [self.emb(ids)]
        for b, (nd, ns) in zip(self.blocks, self.need):
            if nd or ns:
                y, s = b(ds, ss, nd, ns)
            else:
                y, s = None, None
            ds.append(y)
            ss.append(s)
        return self.head(torch.cat([ds[-1], ss[-1].flatten(1)], dim=1)).squeeze(1)

    def live_blocks(self):
        return [i for i, (nd, ns) in enumerate(self.need) if nd or ns]


def recnas_init_(net):
    """Re-initialise `net` the way recnas does (include/recnas/supernet/parameters.hpp), instead
    of the reference's Xavier init: embedding rows U(-0.05, 0.05); every other weight and bias
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's nn.Linear default, biases included);
    LayerNorm gamma/beta stay constant (0.17 / 0 in Attention)."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Embedding):
                m.weight.uniform_(-0.05, 0.05)
            elif isinstance(m, nn.Linear):
                m.reset_parameters()  # kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in)), same bias bound
            elif isinstance(m, nn.MultiheadAttention):
                b = 1.0 / math.sqrt(m.embed_dim)
                m.in_proj_weight.uniform_(-b, b)
                m.in_proj_bias.uniform_(-b, b)
                m.out_proj.reset_parameters()
    return net
