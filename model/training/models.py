"""The two model families strand runs, as trainable nn.Modules.

- MambaLM: transformers MambaForCausalLM semantics. Embedding -> n_layer x [residual +=
  Mamba(RMSNorm(residual))] -> RMSNorm (norm_f) -> tied LM head.
- CaduceusMLM: CaduceusForMaskedLM (kuleshov-group/caduceus), PH (rcps false) or PS (rcps true,
  reverse-complement equivariant), bidirectional (strategy add / ew_multiply, optional weight
  tie of the reverse mixer's in/out projections), fused_add_norm with the PS half swap.

Both compute exactly what strand computes: model/training/test_training.py compares them with the
golden outputs in data/golden (written by an independent implementation,
tests/golden/make_golden.py) to 1e-5. The semantics are described in tests/golden/README.md;
the comments here only say why the code is arranged as it is.

Precision: parameters are fp32; under CUDA bf16 autocast the projections run in bf16 while the
residual stream, the norms, the selective scan and the LM head stay fp32.

A model is described by a "spec" dict (the "model" section of a training config):
    arch "mamba" | "caduceus", d_model, n_layer, d_state 16, d_conv 4, expand 2,
    dt_rank "auto" | int, conv_bias true, bias false, norm_epsilon 1e-5,
    caduceus only: rcps, bidirectional, bidirectional_strategy, bidirectional_weight_tie,
    fused_add_norm, residual_in_fp32;
    initialisation: initializer_range 0.02, dt_min 1e-3, dt_max 0.1, dt_init_floor 1e-4.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .scan import selective_scan

# Tokenizer (Caduceus / HyenaDNA character scheme), vocabulary padded to 16
VOCAB = 12
VOCAB_PADDED = 16
CLS, SEP, BOS, MASK, PAD, RESERVED, UNK = 0, 1, 2, 3, 4, 5, 6
A_ID, C_ID, G_ID, T_ID, N_ID = 7, 8, 9, 10, 11
COMPLEMENT = list(range(VOCAB_PADDED))
COMPLEMENT[A_ID], COMPLEMENT[T_ID], COMPLEMENT[C_ID], COMPLEMENT[G_ID] = T_ID, A_ID, G_ID, C_ID

SPEC_DEFAULTS = {
    "d_state": 16, "d_conv": 4, "expand": 2, "dt_rank": "auto", "conv_bias": True, "bias": False,
    "norm_epsilon": 1e-5, "residual_in_fp32": True,
    "rcps": False, "bidirectional": True, "bidirectional_strategy": "add",
    "bidirectional_weight_tie": True, "fused_add_norm": True,
    "initializer_range": 0.02, "dt_min": 1e-3, "dt_max": 0.1, "dt_init_floor": 1e-4,
}


def full_spec(spec):
    s = dict(SPEC_DEFAULTS)
    s.update(spec)
    if s["arch"] not in ("mamba", "caduceus"):
        raise ValueError(f"model arch must be 'mamba' or 'caduceus', not {s['arch']!r}")
    if s["dt_rank"] == "auto":
        s["dt_rank"] = math.ceil(s["d_model"] / 16)
    return s


def complement_tensor(device=None):
    return torch.tensor(COMPLEMENT, dtype=torch.long, device=device)


def revcomp_ids(ids, comp=None):
    """Reverse complement of token ids [..., L]."""
    comp = complement_tensor(ids.device) if comp is None else comp
    return comp[ids.flip(-1)]


# ----------------------------------------------------------------------------------------
class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        # always fp32: the residual stream is fp32 and the statistics need it
        x = x.float()
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight.float()


class MambaMixer(nn.Module):
    """One Mamba-1 mixer. with_proj=False: the in/out projections belong to another mixer
    (Caduceus's weight-tied reverse direction) and are passed in by the caller."""

    def __init__(self, s, with_proj=True):
        super().__init__()
        d, di, N, r = s["d_model"], s["expand"] * s["d_model"], s["d_state"], s["dt_rank"]
        self.d_inner, self.d_state, self.dt_rank = di, N, r
        if with_proj:
            self.in_proj = nn.Linear(d, 2 * di, bias=s["bias"])
            self.out_proj = nn.Linear(di, d, bias=s["bias"])
        self.conv1d = nn.Conv1d(di, di, s["d_conv"], groups=di, padding=s["d_conv"] - 1,
                                bias=s["conv_bias"])
        self.x_proj = nn.Linear(di, r + 2 * N, bias=False)
        self.dt_proj = nn.Linear(r, di, bias=True)
        self.A_log = nn.Parameter(torch.zeros(di, N))
        self.D = nn.Parameter(torch.ones(di))

    @torch.no_grad()
    def reset_parameters(self, s, out_scale):
        """Mamba's initialisation. out_scale: factor on out_proj (1/sqrt(n_layer))."""
        for lin in (getattr(self, "in_proj", None), self.x_proj, getattr(self, "out_proj", None)):
            if lin is not None:
                lin.reset_parameters()                     # kaiming-uniform, as nn.Linear does
                if lin.bias is not None:
                    lin.bias.zero_()
        if hasattr(self, "out_proj"):
            self.out_proj.weight.mul_(out_scale)
        self.conv1d.reset_parameters()
        # dt_proj: weight U(+-dt_rank^-0.5); bias = softplus^-1(dt), dt log-uniform [dt_min, dt_max]
        std = self.dt_rank ** -0.5
        self.dt_proj.weight.uniform_(-std, std)
        dt = torch.exp(torch.rand(self.d_inner) * (math.log(s["dt_max"]) - math.log(s["dt_min"]))
                       + math.log(s["dt_min"])).clamp(min=s["dt_init_floor"])
        self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        # S4D-real: A = -(1..N) for every channel
        self.A_log.copy_(torch.log(torch.arange(1, self.d_state + 1, dtype=torch.float32))
                         .repeat(self.d_inner, 1))
        self.D.fill_(1.0)

    def ssm(self, xz):
        """Everything between the projections: xz [b, L, 2 d_inner] -> y [b, L, d_inner]."""
        L = xz.shape[1]
        x, z = xz.chunk(2, dim=-1)
        x = F.silu(self.conv1d(x.transpose(1, 2))[..., :L]).transpose(1, 2)   # causal conv
        dbc = self.x_proj(x)
        dt, B, C = torch.split(dbc, [self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.linear(dt, self.dt_proj.weight)        # the bias goes in with the softplus
        A = -torch.exp(self.A_log.float())
        return selective_scan(x.contiguous(), delta.contiguous(), A, B.contiguous(),
                              C.contiguous(), self.D.float(), z.contiguous(),
                              self.dt_proj.bias.float())

    def forward(self, x):
        return self.out_proj(self.ssm(self.in_proj(x)))


class BiMamba(nn.Module):
    """Caduceus BiMambaWrapper: fwd(x) (+ or *) reverse_L(rev(reverse_L(x)))."""

    def __init__(self, s):
        super().__init__()
        self.bidirectional = s["bidirectional"]
        self.strategy = s["bidirectional_strategy"]
        self.tie = s["bidirectional_weight_tie"]
        if self.strategy not in ("add", "ew_multiply"):
            raise ValueError(f"bidirectional_strategy {self.strategy!r}")
        self.fwd = MambaMixer(s)
        if self.bidirectional:
            self.rev = MambaMixer(s, with_proj=not self.tie)

    def forward(self, x):
        if not self.bidirectional:
            return self.fwd(x)
        if not self.tie:
            return self._combine(self.fwd(x), self.rev(x.flip(1)).flip(1))
        # tied: in_proj is per position, so in_proj(reverse(x)) = reverse(in_proj(x)): one GEMM
        xz = self.fwd.in_proj(x)
        yf = self.fwd.ssm(xz)
        yr = self.rev.ssm(xz.flip(1)).flip(1)
        out = self.fwd.out_proj
        if self.strategy == "add" and out.bias is None:
            return out(yf + yr)                         # out_proj is linear: one GEMM
        return self._combine(out(yf), out(yr))

    def _combine(self, f, r):
        return f + r if self.strategy == "add" else f * r


class Layer(nn.Module):
    def __init__(self, s, mixer):
        super().__init__()
        self.norm = RMSNorm(s["d_model"], s["norm_epsilon"])
        self.mixer = mixer


def _init_common(model, s):
    nn.init.normal_(model.embedding.weight, std=s["initializer_range"])
    for layer in model.layers:
        mixers = [layer.mixer] if isinstance(layer.mixer, MambaMixer) else \
            [m for m in (layer.mixer.fwd, getattr(layer.mixer, "rev", None)) if m is not None]
        for m in mixers:
            # prenorm residual rescaling: each block adds one out_proj output to the stream
            m.reset_parameters(s, 1.0 / math.sqrt(s["n_layer"]))


def _lm_head(hidden, weight):
    # fp32 whatever the autocast state: 16 outputs, cheap, and the loss is computed from it
    with torch.autocast(device_type=hidden.device.type, enabled=False):
        return F.linear(hidden.float(), weight.float())


class MambaLM(nn.Module):
    """Causal DNA LM (MambaForCausalLM). forward(ids [b, L]) -> logits [b, L, 16]."""

    def __init__(self, spec):
        super().__init__()
        s = self.spec = full_spec(spec)
        assert s["arch"] == "mamba"
        self.embedding = nn.Embedding(VOCAB_PADDED, s["d_model"])
        self.layers = nn.ModuleList(Layer(s, MambaMixer(s)) for _ in range(s["n_layer"]))
        self.norm_f = RMSNorm(s["d_model"], s["norm_epsilon"])
        _init_common(self, s)

    def backbone(self, ids, collect=None):
        h = self.embedding(ids)
        if collect is not None:
            collect["embed"] = h
        res = None
        for i, layer in enumerate(self.layers):
            res = h.float() if res is None else res + h.float()   # residual stream in fp32
            h = layer.mixer(layer.norm(res))
            if collect is not None and i == 0:
                collect["layer1"] = res + h.float()
        return self.norm_f(res + h.float())

    def forward(self, ids):
        return _lm_head(self.backbone(ids), self.embedding.weight)


class CaduceusMLM(nn.Module):
    """CaduceusForMaskedLM (PH or PS). forward(ids [b, L]) -> logits [b, L, 16].

    PS is computed in the "native" orientation: the stream is a stack [2, b, L, d] of the
    forward strand and the reverse-complement strand, each in its own reading direction and
    channel order, so both strands go through every mixer as one batch of 2b sequences. The
    reference stores the second half flipped ([L, 2d] = [f | flip_lc(r)]); hidden_states()
    returns that layout."""

    def __init__(self, spec):
        super().__init__()
        s = self.spec = full_spec(spec)
        assert s["arch"] == "caduceus"
        self.rcps = s["rcps"]
        # with fused_add_norm, RCPSMambaBlock reads the two halves of the residual stream the
        # other way round at every block (see tests/golden/README.md); reproduced here
        self.swap = s["rcps"] and s["fused_add_norm"]
        self.embedding = nn.Embedding(VOCAB_PADDED, s["d_model"])
        self.layers = nn.ModuleList(Layer(s, BiMamba(s)) for _ in range(s["n_layer"]))
        self.norm_f = RMSNorm(s["d_model"], s["norm_epsilon"])
        self.register_buffer("complement", complement_tensor(), persistent=False)
        _init_common(self, s)

    def _run_layers(self, h, collect):
        """h: [..., L, d] with leading dims (PS: 2, b) flattened for the mixers."""
        res = None
        lead = h.shape[:-2]
        for i, layer in enumerate(self.layers):
            s = h.float() if res is None else res + h.float()
            if self.swap:
                # new fwd strand = the rc half flipped back, new rc strand = the fwd half flipped
                s = s.flip(0).flip(-2).flip(-1)
            res = s
            x = layer.norm(s)
            h = layer.mixer(x.reshape((-1,) + x.shape[-2:])).reshape(lead + x.shape[-2:])
            if collect is not None and i == 0:
                collect["layer1"] = res + h.float()
        return self.norm_f(res + h.float())

    def backbone(self, ids, collect=None):
        """PH: hidden [b, L, d]; PS: hidden [2, b, L, d] (native orientation)."""
        E = self.embedding.weight
        if not self.rcps:
            h = F.embedding(ids, E)
        else:
            h = torch.stack([F.embedding(ids, E), F.embedding(revcomp_ids(ids, self.complement), E)])
        if collect is not None:
            collect["embed"] = h
        return self._run_layers(h, collect)

    def logits_from_hidden(self, hid):
        E = self.embedding.weight
        if not self.rcps:
            return _lm_head(hid, E)
        # RCPSLMHead: forward strand against E, rc strand (read back in forward direction)
        # against the complemented embedding
        return _lm_head(hid[0], E) + _lm_head(hid[1].flip(-2), E[self.complement])

    def forward(self, ids):
        return self.logits_from_hidden(self.backbone(ids))

    @staticmethod
    def stored_layout(x):
        """PS native [2, b, L, d] -> the reference's [b, L, 2d] = [f | flip_lc(r)]."""
        return torch.cat([x[0], x[1].flip(-2).flip(-1)], dim=-1)


def build_model(spec):
    s = full_spec(spec)
    return MambaLM(s) if s["arch"] == "mamba" else CaduceusMLM(s)


def hidden_states(model, ids):
    """embed, layer1, hidden, logits as the reference lays them out (golden comparisons)."""
    col = {}
    hid = model.backbone(ids, col)
    out = {"embed": col["embed"], "layer1": col["layer1"], "hidden": hid}
    if isinstance(model, CaduceusMLM):
        out["logits"] = model.logits_from_hidden(hid)
        if model.rcps:
            out = {k: (CaduceusMLM.stored_layout(v) if k != "logits" else v) for k, v in out.items()}
    else:
        out["logits"] = _lm_head(hid, model.embedding.weight)
    return out


# ----------------------------------------------------------------------------------------
# Published (Hugging Face) names and config.json
# ----------------------------------------------------------------------------------------
_MIXER_TENSORS = ["in_proj.weight", "in_proj.bias", "conv1d.weight", "conv1d.bias",
                  "x_proj.weight", "dt_proj.weight", "dt_proj.bias", "A_log", "D",
                  "out_proj.weight", "out_proj.bias"]


def published_name(spec, name):
    """Module parameter name -> checkpoint key of the published model."""
    s = full_spec(spec)
    if s["arch"] == "mamba":
        if name == "embedding.weight":
            return "backbone.embeddings.weight"
        return "backbone." + name
    root = "caduceus.backbone."
    wrapped_norm = s["rcps"] and not s["fused_add_norm"]   # RCPSAddNormWrapper(.submodule)
    if name == "embedding.weight":
        return root + ("embeddings.word_embeddings.embedding.weight" if s["rcps"]
                       else "embeddings.word_embeddings.weight")
    if name == "norm_f.weight":
        return root + ("norm_f.submodule.weight" if wrapped_norm else "norm_f.weight")
    parts = name.split(".")                                # layers.i.(norm|mixer).…
    assert parts[0] == "layers", name
    head = f"{root}layers.{parts[1]}."
    if parts[2] == "norm":
        return head + ("norm.submodule.weight" if wrapped_norm else "norm.weight")
    direction = {"fwd": "mamba_fwd", "rev": "mamba_rev"}[parts[3]]
    return head + ("mixer.submodule." if s["rcps"] else "mixer.") + direction + "." + ".".join(parts[4:])


def published_state_dict(model, dtype=torch.float32):
    """{checkpoint key: tensor} as save_pretrained writes it: tied tensors (reverse mixer's
    in/out_proj, LM head) are absent because they are not parameters here; PS adds the two
    complement_map int64 buffers of the reference's state dict."""
    out = {}
    for name, p in model.named_parameters():
        out[published_name(model.spec, name)] = p.detach().to("cpu", dtype).contiguous()
    if model.spec["arch"] == "caduceus" and model.spec["rcps"]:
        out["caduceus.backbone.embeddings.word_embeddings.complement_map"] = complement_tensor()
        out["lm_head.complement_map"] = complement_tensor()
    return out


def hf_config(spec, extra=None):
    """config.json of the exported model."""
    s = full_spec(spec)
    if s["arch"] == "mamba":
        cfg = {
            "architectures": ["MambaForCausalLM"],
            "model_type": "mamba",
            "vocab_size": VOCAB_PADDED,
            "hidden_size": s["d_model"],
            "intermediate_size": s["expand"] * s["d_model"],
            "state_size": s["d_state"],
            "num_hidden_layers": s["n_layer"],
            "layer_norm_epsilon": s["norm_epsilon"],
            "conv_kernel": s["d_conv"],
            "expand": s["expand"],
            "time_step_rank": s["dt_rank"],
            "time_step_scale": 1.0,
            "time_step_min": s["dt_min"],
            "time_step_max": s["dt_max"],
            "time_step_init_scheme": "random",
            "time_step_floor": s["dt_init_floor"],
            "use_bias": s["bias"],
            "use_conv_bias": s["conv_bias"],
            "hidden_act": "silu",
            "initializer_range": s["initializer_range"],
            "residual_in_fp32": True,
            "rescale_prenorm_residual": True,
            "bos_token_id": BOS,
            "eos_token_id": SEP,
            "pad_token_id": PAD,
            "tie_word_embeddings": True,
            "use_cache": True,
        }
    else:
        cfg = {
            "architectures": ["CaduceusForMaskedLM"],
            "model_type": "caduceus",
            "bidirectional": s["bidirectional"],
            "bidirectional_strategy": s["bidirectional_strategy"],
            "bidirectional_weight_tie": s["bidirectional_weight_tie"],
            "complement_map": {str(i): COMPLEMENT[i] for i in range(VOCAB)},
            "d_model": s["d_model"],
            "fused_add_norm": s["fused_add_norm"],
            "initializer_cfg": {"initializer_range": s["initializer_range"],
                                "n_residuals_per_layer": 1, "rescale_prenorm_residual": True},
            "n_layer": s["n_layer"],
            "norm_epsilon": s["norm_epsilon"],
            "pad_vocab_size_multiple": 8,
            "rcps": s["rcps"],
            "residual_in_fp32": s["residual_in_fp32"],
            "rms_norm": True,
            "ssm_cfg": {"bias": s["bias"], "conv_bias": s["conv_bias"], "d_conv": s["d_conv"],
                        "d_state": s["d_state"], "dt_init": "random",
                        "dt_init_floor": s["dt_init_floor"], "dt_max": s["dt_max"],
                        "dt_min": s["dt_min"], "dt_rank": s["dt_rank"], "dt_scale": 1.0,
                        "expand": s["expand"], "use_fast_path": True},
            "vocab_size": VOCAB,
        }
    cfg.update(extra or {})
    return cfg


def spec_from_hf(cfg):
    """config.json (as strand reads it) -> spec."""
    def rank(v, d):
        return math.ceil(d / 16) if v in (None, "auto") else int(v)

    if cfg.get("model_type") == "mamba":
        d = cfg["hidden_size"]
        return full_spec({
            "arch": "mamba", "d_model": d, "n_layer": cfg["num_hidden_layers"],
            "d_state": cfg.get("state_size", 16), "d_conv": cfg.get("conv_kernel", 4),
            "expand": cfg.get("expand", 2), "dt_rank": rank(cfg.get("time_step_rank"), d),
            "conv_bias": cfg.get("use_conv_bias", True), "bias": cfg.get("use_bias", False),
            "norm_epsilon": cfg.get("layer_norm_epsilon", 1e-5)})
    if cfg.get("model_type") == "caduceus":
        d = cfg["d_model"]
        ssm = cfg.get("ssm_cfg") or {}
        return full_spec({
            "arch": "caduceus", "d_model": d, "n_layer": cfg["n_layer"],
            "d_state": ssm.get("d_state", 16), "d_conv": ssm.get("d_conv", 4),
            "expand": ssm.get("expand", 2), "dt_rank": rank(ssm.get("dt_rank"), d),
            "conv_bias": ssm.get("conv_bias", True), "bias": ssm.get("bias", False),
            "norm_epsilon": cfg.get("norm_epsilon", 1e-5),
            "residual_in_fp32": cfg.get("residual_in_fp32", True),
            "rcps": cfg.get("rcps", False), "bidirectional": cfg.get("bidirectional", True),
            "bidirectional_strategy": cfg.get("bidirectional_strategy") or "add",
            "bidirectional_weight_tie": cfg.get("bidirectional_weight_tie", True),
            "fused_add_norm": cfg.get("fused_add_norm", True)})
    raise ValueError(f"unsupported model_type {cfg.get('model_type')!r}")


def model_from_published(cfg, tensors):
    """Build a module from config.json + checkpoint tensors (tied tensors absent)."""
    spec = spec_from_hf(cfg)
    model = build_model(spec)
    used = set()
    with torch.no_grad():
        for name, p in model.named_parameters():
            key = published_name(spec, name)
            if key not in tensors:
                raise KeyError(f"checkpoint lacks {key}")
            t = tensors[key]
            if tuple(t.shape) != tuple(p.shape):
                raise ValueError(f"{key}: shape {tuple(t.shape)}, expected {tuple(p.shape)}")
            p.copy_(t.float())
            used.add(key)
    for key in set(tensors) - used:
        if key.endswith("complement_map"):
            if not torch.equal(tensors[key].long(), complement_tensor()):
                raise ValueError(f"{key} is not the DNA complement map")
        else:
            raise KeyError(f"unexpected tensor {key} in checkpoint")
    return model


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())
