#!/usr/bin/python3
"""Golden outputs for strand's model tests: an independent PyTorch implementation of
Caduceus (PH / PS) and the causal Mamba LM, tiny random checkpoints in the published
Hugging Face layout, and their fp32 outputs on real DNA.

Run from the repository root (Debian's python3-torch; no other packages):
    /usr/bin/python3 tests/golden/make_golden.py            # writes data/golden/
    /usr/bin/python3 tests/golden/make_golden.py --check    # recompute, compare with files

Everything is deterministic (fixed seeds, single formula per quantity). See README.md.
"""
import argparse
import gzip
import json
import math
import os
import struct
import subprocess
import sys
import time

import torch

torch.set_num_threads(1)   # tiny tensors: threading only adds overhead

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO, "data", "golden")

# ----------------------------------------------------------------------------------------
# Tokenizer (Caduceus / HyenaDNA character scheme, vocabulary padded to 16)
# ----------------------------------------------------------------------------------------
VOCAB = 12
VOCAB_PADDED = 16
UNK = 6
BASE_ID = {"A": 7, "C": 8, "G": 9, "T": 10, "N": 11}
COMPLEMENT = {i: i for i in range(VOCAB_PADDED)}
COMPLEMENT.update({7: 10, 10: 7, 8: 9, 9: 8})


def tokenize(seq):
    table = [UNK] * 256
    for ch, tok in BASE_ID.items():
        table[ord(ch)] = tok
    return torch.tensor([table[ord(c)] if ord(c) < 256 else UNK for c in seq.upper()],
                        dtype=torch.long)


def complement_ids():
    return torch.tensor([COMPLEMENT[i] for i in range(VOCAB_PADDED)], dtype=torch.long)


def revcomp_ids(ids):
    return complement_ids()[ids.flip(0)]


# ----------------------------------------------------------------------------------------
# safetensors writer / reader (own code, format: u64 LE header size, JSON header, raw data)
# ----------------------------------------------------------------------------------------
def _raw_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.float32:
        return "F32", t.numpy().astype("<f4").tobytes()
    if t.dtype == torch.bfloat16:
        return "BF16", t.view(torch.int16).numpy().astype("<i2").tobytes()
    if t.dtype == torch.int64:
        return "I64", t.numpy().astype("<i8").tobytes()
    raise ValueError(f"unsupported dtype {t.dtype}")


def write_safetensors(path, tensors, metadata=None):
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        dtype, raw = _raw_bytes(tensors[name])
        header[name] = {"dtype": dtype, "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    hjson = json.dumps(header, separators=(",", ":")).encode()
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)


def read_safetensors(path):
    import numpy as np
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        buf = data[base + a:base + b]
        if info["dtype"] == "F32":
            t = torch.from_numpy(np.frombuffer(buf, dtype="<f4").copy())
        elif info["dtype"] == "BF16":
            t = torch.from_numpy(np.frombuffer(buf, dtype="<i2").copy()).view(torch.bfloat16)
        elif info["dtype"] == "I64":
            t = torch.from_numpy(np.frombuffer(buf, dtype="<i8").copy())
        else:
            raise ValueError(info["dtype"])
        out[name] = t.reshape(info["shape"])
    return out


# ----------------------------------------------------------------------------------------
# Numerical building blocks (all act on one sequence: [L, channels])
# ----------------------------------------------------------------------------------------
def silu(x):
    return x * torch.sigmoid(x)


def softplus_thr20(v):
    # torch.nn.functional.softplus(beta=1, threshold=20): identity above 20
    return torch.where(v > 20.0, v, torch.log1p(torch.exp(v)))


def rms_norm(x, w, eps):
    # x / sqrt(mean(x^2) + eps) * w, per row
    inv = torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps)
    return x * inv * w


def flip_lc(x):
    """Reverse-complement a [L, C] activation: reverse rows and reverse channels."""
    return x.flip(0).flip(1)


def causal_depthwise_conv(x, w, b):
    """x [L, C]; w [C, 1, K] (PyTorch Conv1d layout); b [C].
    out[t, c] = b[c] + sum_k w[c, 0, k] * x[t - (K-1) + k, c]   (zero for negative index)."""
    L, C = x.shape
    K = w.shape[-1]
    xp = torch.cat([torch.zeros(K - 1, C, dtype=x.dtype), x], dim=0)
    out = b.unsqueeze(0).expand(L, C).clone()
    for k in range(K):
        out = out + w[:, 0, k].unsqueeze(0) * xp[k:k + L]
    return out


class ScanJob:
    """Per-channel selective-scan inputs of one Mamba mixer call on one sequence."""

    def __init__(self, delta, u, A, B, C):
        self.delta, self.u, self.A, self.B, self.C = delta, u, A, B, C


def selective_scan_many(jobs, chunk=2048):
    """Plain sequential recurrence, run for several independent scans at once.

    The recurrence is independent per (channel, state), so the channels of all jobs
    (same length L, same d_state) are concatenated and stepped together:
        h_t = exp(delta_t * A) * h_{t-1} + (delta_t * u_t) * B_t      h_{-1} = 0
        y_t = sum_n h_t[:, n] * C_t[n]
    Elementwise in the working dtype; only the time loop is in Python."""
    L = jobs[0].u.shape[0]
    N = jobs[0].A.shape[1]
    dtype = jobs[0].u.dtype
    widths = [j.u.shape[1] for j in jobs]
    delta = torch.cat([j.delta for j in jobs], dim=1)
    du = delta * torch.cat([j.u for j in jobs], dim=1)
    A = torch.cat([j.A for j in jobs], dim=0)
    Dt = A.shape[0]
    h = torch.zeros(Dt, N, dtype=dtype)
    y = torch.empty(L, Dt, dtype=dtype)
    for t0 in range(0, L, chunk):
        t1 = min(L, t0 + chunk)
        T = t1 - t0
        Bx = torch.cat([j.B[t0:t1].unsqueeze(1).expand(T, w, N) for j, w in zip(jobs, widths)], 1)
        Cx = torch.cat([j.C[t0:t1].unsqueeze(1).expand(T, w, N) for j, w in zip(jobs, widths)], 1)
        dA = torch.exp(delta[t0:t1].unsqueeze(2) * A.unsqueeze(0))
        dBu = du[t0:t1].unsqueeze(2) * Bx
        H = torch.empty(T, Dt, N, dtype=dtype)
        for a_t, b_t, h_out in zip(dA.unbind(0), dBu.unbind(0), H.unbind(0)):
            h = torch.addcmul(b_t, a_t, h, out=h_out)
        y[t0:t1] = (H * Cx).sum(dim=2)
    outs, c = [], 0
    for w in widths:
        outs.append(y[:, c:c + w])
        c += w
    return outs


class MambaParams:
    """One Mamba-1 mixer (mamba_simple.Mamba) in the working dtype."""

    def __init__(self, get, prefix, tied_from=None):
        g = lambda n: get(prefix + n)
        src = (lambda n: get(tied_from + n)) if tied_from else g
        self.in_w = src("in_proj.weight")
        self.out_w = src("out_proj.weight")
        self.conv_w = g("conv1d.weight")
        self.conv_b = g("conv1d.bias")
        self.x_w = g("x_proj.weight")
        self.dt_w = g("dt_proj.weight")
        self.dt_b = g("dt_proj.bias")
        self.A_log = g("A_log")
        self.D = g("D")
        self.d_inner = self.D.shape[0]
        self.d_state = self.A_log.shape[1]
        self.dt_rank = self.dt_w.shape[1]


def mixer_prepare(p, x):
    xz = x @ p.in_w.t()
    xi, z = xz[:, :p.d_inner], xz[:, p.d_inner:]
    u = silu(causal_depthwise_conv(xi, p.conv_w, p.conv_b))
    dbc = u @ p.x_w.t()
    dt = dbc[:, :p.dt_rank]
    B = dbc[:, p.dt_rank:p.dt_rank + p.d_state]
    C = dbc[:, p.dt_rank + p.d_state:]
    delta = softplus_thr20(dt @ p.dt_w.t() + p.dt_b)
    A = -torch.exp(p.A_log)
    return ScanJob(delta, u, A, B, C), z


def mixer_finish(p, job, z, y):
    y = (y + job.u * p.D) * silu(z)
    return y @ p.out_w.t()


def run_mixers(calls):
    """calls: list of (MambaParams, x [L, d]) sharing L and d_state -> list of outputs."""
    prepared = [mixer_prepare(p, x) for p, x in calls]
    ys = selective_scan_many([j for j, _ in prepared])
    return [mixer_finish(p, j, z, y) for (p, _), (j, z), y in zip(calls, prepared, ys)]


class BiMamba:
    """Caduceus BiMambaWrapper: fwd(x) (+ or *) flip_L(rev(flip_L(x)))."""

    def __init__(self, get, prefix, cfg):
        self.bidir = cfg["bidirectional"]
        self.strategy = cfg.get("bidirectional_strategy", "add")
        self.fwd = MambaParams(get, prefix + "mamba_fwd.")
        if self.bidir:
            tie = prefix + "mamba_fwd." if cfg["bidirectional_weight_tie"] else None
            self.rev = MambaParams(get, prefix + "mamba_rev.", tied_from=tie)

    def __call__(self, xs):
        calls = []
        for x in xs:
            calls.append((self.fwd, x))
            if self.bidir:
                calls.append((self.rev, x.flip(0)))
        outs = run_mixers(calls)
        if not self.bidir:
            return outs
        res = []
        for i in range(len(xs)):
            f, r = outs[2 * i], outs[2 * i + 1].flip(0)
            res.append(f + r if self.strategy == "add" else f * r)
        return res


# ----------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------
def caduceus_forward(cfg, get, ids, dtype, swap=None, bidirectional=None):
    """CaduceusForMaskedLM. Returns dict(embed, layer1, hidden, logits).
    swap / bidirectional: test overrides (None = what the config says)."""
    cfg = dict(cfg)
    if bidirectional is not None:
        cfg["bidirectional"] = bidirectional
    d = cfg["d_model"]
    eps = cfg["norm_epsilon"]
    rcps = cfg["rcps"]
    fused = cfg["fused_add_norm"]
    pre = "caduceus.backbone."
    comp = complement_ids()
    out = {}
    if rcps:
        E = get(pre + "embeddings.word_embeddings.embedding.weight")
        h = torch.cat([E[ids], flip_lc(E[comp[ids.flip(0)]])], dim=1)
    else:
        E = get(pre + "embeddings.word_embeddings.weight")
        h = E[ids]
    out["embed"] = h
    if swap is None:
        swap = rcps and fused
    res = None
    for i in range(cfg["n_layer"]):
        lp = f"{pre}layers.{i}."
        mixer = BiMamba(get, lp + ("mixer.submodule." if rcps else "mixer."), cfg)
        if not rcps:
            res = h if res is None else h + res
            h = mixer([rms_norm(res, get(lp + "norm.weight"), eps)])[0]
        else:
            w = get(lp + ("norm.weight" if fused else "norm.submodule.weight"))
            s = h if res is None else h + res          # residual stream [L, 2d]
            if swap:
                # RCPSMambaBlock, fused_add_norm=True: the forward strand is taken from the
                # SECOND half as stored (no flip), the rc strand from the FIRST half flipped.
                s_fwd, s_rc = s[:, d:], flip_lc(s[:, :d])
            else:
                # RCPSAddNormWrapper: first half forward, second half rc (flipped back).
                s_fwd, s_rc = s[:, :d], flip_lc(s[:, d:])
            res = torch.cat([s_fwd, flip_lc(s_rc)], dim=1)
            # RCPSWrapper(mixer): mixer(first half) | flip_lc(mixer(flip_lc(second half)))
            o_fwd, o_rc = mixer([rms_norm(s_fwd, w, eps), rms_norm(s_rc, w, eps)])
            h = torch.cat([o_fwd, flip_lc(o_rc)], dim=1)
        if i == 0:
            out["layer1"] = h + res
    s = h + res
    if not rcps:
        hid = rms_norm(s, get(pre + "norm_f.weight"), eps)
    else:
        w = get(pre + ("norm_f.weight" if fused else "norm_f.submodule.weight"))
        # final norm: no swap in either path; per half, rc half normed in its own orientation
        hid = torch.cat([rms_norm(s[:, :d], w, eps), flip_lc(rms_norm(flip_lc(s[:, d:]), w, eps))], 1)
    out["hidden"] = hid
    if rcps:
        logits = hid[:, :d] @ E.t() + hid[:, d:].flip(1) @ E[comp].t()
    else:
        logits = hid @ E.t()
    out["logits"] = logits
    return out


def mamba_lm_forward(cfg, get, ids, dtype):
    """transformers MambaForCausalLM (tied lm_head)."""
    eps = cfg["layer_norm_epsilon"]
    E = get("backbone.embeddings.weight")
    h = E[ids]
    out = {"embed": h}
    res = None
    for i in range(cfg["num_hidden_layers"]):
        lp = f"backbone.layers.{i}."
        p = MambaParams(get, lp + "mixer.")
        res = h if res is None else h + res
        h = run_mixers([(p, rms_norm(res, get(lp + "norm.weight"), eps))])[0]
        if i == 0:
            out["layer1"] = h + res
    hid = rms_norm(h + res, get("backbone.norm_f.weight"), eps)
    out["hidden"] = hid
    out["logits"] = hid @ E.t()
    return out


def forward(model, ids, dtype, **kw):
    cfg, tensors = model["config"], model["tensors"]
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = tensors[name].to(dtype)
        return cache[name]

    if cfg["model_type"] == "mamba":
        return mamba_lm_forward(cfg, get, ids, dtype)
    return caduceus_forward(cfg, get, ids, dtype, **kw)


# ----------------------------------------------------------------------------------------
# Random checkpoints in the published layout
# ----------------------------------------------------------------------------------------
def rand_mixer(gen, d_model, d_state, d_conv, expand, dt_rank, with_proj=True):
    di = expand * d_model

    def normal(*shape, std):
        return torch.randn(*shape, generator=gen) * std

    t = {}
    if with_proj:
        t["in_proj.weight"] = normal(2 * di, d_model, std=d_model ** -0.5)
    t["conv1d.weight"] = normal(di, 1, d_conv, std=d_conv ** -0.5)
    t["conv1d.bias"] = normal(di, std=0.2)
    t["x_proj.weight"] = normal(dt_rank + 2 * d_state, di, std=di ** -0.5)
    t["dt_proj.weight"] = normal(di, dt_rank, std=dt_rank ** -0.5)
    dt = torch.exp(torch.rand(di, generator=gen) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
    t["dt_proj.bias"] = dt + torch.log(-torch.expm1(-dt))             # inverse softplus
    base = torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(di, 1)
    t["A_log"] = base + normal(di, d_state, std=0.1)                    # S4D-real + jitter
    t["D"] = 1.0 + normal(di, std=0.1)
    if with_proj:
        t["out_proj.weight"] = normal(d_model, di, std=di ** -0.5)
    return t


def caduceus_config(d_model, n_layer, d_state, eps, fused, res_fp32, bidir, strategy, tie, rcps):
    return {
        "_name_or_path": "strand/golden",
        "architectures": ["CaduceusForMaskedLM"],
        "auto_map": {
            "AutoConfig": "configuration_caduceus.CaduceusConfig",
            "AutoModel": "modeling_caduceus.Caduceus",
            "AutoModelForMaskedLM": "modeling_caduceus.CaduceusForMaskedLM",
            "AutoModelForSequenceClassification": "modeling_caduceus.CaduceusForSequenceClassification",
        },
        "bidirectional": bidir,
        "bidirectional_strategy": strategy,
        "bidirectional_weight_tie": tie,
        "complement_map": {str(i): COMPLEMENT[i] for i in range(VOCAB)},
        "d_model": d_model,
        "fused_add_norm": fused,
        "initializer_cfg": {"initializer_range": 0.02, "n_residuals_per_layer": 1,
                            "rescale_prenorm_residual": True},
        "model_type": "caduceus",
        "n_layer": n_layer,
        "norm_epsilon": eps,
        "pad_vocab_size_multiple": 8,
        "rcps": rcps,
        "residual_in_fp32": res_fp32,
        "rms_norm": True,
        "ssm_cfg": {"bias": False, "conv_bias": True, "d_conv": 4, "d_state": d_state,
                    "dt_init": "random", "dt_init_floor": 0.0001, "dt_max": 0.1, "dt_min": 0.001,
                    "dt_rank": "auto", "dt_scale": 1.0, "expand": 2, "use_fast_path": True},
        "torch_dtype": "float32",
        "transformers_version": "4.38.1",
        "vocab_size": VOCAB,
    }


def make_caduceus(seed, **kw):
    cfg = caduceus_config(**kw)
    gen = torch.Generator().manual_seed(seed)
    d, n_layer, N = cfg["d_model"], cfg["n_layer"], cfg["ssm_cfg"]["d_state"]
    rank = math.ceil(d / 16)
    pre = "caduceus.backbone."
    rcps, fused = cfg["rcps"], cfg["fused_add_norm"]
    t = {}
    emb = pre + ("embeddings.word_embeddings.embedding.weight" if rcps
                 else "embeddings.word_embeddings.weight")
    t[emb] = torch.randn(VOCAB_PADDED, d, generator=gen)
    for i in range(n_layer):
        mp = f"{pre}layers.{i}.mixer." + ("submodule." if rcps else "")
        for k, v in rand_mixer(gen, d, N, 4, 2, rank).items():
            t[mp + "mamba_fwd." + k] = v
        if cfg["bidirectional"]:
            proj = not cfg["bidirectional_weight_tie"]
            for k, v in rand_mixer(gen, d, N, 4, 2, rank, with_proj=proj).items():
                t[mp + "mamba_rev." + k] = v
        norm = f"{pre}layers.{i}.norm." + ("submodule." if rcps and not fused else "")
        t[norm + "weight"] = 1.0 + 0.1 * torch.randn(d, generator=gen)
    nf = pre + "norm_f." + ("submodule." if rcps and not fused else "")
    t[nf + "weight"] = 1.0 + 0.1 * torch.randn(d, generator=gen)
    if rcps:  # registered buffers, present in published PS state dicts
        t[pre + "embeddings.word_embeddings.complement_map"] = complement_ids()
        t["lm_head.complement_map"] = complement_ids()
    return {"config": cfg, "tensors": t}


def make_mamba(seed, d_model, n_layer, d_state, eps):
    cfg = {
        "architectures": ["MambaForCausalLM"],
        "model_type": "mamba",
        "vocab_size": VOCAB,
        "pad_vocab_size_multiple": 8,
        "hidden_size": d_model,
        "intermediate_size": 2 * d_model,
        "state_size": d_state,
        "num_hidden_layers": n_layer,
        "layer_norm_epsilon": eps,
        "conv_kernel": 4,
        "expand": 2,
        "time_step_rank": "auto",
        "time_step_scale": 1.0,
        "time_step_min": 0.001,
        "time_step_max": 0.1,
        "time_step_init_scheme": "random",
        "time_step_floor": 0.0001,
        "use_bias": False,
        "use_conv_bias": True,
        "hidden_act": "silu",
        "initializer_range": 0.1,
        "residual_in_fp32": True,
        "rescale_prenorm_residual": False,
        "bos_token_id": 2,
        "eos_token_id": 1,
        "pad_token_id": 4,
        "tie_word_embeddings": True,
        "use_cache": True,
        "torch_dtype": "float32",
        "transformers_version": "4.39.0",
    }
    gen = torch.Generator().manual_seed(seed)
    rank = math.ceil(d_model / 16)
    t = {"backbone.embeddings.weight": torch.randn(VOCAB_PADDED, d_model, generator=gen)}
    for i in range(n_layer):
        for k, v in rand_mixer(gen, d_model, d_state, 4, 2, rank).items():
            t[f"backbone.layers.{i}.mixer." + k] = v
        t[f"backbone.layers.{i}.norm.weight"] = 1.0 + 0.1 * torch.randn(d_model, generator=gen)
    t["backbone.norm_f.weight"] = 1.0 + 0.1 * torch.randn(d_model, generator=gen)
    return {"config": cfg, "tensors": t}


def to_bf16_model(model):
    cfg = dict(model["config"])
    cfg["torch_dtype"] = "bfloat16"
    t = {k: (v.to(torch.bfloat16) if v.is_floating_point() else v)
         for k, v in model["tensors"].items()}
    return {"config": cfg, "tensors": t}


MODELS = {
    # name: (builder, which inputs)
    "ph": lambda: make_caduceus(101, d_model=16, n_layer=3, d_state=16, eps=1e-5, fused=True,
                                res_fp32=True, bidir=True, strategy="add", tie=True, rcps=False),
    "ps": lambda: make_caduceus(202, d_model=8, n_layer=3, d_state=8, eps=1e-5, fused=True,
                                res_fp32=False, bidir=True, strategy="add", tie=True, rcps=True),
    "ps_nofused": lambda: make_caduceus(303, d_model=8, n_layer=2, d_state=4, eps=1e-3,
                                        fused=False, res_fp32=True, bidir=True,
                                        strategy="ew_multiply", tie=True, rcps=True),
    "ph_untied": lambda: make_caduceus(404, d_model=8, n_layer=2, d_state=8, eps=1e-6, fused=True,
                                       res_fp32=True, bidir=True, strategy="add", tie=False,
                                       rcps=False),
    "ph_unidir": lambda: make_caduceus(505, d_model=24, n_layer=2, d_state=4, eps=1e-5,
                                       fused=False, res_fp32=False, bidir=False, strategy="add",
                                       tie=True, rcps=False),
    "mamba": lambda: make_mamba(606, d_model=16, n_layer=3, d_state=8, eps=1e-5),
}
FULL_SET = ["len_1", "len_7", "len_127", "len_128", "len_129", "len_4097", "len_100000"]
SHORT_SET = ["len_1", "len_7", "len_127", "len_128", "len_129", "len_100000"]
INPUT_SETS = {"ph": FULL_SET, "ps": FULL_SET, "ps_nofused": FULL_SET, "mamba": FULL_SET,
              "ph_untied": SHORT_SET, "ph_unidir": SHORT_SET, "ps_bf16": SHORT_SET}
SAMPLED = {"len_100000"}     # only sampled rows are stored
NO_LOGITS = {"len_4097"}     # hidden only, to keep data/golden under 2.5 MB


def sample_rows(L):
    rows = set(range(0, L, 997)) | set(range(min(64, L))) | set(range(max(0, L - 64), L))
    return torch.tensor(sorted(rows), dtype=torch.long)


# ----------------------------------------------------------------------------------------
# Inputs: real DNA (lower case, N runs, IUPAC)
# ----------------------------------------------------------------------------------------
KLEBS = os.path.join(REPO, "data", "fasta", "klebs_plasmids.fa")
LAMBDA = os.path.join(REPO, "data", "fasta", "lambda.fa")
CHR20 = "/work/shared/data/human/chr20_grch37/chr20.fa.gz"
LAMBDA_ID = "gi|9626243|ref|NC_001416.1|"

# (record, pieces: (file, region)) -- regions 1-based inclusive, concatenated in order
SHORT_INPUTS = [
    ("len_1", [(KLEBS, "CP003226.1:200-200")]),                          # soft-masked 'x'
    ("len_7", [(KLEBS, "CP003228.1:497-503")]),                          # R at the centre
    ("len_127", [(LAMBDA, LAMBDA_ID + ":1001-1127")]),                  # plain upper case
    ("len_128", [(KLEBS, "CP003226.1:337-464")]),                       # lower->upper at 400
    ("len_129", [(KLEBS, "CP003227.1:981-1040"), (KLEBS, "CP003226.1:371-410"),
                 (KLEBS, "CP003228.1:481-509")]),                        # N run, lower, R
    ("len_4097", [(KLEBS, "CP003226.1:1-3751"), (KLEBS, "CP003227.1:981-1200"),
                  (KLEBS, "CP003228.1:451-576")]),                       # all three features
]
CHR20_REGION = "20:50001-150000"   # starts with 10,000 N (chr20 1-60,000 is N)


def faidx(path, region):
    out = subprocess.run(["samtools", "faidx", path, region], check=True,
                         capture_output=True, text=True).stdout
    return "".join(out.split("\n")[1:]).strip()


def write_fasta(path, records):
    with open(path, "w") as f:
        for name, seq in records:
            f.write(f">{name}\n")
            for i in range(0, len(seq), 60):
                f.write(seq[i:i + 60] + "\n")


def build_inputs():
    d = os.path.join(OUT, "inputs")
    os.makedirs(d, exist_ok=True)
    recs = []
    for name, pieces in SHORT_INPUTS:
        seq = "".join(faidx(p, r) for p, r in pieces)
        assert len(seq) == int(name.split("_")[1]), (name, len(seq))
        recs.append((name, seq))
    write_fasta(os.path.join(d, "short.fa"), recs)
    subprocess.run(["samtools", "faidx", os.path.join(d, "short.fa")], check=True)
    seq = faidx(CHR20, CHR20_REGION)
    assert len(seq) == 100000
    # documented edits (the source is all upper case): soft-mask 20,001-30,000; IUPAC Y at 50,000
    seq = seq[:20000] + seq[20000:30000].lower() + seq[30000:49999] + "Y" + seq[50000:]
    plain = os.path.join(d, "chr20_100k.fa")
    write_fasta(plain, [("len_100000", seq)])
    subprocess.run(["bgzip", "-f", plain], check=True)
    subprocess.run(["samtools", "faidx", plain + ".gz"], check=True)
    return read_inputs()


def read_fasta(path):
    """{name: sequence} of a FASTA file, plain or gzip/bgzip."""
    recs = {}
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        name = None
        for line in f:
            line = line.strip()
            if line.startswith(">"):
                name = line[1:].split()[0]
                recs[name] = []
            elif line:
                recs[name].append(line)
    return {k: "".join(v) for k, v in recs.items()}


def read_inputs():
    d = os.path.join(OUT, "inputs")
    recs = {}
    for path in [os.path.join(d, "short.fa"), os.path.join(d, "chr20_100k.fa.gz")]:
        recs.update(read_fasta(path))
    return recs


def describe(seq):
    return (f"lower={sum(c.islower() for c in seq)} N={sum(c in 'Nn' for c in seq)} "
            f"other={sum(c.upper() not in 'ACGTN' for c in seq)}")


# ----------------------------------------------------------------------------------------
def rel(a, b):
    a, b = a.double(), b.double()
    return ((a - b).norm() / b.norm().clamp_min(1e-300)).item()


def self_test():
    """The building blocks against torch.nn.functional / a naive loop (small random data)."""
    import torch.nn.functional as F
    g = torch.Generator().manual_seed(7)
    x = torch.randn(37, 6, generator=g, dtype=torch.float64)
    w = torch.randn(6, 1, 4, generator=g, dtype=torch.float64)
    b = torch.randn(6, generator=g, dtype=torch.float64)
    ref = F.conv1d(x.t().unsqueeze(0), w, b, padding=3, groups=6)[0, :, :37].t()
    e_conv = rel(causal_depthwise_conv(x, w, b), ref)
    v = torch.linspace(-30, 30, 601, dtype=torch.float64)
    e_sp = rel(softplus_thr20(v), F.softplus(v, beta=1, threshold=20))
    L, Dn, N = 23, 5, 3
    delta = torch.rand(L, Dn, generator=g, dtype=torch.float64)
    u = torch.randn(L, Dn, generator=g, dtype=torch.float64)
    A = -torch.rand(Dn, N, generator=g, dtype=torch.float64) * 3
    B = torch.randn(L, N, generator=g, dtype=torch.float64)
    C = torch.randn(L, N, generator=g, dtype=torch.float64)
    y = selective_scan_many([ScanJob(delta, u, A, B, C), ScanJob(delta[:, :2], u[:, :2], A[:2], C, B)],
                            chunk=7)
    naive = torch.zeros(L, Dn, dtype=torch.float64)
    for dch in range(Dn):
        for n in range(N):
            h = 0.0
            for t in range(L):
                h = math.exp(delta[t, dch] * A[dch, n]) * h + delta[t, dch] * u[t, dch] * B[t, n]
                naive[t, dch] += h * C[t, n]
    naive2 = torch.zeros(L, 2, dtype=torch.float64)
    for dch in range(2):
        for n in range(N):
            h = 0.0
            for t in range(L):
                h = math.exp(delta[t, dch] * A[dch, n]) * h + delta[t, dch] * u[t, dch] * C[t, n]
                naive2[t, dch] += h * B[t, n]
    e_scan = max(rel(y[0], naive), rel(y[1], naive2))
    print(f"self-test vs torch / naive loops: conv1d {e_conv:.1e}  softplus {e_sp:.1e}  "
          f"scan {e_scan:.1e}")
    assert max(e_conv, e_sp, e_scan) < 1e-12


def save_model(name, model):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(model["config"], f, indent=2)   # insertion order: complement_map "0".."11"
        f.write("\n")
    write_safetensors(os.path.join(d, "model.safetensors"), model["tensors"], {"format": "pt"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true",
                    help="recompute and compare with data/golden instead of writing")
    ap.add_argument("--no-fp64", action="store_true", help="skip the float64 cross-check")
    args = ap.parse_args()
    t_start = time.time()

    inputs = read_inputs() if args.check else build_inputs()
    for k, s in inputs.items():
        print(f"input {k}: L={len(s)} {describe(s)}")
    ids = {k: tokenize(s) for k, s in inputs.items()}

    models = {k: f() for k, f in MODELS.items()}
    models["ps_bf16"] = to_bf16_model(models["ps"])
    if args.check:   # run from the checkpoints on disk (also checks they match the seeds)
        for name in models:
            disk = read_safetensors(os.path.join(OUT, name, "model.safetensors"))
            with open(os.path.join(OUT, name, "config.json")) as f:
                cfg = json.load(f)
            assert cfg == models[name]["config"] and set(disk) == set(models[name]["tensors"])
            assert all(torch.equal(disk[k], v) for k, v in models[name]["tensors"].items())
            models[name] = {"config": cfg, "tensors": disk}
        print("checkpoints on disk == regenerated from seeds")
    self_test()
    # the fp32 view of the bf16 checkpoint is what the golden is computed from
    f32view = lambda m: {"config": m["config"],
                         "tensors": {k: (v.float() if v.is_floating_point() else v)
                                     for k, v in m["tensors"].items()}}

    report = {}
    for name, model in models.items():
        run_model = f32view(model)
        outputs = {}
        t0 = time.time()
        for rec in INPUT_SETS[name]:
            x = ids[rec]
            ts = time.time()
            o32 = forward(run_model, x, torch.float32)
            t32 = time.time() - ts
            line = f"{name:11s} {rec:10s} fp32 {t32:7.2f}s"
            h = o32["hidden"]
            line += f"  |h| rms={h.pow(2).mean().sqrt().item():.3f} max={h.abs().max().item():.2f}"
            if not args.no_fp64:
                ts = time.time()
                o64 = forward(run_model, x, torch.float64)
                e = rel(o32["hidden"], o64["hidden"])
                el = rel(o32["logits"], o64["logits"])
                num = (o32["hidden"].double() - o64["hidden"]).norm(dim=1)
                worst_row = (num / o64["hidden"].norm(dim=1)).max().item()
                line += (f"  fp32-vs-fp64 hidden {e:.2e} (worst row {worst_row:.2e})"
                         f" logits {el:.2e} [{time.time() - ts:.1f}s]")
                report.setdefault("fp64", {})[(name, rec)] = e
            print(line, flush=True)
            if rec in SAMPLED:
                r = sample_rows(len(x))
                outputs[f"hidden.{rec}"] = o32["hidden"][r]
                outputs[f"logits.{rec}"] = o32["logits"][r]
                outputs[f"hidden_rows.{rec}"] = r
            else:
                outputs[f"hidden.{rec}"] = o32["hidden"]
                if rec not in NO_LOGITS:
                    outputs[f"logits.{rec}"] = o32["logits"]
            if rec == "len_129":
                outputs[f"layer1.{rec}"] = o32["layer1"]
                outputs[f"embed.{rec}"] = o32["embed"]
            if rec == "len_100000":
                half = len(x) // 2
                ts = time.time()
                a = forward(run_model, x[:half], torch.float32)["hidden"]
                b = forward(run_model, x[half:], torch.float32)["hidden"]
                e = rel(torch.cat([a, b]), o32["hidden"])
                print(f"{'':11s} (for contrast, NOT the golden) two independent 50k halves vs "
                      f"full length: rel err {e:.2e} [{time.time() - ts:.1f}s]", flush=True)
        report.setdefault("time", {})[name] = time.time() - t0
        path = os.path.join(OUT, name, "outputs.safetensors")
        if args.check:
            ref = read_safetensors(path)
            worst = max(rel(outputs[k].double(), ref[k].double()) if outputs[k].is_floating_point()
                        else float((outputs[k] != ref[k]).any()) for k in outputs)
            print(f"{name}: --check worst rel diff vs stored golden {worst:.2e}")
            assert set(ref) == set(outputs)
        else:
            save_model(name, model)
            meta = {"model": name, "generator": "tests/golden/make_golden.py",
                    "dtype": "fp32 forward, sequential fp32 scan, full-length records"}
            write_safetensors(path, outputs, meta)

    # ------------------------------------------------------------------ sanity checks
    print("\n== sanity checks (fp32)")
    for name in ["ps", "ps_nofused", "ps_bf16"]:
        m = f32view(models[name])
        d = m["config"]["d_model"]
        for rec in ["len_129", "len_4097"]:
            x = ids[rec]
            o = forward(m, x, torch.float32)
            orc = forward(m, revcomp_ids(x), torch.float32)
            # out(rc(x)) == rows reversed AND all 2d channels reversed (= halves swapped, each reversed)
            e_h = rel(orc["hidden"], flip_lc(o["hidden"]))
            # logits: logits(rc x)[l, v] == logits(x)[L-1-l, comp(v)]
            e_l = rel(orc["logits"], o["logits"].flip(0)[:, complement_ids()])
            e_1 = rel(orc["layer1"], flip_lc(o["layer1"]))
            print(f"PS equivariance {name:10s} {rec:9s}: hidden {e_h:.2e}  logits {e_l:.2e}  "
                  f"layer1 {e_1:.2e}   (halves: |fwd|/|rc| = "
                  f"{o['hidden'][:, :d].norm().item() / o['hidden'][:, d:].norm().item():.3f})")
    x = ids["len_129"]
    m = models["ps"]
    e = rel(forward(m, x, torch.float32, swap=False)["hidden"], forward(m, x, torch.float32)["hidden"])
    print(f"ps: golden (with the per-block half swap) vs the same weights without the swap: {e:.3f}")
    m = models["ps_nofused"]
    e = rel(forward(m, x, torch.float32, swap=True)["hidden"], forward(m, x, torch.float32)["hidden"])
    print(f"ps_nofused: golden (no swap) vs the same weights with a swap: {e:.3f}")
    for name in ["ph", "ps", "ps_nofused", "ph_untied"]:
        m = models[name]
        e = rel(forward(m, x, torch.float32, bidirectional=False)["hidden"],
                forward(m, x, torch.float32)["hidden"])
        print(f"{name}: golden vs forward-direction only (mamba_rev dropped): {e:.3f}")
    o = forward(models["ph"], x, torch.float32)
    orc = forward(models["ph"], revcomp_ids(x), torch.float32)
    print(f"ph: hidden(rc x) vs flip_L(hidden(x)) (PH is not RC-equivariant): "
          f"{rel(orc['hidden'], o['hidden'].flip(0)):.3f}")
    e = rel(f32view(models["ps_bf16"])["tensors"]["caduceus.backbone.layers.0.mixer.submodule.mamba_fwd.in_proj.weight"],
            models["ps"]["tensors"]["caduceus.backbone.layers.0.mixer.submodule.mamba_fwd.in_proj.weight"])
    print(f"ps_bf16: bf16 rounding of weights rel {e:.2e}; hidden ps_bf16 vs ps len_129: "
          f"{rel(forward(f32view(models['ps_bf16']), x, torch.float32)['hidden'], forward(models['ps'], x, torch.float32)['hidden']):.2e}")
    mm = models["mamba"]
    xa = ids["len_129"]
    full = forward(mm, xa, torch.float32)["hidden"]
    pref = forward(mm, xa[:64], torch.float32)["hidden"]
    print(f"mamba: causal (prefix 64 == first 64 rows of full): {rel(pref, full[:64]):.2e}")
    if "fp64" in report:
        worst = max(report["fp64"].items(), key=lambda kv: kv[1])
        print(f"fp32 vs fp64 hidden, worst record: {worst[0]} {worst[1]:.2e}")
    print("times per model (s):", {k: round(v, 1) for k, v in report["time"].items()})
    print(f"total {time.time() - t_start:.1f}s")


if __name__ == "__main__":
    main()
