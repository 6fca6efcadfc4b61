#!/usr/bin/env python3
"""The reference that strand is benchmarked against: the published Caduceus-PS forward pass in
PyTorch, with mamba_ssm's CUDA selective-scan kernel where it has been built (see README.md).

An independent implementation that follows the published code's dataflow step by step:
kuleshov-group/caduceus caduceus/modeling_caduceus.py + caduceus/modeling_rcps.py (CaduceusMixerModel
with RCPSEmbedding, RCPSMambaBlock, RCPSWrapper(BiMambaWrapper), RCPSAddNormWrapper, the final
norm) and state-spaces/mamba mamba_ssm/modules/mamba_simple.py Mamba.forward without inference
cache and without causal_conv1d (F.conv1d), mamba_ssm/ops/selective_scan_interface.py
SelectiveScanFn.forward and csrc/selective_scan/selective_scan.cpp selective_scan_fwd.

    # correctness against strand's goldens (CPU here, or CUDA on the GPU machine)
    python3 tests/bench/reference/caduceus_reference.py --check data/golden/ps --scan torch
    # scan backends against each other / a float64 loop
    python3 tests/bench/reference/caduceus_reference.py --self-test
    # benchmark, random weights in the shape of caduceus-ps_seqlen-131k_d_model-256_n_layer-16
    python3 tests/bench/reference/caduceus_reference.py --bench --lengths 10k,131k,1M,10M \
        --precision fp32,bf16 --out ref.tsv
"""
import argparse
import contextlib
import ctypes
import gc
import gzip
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
DEFAULT_LIB = os.environ.get(
    "STRAND_MAMBA_SCAN_LIB", os.path.join(REPO, "build-reference", "mamba_scan", "libstrand_mamba_scan.so"))
GOLDEN_INPUTS = [os.path.join(REPO, "data", "golden", "inputs", "short.fa"),
                 os.path.join(REPO, "data", "golden", "inputs", "chr20_100k.fa.gz")]
OOM_ERRORS = (getattr(torch.cuda, "OutOfMemoryError", RuntimeError),)


# ==========================================================================================
# Selective scan, mamba_ssm's interface: u, delta, z [b, dim, L]; A [dim, N];
# B, C [b, N, L] or [b, 1, N, L] (input-dependent, one group); D, delta_bias [dim] (fp32).
# Returns out_z = (scan(u) + D * u) * silu(z) in u's dtype, [b, dim, L].
# ==========================================================================================
class MambaScan:
    """mamba_ssm's CUDA selective_scan_fwd kernel, built by build_mamba_scan.sh, via ctypes."""

    name = "mamba_ssm"
    device_type = "cuda"   # tests may replace the entry points and this

    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        self.lib.strand_mamba_scan_info.restype = ctypes.c_char_p
        self.info = self.lib.strand_mamba_scan_info().decode()
        I, P, S = ctypes.c_int, ctypes.c_void_p, ctypes.c_int64
        argtypes = ([I] * 6 + [P, S, S] * 2 + [P, S, S] + [P, S, S, S] * 2 + [P, P] + [P, S, S] * 3
                    + [P, I, P, ctypes.c_char_p, I])
        self.fns = {}
        for dtype, sym in [(torch.float32, "strand_mamba_scan_fwd_f32"),
                           (torch.bfloat16, "strand_mamba_scan_fwd_bf16")]:
            fn = getattr(self.lib, sym, None)
            if fn is not None:
                fn.argtypes = argtypes
                fn.restype = I
                self.fns[dtype] = fn
        self.input_dtypes = [str(d).replace("torch.", "") for d in self.fns]

    def probe(self, device):
        """Run the kernel on a small problem (2 chunks of 2048) against the torch scan; drop the
        bf16 entry point if it fails, raise if the fp32 one does."""
        g = torch.Generator().manual_seed(0)
        errors = []
        for dtype in list(self.fns):
            tol = 1e-4 if dtype == torch.float32 else 2e-2
            try:
                u, delta, A, B, C, D, z, db = random_scan_inputs(g, 1, 64, 16, 3000, device, dtype)
                got = self(u, delta, A, B, C, D, z=z, delta_bias=db, delta_softplus=True)
                torch.cuda.synchronize(device)
                e = rel_err(got.float(), TorchScan()(u, delta, A, B, C, D, z=z, delta_bias=db,
                                                      delta_softplus=True).float())
                if not e <= tol:
                    raise RuntimeError(f"differs from the torch scan by {e:.2e}")
                errors.append(f"{str(dtype)[6:]} {e:.1e}")
            except RuntimeError as ex:
                if dtype == torch.float32:
                    raise RuntimeError(f"mamba_ssm kernel probe failed: {ex}") from None
                print(f"warning: mamba_ssm {dtype} kernel unusable ({ex}); bf16 inputs cast to fp32")
                del self.fns[dtype]
        self.input_dtypes = [str(d).replace("torch.", "") for d in self.fns]
        return ", ".join(errors)

    def __call__(self, u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False):
        # SelectiveScanFn.forward
        if u.stride(-1) != 1:
            u = u.contiguous()
        if delta.stride(-1) != 1:
            delta = delta.contiguous()
        if D is not None:
            D = D.contiguous()
        if B.stride(-1) != 1:
            B = B.contiguous()
        if C.stride(-1) != 1:
            C = C.contiguous()
        if z is not None and z.stride(-1) != 1:
            z = z.contiguous()
        if B.dim() == 3:
            B = B.unsqueeze(1)   # "b dstate l -> b 1 dstate l"
        if C.dim() == 3:
            C = C.unsqueeze(1)
        out_dtype = u.dtype
        if u.dtype not in self.fns:   # e.g. bf16 inputs when only the fp32 kernel was built
            u, delta, B, C = u.float(), delta.float(), B.float(), C.float()
            z = z.float() if z is not None else None
        # selective_scan_fwd's checks (this binding: variable B and C, z present, real A)
        itype = u.dtype
        batch, dim, seqlen = u.shape
        dstate = A.shape[1]
        n_groups = B.shape[1]
        if z is None:
            raise ValueError("mamba_ssm scan binding: z is required")
        if A.dtype != torch.float32 or delta.dtype != itype or B.dtype != itype or C.dtype != itype \
                or z.dtype != itype:
            raise ValueError("mamba_ssm scan binding: dtypes")
        for t in (u, delta, A, B, C, z):
            if t.device != u.device or t.device.type != self.device_type:
                raise ValueError("mamba_ssm scan binding: tensors must be on one CUDA device")
        if tuple(delta.shape) != (batch, dim, seqlen) or tuple(A.shape) != (dim, dstate) \
                or tuple(B.shape) != (batch, n_groups, dstate, seqlen) or B.shape != C.shape \
                or tuple(z.shape) != (batch, dim, seqlen) or dstate > 256 or dim % n_groups:
            raise ValueError("mamba_ssm scan binding: shapes")
        for t in (u, delta, B, C, z):
            if t.stride(-1) != 1 and t.size(-1) != 1:
                raise ValueError("mamba_ssm scan binding: last dimension must be contiguous")
        for t in (D, delta_bias):
            if t is not None and (t.dtype != torch.float32 or tuple(t.shape) != (dim,) or t.device != u.device
                                  or (t.stride(-1) != 1 and dim != 1)):
                raise ValueError("mamba_ssm scan binding: D / delta_bias must be fp32 [dim] on the device")
        n_chunks = (seqlen + 2048 - 1) // 2048
        out = torch.empty_like(delta)
        out_z = torch.empty_like(z)
        x = torch.empty(batch, dim, n_chunks, dstate * 2, device=u.device, dtype=torch.float32)
        err = ctypes.create_string_buffer(1024)
        with torch.cuda.device(u.device) if u.is_cuda else contextlib.nullcontext():
            stream = torch.cuda.current_stream().cuda_stream if u.is_cuda else None
            rc = self.fns[itype](
                batch, dim, seqlen, dstate, n_groups, n_chunks,
                u.data_ptr(), u.stride(0), u.stride(1),
                delta.data_ptr(), delta.stride(0), delta.stride(1),
                A.data_ptr(), A.stride(0), A.stride(1),
                B.data_ptr(), B.stride(0), B.stride(1), B.stride(2),
                C.data_ptr(), C.stride(0), C.stride(1), C.stride(2),
                D.data_ptr() if D is not None else None,
                delta_bias.data_ptr() if delta_bias is not None else None,
                z.data_ptr(), z.stride(0), z.stride(1),
                out.data_ptr(), out.stride(0), out.stride(1),
                out_z.data_ptr(), out_z.stride(0), out_z.stride(1),
                x.data_ptr(), int(bool(delta_softplus)), stream, err, len(err))
        if rc != 0:
            raise RuntimeError("mamba_ssm selective_scan_fwd failed: " + err.value.decode(errors="replace"))
        return out_z.to(out_dtype)


class TorchScan:
    """Exact fp32 selective scan in plain PyTorch (any device), chunked to run fast on a GPU.

    Per mixer call, in blocks of at most `budget_bytes` of [chunks, dim, N] state:
      1. every chunk of T positions runs the recurrence from a zero state (a loop over its T
         positions, vectorised over all chunks) to get its end state;
      2. the state entering each chunk follows from those end states and each chunk's total
         decay exp(A * sum(delta)) (the same scan one level up, applied recursively);
      3. every chunk runs the recurrence again from its true entering state and emits
         y_t = h_t . C_t. That is the sequential recurrence itself, started from exact states.
    All arithmetic in fp32 whatever the input dtype; the result is cast to u's dtype, as the kernel
    stores it."""

    name = "torch"

    def __init__(self, chunk=0, budget_bytes=512 << 20):
        self.chunk = chunk
        self.budget = budget_bytes

    def __call__(self, u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False):
        with torch.autocast(device_type=u.device.type, enabled=False):   # fp32 throughout (bmm!)
            return self._call(u, delta, A, B, C, D, z, delta_bias, delta_softplus)

    def _call(self, u, delta, A, B, C, D, z, delta_bias, delta_softplus):
        if B.dim() == 4:
            assert B.shape[1] == 1 and C.shape[1] == 1, "one group only"
            B, C = B[:, 0], C[:, 0]
        batch, dim, seqlen = u.shape
        A = A.float()
        outs = []
        for b in range(batch):
            dl = delta[b].t().float()
            if delta_bias is not None:
                dl = dl + delta_bias.float()
            if delta_softplus:
                dl = F.softplus(dl)   # threshold 20: identity above, as the kernel
            dl = dl.contiguous()
            ub = u[b].t().float()
            y = self._scan(dl, (dl * ub), A, B[b].t().float().contiguous(), C[b].t().float().contiguous())
            if D is not None:
                y.add_(ub * D.float())
            if z is not None:
                y.mul_(F.silu(z[b].t().float()))
            outs.append(y.t().to(u.dtype))
        return torch.stack(outs).contiguous()

    def _chunk_len(self, L, dim, n):
        if self.chunk > 0:
            return self.chunk
        max_chunks = max(1, self.budget // (dim * n * 4))
        t = max(16, -(-L // max_chunks))
        return min(256, -(-t // 8) * 8)

    def _scan(self, delta, du, A, B, C):
        """delta, du [L, dim]; B, C [L, N]; zero initial state. Returns y [L, dim] (no D, no z)."""
        L, dim = delta.shape
        n = A.shape[1]
        T = self._chunk_len(L, dim, n)
        block = T * max(1, self.budget // (dim * n * 4))
        y = delta.new_empty(L, dim)
        h = delta.new_zeros(dim, n)
        for s0 in range(0, L, block):
            s1 = min(L, s0 + block)
            y[s0:s1], h = self._scan_block(delta[s0:s1], du[s0:s1], A, B[s0:s1], C[s0:s1], h, T)
        return y

    @staticmethod
    def _scan_block(delta, du, A, B, C, h0, T):
        M, dim = delta.shape
        n = A.shape[1]
        nc = -(-M // T)
        pad = nc * T - M
        if pad:   # delta = 0 and du = 0 leave the state as it is: the padding changes nothing
            delta, du, B, C = (F.pad(t, (0, 0, 0, pad)) for t in (delta, du, B, C))
        dl, dx, Bc, Cc = delta.view(nc, T, dim), du.view(nc, T, dim), B.view(nc, T, n), C.view(nc, T, n)
        dA = delta.new_empty(nc, dim, n)

        def step(h, t):   # h = exp(delta_t A) h + (delta_t u_t) B_t, for every chunk at once
            torch.mul(dl[:, t].unsqueeze(-1), A, out=dA)
            dA.exp_()
            h.mul_(dA).addcmul_(dx[:, t].unsqueeze(-1), Bc[:, t].unsqueeze(1))

        h = delta.new_zeros(nc, dim, n)
        for t in range(T):                                   # 1. chunk end states from zero
            step(h, t)
        h = TorchScan._entering_states(dl.sum(1), h, A, h0)   # 2. states entering the chunks
        y = delta.new_empty(T, nc, dim)
        for t in range(T):                                   # 3. the recurrence from them
            step(h, t)
            torch.bmm(h, Cc[:, t].unsqueeze(-1), out=y[t].unsqueeze(-1))
        return y.transpose(0, 1).reshape(nc * T, dim)[:M], h[-1].clone()

    @staticmethod
    def _entering_states(w, b, A, h0):
        """The state before each element c of h_c = exp(A * w_c) h_{c-1} + b_c (h_{-1} = h0).
        w [nc, dim], b [nc, dim, N] (overwritten). Returns [nc, dim, N]."""
        nc, dim, n = b.shape
        if nc <= 16:
            out = torch.empty_like(b)
            h = h0
            for c in range(nc):
                out[c] = h
                h = torch.exp(w[c].unsqueeze(-1) * A) * h + b[c]
            return out
        G_len = math.isqrt(nc - 1) + 1
        G = -(-nc // G_len)
        pad = G * G_len - nc
        if pad:
            w = F.pad(w, (0, 0, 0, pad))
            b = torch.cat([b, b.new_zeros(pad, dim, n)])
        wg, bg = w.view(G, G_len, dim), b.view(G, G_len, dim, n)
        for j in range(1, G_len):   # inclusive states within each group, from zero
            bg[:, j].addcmul_(torch.exp(wg[:, j].unsqueeze(-1) * A), bg[:, j - 1])
        carries = TorchScan._entering_states(wg.sum(1), bg[:, -1].clone(), A, h0)   # per group
        cum = wg.cumsum(1)
        out = torch.empty_like(bg)
        out[:, 0] = carries
        for j in range(1, G_len):
            torch.addcmul(bg[:, j - 1], torch.exp(cum[:, j - 1].unsqueeze(-1) * A), carries, out=out[:, j])
        return out.view(G * G_len, dim, n)[:nc]


def make_scan(kind, device, lib_path, torch_chunk=0):
    """--scan auto | mamba_ssm | torch -> scan callable."""
    if kind in ("auto", "mamba_ssm"):
        why = None
        if device.type != "cuda":
            why = "not on a CUDA device"
        elif not os.path.exists(lib_path):
            why = f"{lib_path} not found (stage_mamba_sources.sh + build_mamba_scan.sh)"
        else:
            try:
                scan = MambaScan(lib_path)
                probe = scan.probe(device)
                print(f"scan backend: mamba_ssm ({scan.info}; {lib_path}; inputs {scan.input_dtypes}; "
                      f"probe vs torch scan: {probe})", flush=True)
                return scan
            except (OSError, AttributeError) as e:
                why = f"cannot load {lib_path}: {e}"
            except (RuntimeError, ValueError) as e:
                why = str(e)
        if kind == "mamba_ssm":
            sys.exit(f"error: --scan mamba_ssm: {why}")
        print(f"scan backend: torch (mamba_ssm unavailable: {why})", flush=True)
    else:
        print("scan backend: torch", flush=True)
    return TorchScan(chunk=torch_chunk)


# ==========================================================================================
# The model: Caduceus-PS (rcps) in the published module structure, weights as a tensor dict
# ==========================================================================================
def rms_norm_fn(x, weight, residual=None, prenorm=False, residual_in_fp32=False, eps=1e-6):
    """mamba_ssm.ops.triton.layer_norm.rms_norm_fn (no bias, no dropout) in plain PyTorch:
    fp32 arithmetic, y in x's dtype, the residual in residual's dtype (or fp32 with
    residual_in_fp32), residual_out = x itself when nothing is added or converted."""
    residual_dtype = residual.dtype if residual is not None else (torch.float32 if residual_in_fp32 else None)
    r = x.float()
    if residual is not None:
        r = r + residual.float()
    y = (r * torch.rsqrt(r.square().mean(dim=-1, keepdim=True) + eps) * weight.float()).to(x.dtype)
    if not prenorm:
        return y
    if residual is None and (residual_dtype is None or residual_dtype == x.dtype):
        return y, x
    return y, r.to(residual_dtype if residual_dtype is not None else x.dtype)


def rc(x):
    """RCPSWrapper.rc: flip length (dim -2) and channels (dim -1)."""
    return torch.flip(x, dims=[-2, -1])


class Mamba:
    """mamba_simple.Mamba weights + forward (no inference cache, no causal_conv1d)."""

    def __init__(self, get, prefix, proj_prefix):
        self.in_w = get(proj_prefix + "in_proj.weight")
        self.in_b = get(proj_prefix + "in_proj.bias", optional=True)
        self.out_w = get(proj_prefix + "out_proj.weight")
        self.out_b = get(proj_prefix + "out_proj.bias", optional=True)
        self.conv_w = get(prefix + "conv1d.weight")           # [d_inner, 1, d_conv]
        self.conv_b = get(prefix + "conv1d.bias", optional=True)
        self.x_w = get(prefix + "x_proj.weight")              # [dt_rank + 2 N, d_inner]
        self.dt_w = get(prefix + "dt_proj.weight")            # [d_inner, dt_rank]
        self.dt_b = get(prefix + "dt_proj.bias")
        self.A_log = get(prefix + "A_log")                     # [d_inner, N]
        self.D = get(prefix + "D")
        self.d_inner, self.d_state = self.A_log.shape
        self.dt_rank = self.dt_w.shape[1]
        self.d_conv = self.conv_w.shape[-1]

    def forward(self, hidden_states, scan):
        batch, seqlen, dim = hidden_states.shape
        # "We do matmul and transpose BLH -> HBL at the same time"
        xz = self.in_w @ hidden_states.reshape(batch * seqlen, dim).t()            # [2 Di, b l]
        xz = xz.view(xz.shape[0], batch, seqlen).permute(1, 0, 2)                   # b d l
        if self.in_b is not None:
            xz = xz + self.in_b.to(dtype=xz.dtype).unsqueeze(-1)
        A = -torch.exp(self.A_log.float())
        x, z = xz.chunk(2, dim=1)
        x = F.silu(F.conv1d(x, self.conv_w, self.conv_b, padding=self.d_conv - 1,
                            groups=self.d_inner)[..., :seqlen])
        x_dbl = F.linear(x.transpose(1, 2).reshape(batch * seqlen, self.d_inner), self.x_w)   # (b l) d
        dt, B, C = torch.split(x_dbl, [self.dt_rank, self.d_state, self.d_state], dim=-1)
        dt = self.dt_w @ dt.t()
        dt = dt.view(self.d_inner, batch, seqlen).permute(1, 0, 2)                  # b d l
        B = B.reshape(batch, seqlen, self.d_state).permute(0, 2, 1).contiguous()   # b dstate l
        C = C.reshape(batch, seqlen, self.d_state).permute(0, 2, 1).contiguous()
        y = scan(x, dt, A, B, C, self.D.float(), z=z, delta_bias=self.dt_b.float(), delta_softplus=True)
        y = y.transpose(1, 2)                                                       # b l d
        return F.linear(y, self.out_w, self.out_b)


class BiMambaWrapper:
    def __init__(self, get, prefix, cfg):
        self.bidirectional = cfg["bidirectional"]
        self.strategy = cfg.get("bidirectional_strategy") or "add"
        self.mamba_fwd = Mamba(get, prefix + "mamba_fwd.", prefix + "mamba_fwd.")
        self.mamba_rev = None
        if self.bidirectional:
            tie = cfg.get("bidirectional_weight_tie", True)
            self.mamba_rev = Mamba(get, prefix + "mamba_rev.", prefix + ("mamba_fwd." if tie else "mamba_rev."))

    def forward(self, hidden_states, scan):
        out = self.mamba_fwd.forward(hidden_states, scan)
        if self.bidirectional:
            out_rev = self.mamba_rev.forward(hidden_states.flip(dims=(1,)), scan).flip(dims=(1,))
            if self.strategy == "add":
                out = out + out_rev
            elif self.strategy == "ew_multiply":
                out = out * out_rev
            else:
                raise NotImplementedError(self.strategy)
        return out


class CaduceusPS:
    """Caduceus(config).backbone for rcps=True (CaduceusMixerModel): last_hidden_state."""

    def __init__(self, cfg, tensors, device, dtype=torch.float32):
        if not cfg.get("rcps"):
            raise ValueError("this reference implements the RC-equivariant Caduceus-PS (rcps: true) only")
        if not cfg.get("rms_norm", True):
            raise ValueError("LayerNorm models are not supported (rms_norm: false)")
        self.cfg = cfg
        self.fused = cfg["fused_add_norm"]
        self.residual_in_fp32 = cfg.get("residual_in_fp32", False)
        self.eps = cfg.get("norm_epsilon", 1e-5)
        pre = "caduceus.backbone."

        def get(name, optional=False):
            if name not in tensors:
                if optional:
                    return None
                raise KeyError(f"tensor {name} missing from the checkpoint")
            t = tensors[name]
            return t.to(device=device, dtype=dtype if t.is_floating_point() else t.dtype)

        self.E = get(pre + "embeddings.word_embeddings.embedding.weight")
        self.d = self.E.shape[1]
        cm = pre + "embeddings.word_embeddings.complement_map"
        if cm in tensors:
            self.comp = get(cm).long()
        else:   # Caduceus.__init__ pads the map with the identity up to the padded vocabulary
            m = {int(k): int(v) for k, v in cfg["complement_map"].items()}
            self.comp = torch.tensor([m.get(i, i) for i in range(self.E.shape[0])], device=device)
        self.layers = []
        for i in range(cfg["n_layer"]):
            lp = f"{pre}layers.{i}."
            mixer = BiMambaWrapper(get, lp + "mixer.submodule.", cfg)
            norm_w = get(lp + ("norm.weight" if self.fused else "norm.submodule.weight"))
            self.layers.append((mixer, norm_w))
        self.norm_f = get(pre + ("norm_f.weight" if self.fused else "norm_f.submodule.weight"))

    # RCPSEmbedding
    def embed(self, input_ids):
        fwd_out = F.embedding(input_ids, self.E)
        rc_ids = torch.gather(self.comp.unsqueeze(0).expand(input_ids.shape[0], -1), dim=1,
                              index=torch.flip(input_ids, dims=[-1]))
        rc_out = torch.flip(F.embedding(rc_ids, self.E), dims=[-2, -1])
        return torch.cat([fwd_out, rc_out], dim=-1)

    # RCPSAddNormWrapper(RMSNorm)
    def add_norm_rcps(self, w, x, residual, prenorm):
        norm = lambda v: rms_norm_fn(v.to(dtype=w.dtype), w, eps=self.eps)
        n = x.shape[-1]
        if residual is None:
            residual = x
            x = torch.cat([norm(x[..., :n // 2]), rc(norm(rc(x[..., n // 2:])))], dim=-1)
        else:
            residual_fwd = x[..., :n // 2] + residual[..., :n // 2]
            x_fwd = norm(residual_fwd)
            residual_rc = rc(x[..., n // 2:]) + rc(residual[..., n // 2:])
            x_rc = norm(residual_rc)
            residual = torch.cat([residual_fwd, rc(residual_rc)], dim=-1)
            x = torch.cat([x_fwd, rc(x_rc)], dim=-1)
        return (x, residual) if prenorm else x

    # RCPSMambaBlock
    def block(self, mixer, norm_w, hidden_states, residual, scan):
        n = hidden_states.shape[-1]
        if not self.fused:
            hidden_states, residual = self.add_norm_rcps(norm_w, hidden_states, residual, prenorm=True)
            if self.residual_in_fp32:
                residual = residual.to(torch.float32)
        else:   # the forward strand from the SECOND half, the rc strand from the first, flipped
            hidden_states_fwd, residual_fwd = rms_norm_fn(
                hidden_states[..., n // 2:], norm_w,
                residual=residual[..., n // 2:] if residual is not None else None,
                prenorm=True, residual_in_fp32=self.residual_in_fp32, eps=self.eps)
            hidden_states_rc, residual_rc = rms_norm_fn(
                hidden_states[..., :n // 2].flip(dims=[-2, -1]), norm_w,
                residual=residual[..., :n // 2].flip(dims=[-2, -1]) if residual is not None else None,
                prenorm=True, residual_in_fp32=self.residual_in_fp32, eps=self.eps)
            hidden_states = torch.cat([hidden_states_fwd, hidden_states_rc.flip(dims=[-2, -1])], dim=-1)
            residual = torch.cat([residual_fwd, residual_rc.flip(dims=[-2, -1])], dim=-1)
        # RCPSWrapper(BiMambaWrapper)
        fwd_out = mixer.forward(hidden_states[..., :n // 2], scan)
        rc_out = mixer.forward(rc(hidden_states[..., n // 2:]), scan)
        hidden_states = torch.cat([fwd_out, rc(rc_out)], dim=-1)
        return hidden_states, residual

    def forward(self, input_ids, scan):
        hidden_states = self.embed(input_ids)
        residual = None
        for mixer, norm_w in self.layers:
            hidden_states, residual = self.block(mixer, norm_w, hidden_states, residual, scan)
        n = hidden_states.shape[-1]
        if not self.fused:
            return self.add_norm_rcps(self.norm_f, hidden_states, residual, prenorm=False)
        hidden_states_fwd = rms_norm_fn(hidden_states[..., :n // 2], self.norm_f, residual=residual[..., :n // 2],
                                        prenorm=False, residual_in_fp32=self.residual_in_fp32, eps=self.eps)
        hidden_states_rc = rms_norm_fn(hidden_states[..., n // 2:].flip(dims=[-2, -1]), self.norm_f,
                                       residual=residual[..., n // 2:].flip(dims=[-2, -1]),
                                       prenorm=False, residual_in_fp32=self.residual_in_fp32, eps=self.eps)
        return torch.cat([hidden_states_fwd, hidden_states_rc.flip(dims=[-2, -1])], dim=-1)

    # RCPSLMHead with the embedding tied
    def logits(self, hidden):
        n = hidden.shape[-1]
        return (F.linear(hidden[..., :n // 2], self.E)
                + F.linear(torch.flip(hidden[..., n // 2:], dims=[-1]), self.E[self.comp, :]))


# ==========================================================================================
# Random weights in the shape of caduceus-ps_seqlen-131k_d_model-256_n_layer-16
# ==========================================================================================
def ps131k_config():
    comp = {str(i): i for i in range(12)}
    comp.update({"7": 10, "8": 9, "9": 8, "10": 7})
    return {
        "d_model": 256, "n_layer": 16, "vocab_size": 12, "pad_vocab_size_multiple": 8,
        "ssm_cfg": {"d_state": 16, "d_conv": 4, "expand": 2, "dt_rank": "auto", "dt_min": 0.001,
                    "dt_max": 0.1, "dt_init_floor": 1e-4, "dt_scale": 1.0, "conv_bias": True, "bias": False},
        "norm_epsilon": 1e-5, "rms_norm": True, "residual_in_fp32": False, "fused_add_norm": True,
        "bidirectional": True, "bidirectional_strategy": "add", "bidirectional_weight_tie": True,
        "rcps": True, "complement_map": comp,
        "initializer_cfg": {"initializer_range": 0.02, "rescale_prenorm_residual": True,
                            "n_residuals_per_layer": 1},
    }


def random_checkpoint(cfg, seed=0):
    """Initialised as the published modules are: nn.Linear / nn.Conv1d defaults (kaiming uniform,
    a = sqrt 5), Mamba's dt_proj (uniform +-dt_rank^-0.5, softplus(bias) log-uniform in
    [dt_min, dt_max]), S4D-real A_log = log(1..N), D = 1, RMSNorm weights 1, and Caduceus'
    _init_weights (embedding N(0, 0.02), out_proj rescaled by 1/sqrt(n_layer))."""
    g = torch.Generator().manual_seed(seed)
    s = cfg["ssm_cfg"]
    d, N, K = cfg["d_model"], s["d_state"], s["d_conv"]
    di = s["expand"] * d
    R = math.ceil(d / 16) if s["dt_rank"] == "auto" else s["dt_rank"]
    V = cfg["vocab_size"] + (-cfg["vocab_size"]) % cfg["pad_vocab_size_multiple"]
    init = cfg["initializer_cfg"]
    uni = lambda shape, bound: (torch.rand(*shape, generator=g) * 2 - 1) * bound
    pre = "caduceus.backbone."
    t = {pre + "embeddings.word_embeddings.embedding.weight":
         torch.randn(V, d, generator=g) * init["initializer_range"]}
    for i in range(cfg["n_layer"]):
        mp = f"{pre}layers.{i}.mixer.submodule."
        t[mp + "mamba_fwd.in_proj.weight"] = uni((2 * di, d), d ** -0.5)
        t[mp + "mamba_fwd.out_proj.weight"] = uni((d, di), di ** -0.5) / math.sqrt(
            init["n_residuals_per_layer"] * cfg["n_layer"])
        for direction in ("mamba_fwd.", "mamba_rev."):
            p = mp + direction
            t[p + "conv1d.weight"] = uni((di, 1, K), K ** -0.5)
            t[p + "conv1d.bias"] = uni((di,), K ** -0.5)
            t[p + "x_proj.weight"] = uni((R + 2 * N, di), di ** -0.5)
            t[p + "dt_proj.weight"] = uni((di, R), R ** -0.5 * s["dt_scale"])
            dt = torch.exp(torch.rand(di, generator=g) * (math.log(s["dt_max"]) - math.log(s["dt_min"]))
                           + math.log(s["dt_min"])).clamp(min=s["dt_init_floor"])
            t[p + "dt_proj.bias"] = dt + torch.log(-torch.expm1(-dt))
            t[p + "A_log"] = torch.log(torch.arange(1, N + 1, dtype=torch.float32)).repeat(di, 1)
            t[p + "D"] = torch.ones(di)
        t[f"{pre}layers.{i}.norm.weight"] = torch.ones(d)
    t[pre + "norm_f.weight"] = torch.ones(d)
    return t


# ==========================================================================================
# --check: against strand's goldens (tests/golden/README.md)
# ==========================================================================================
def read_fasta(path):
    opener = gzip.open if path.endswith(".gz") else open
    recs, name = {}, None
    with opener(path, "rt") as f:
        for line in f:
            line = line.strip()
            if line.startswith(">"):
                name = line[1:].split()[0]
                recs[name] = []
            elif line and name is not None:
                recs[name].append(line)
    return {k: "".join(v) for k, v in recs.items()}


def import_make_golden():
    threads = torch.get_num_threads()
    sys.path.insert(0, os.path.join(REPO, "tests", "golden"))
    try:
        import make_golden   # its safetensors reader and tokenizer
    finally:
        sys.path.pop(0)
        torch.set_num_threads(threads)   # make_golden pins one thread on import
    return make_golden


def rel_err(a, b):
    a, b = a.double().cpu(), b.double().cpu()
    return ((a - b).norm() / b.norm().clamp_min(1e-300)).item()


def run_check(args, device):
    mg = import_make_golden()
    model_dir = args.check
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    tensors = mg.read_safetensors(os.path.join(model_dir, "model.safetensors"))
    model = CaduceusPS(cfg, tensors, device)
    scan = make_scan(args.scan, device, args.mamba_lib, args.torch_chunk)
    expected = mg.read_safetensors(args.expected or os.path.join(model_dir, "outputs.safetensors"))
    seqs = {}
    for path in args.fasta or GOLDEN_INPUTS:
        seqs.update(read_fasta(path))
    records = sorted((k.split(".", 1)[1] for k in expected if k.startswith("hidden.")),
                     key=lambda r: len(seqs.get(r, "")))
    print(f"check {model_dir}: {len(records)} records, device {device}, d_model {model.d}, "
          f"n_layer {cfg['n_layer']}, fused_add_norm {model.fused}")
    worst = 0.0
    with torch.inference_mode():
        for rec in records:
            if rec not in seqs:
                sys.exit(f"error: record {rec} of the expected outputs is in none of the FASTA files")
            ids = mg.tokenize(seqs[rec]).unsqueeze(0).to(device)
            t0 = time.time()
            hidden = model.forward(ids, scan)[0]
            logits = model.logits(hidden)
            if device.type == "cuda":
                torch.cuda.synchronize()
            secs = time.time() - t0
            rows = expected.get(f"hidden_rows.{rec}")
            if rows is not None:
                hidden, logits = hidden[rows.to(device)], logits[rows.to(device)]
            e_h = rel_err(hidden, expected[f"hidden.{rec}"])
            line = f"  {rec:11s} L={ids.shape[1]:7d} hidden rel err {e_h:.2e}"
            worst = max(worst, e_h)
            if f"logits.{rec}" in expected:
                e_l = rel_err(logits, expected[f"logits.{rec}"])
                worst = max(worst, e_l)
                line += f"  logits {e_l:.2e}"
            print(line + (f"  (rows {len(rows)})" if rows is not None else "") + f"  [{secs:.2f} s]", flush=True)
    ok = worst <= args.tol
    print(f"check {'PASSED' if ok else 'FAILED'}: worst relative error {worst:.2e} (tolerance {args.tol:.0e}, "
          f"scan {scan.name})")
    return 0 if ok else 1


# ==========================================================================================
# --self-test: the scan backends against a float64 loop and each other
# ==========================================================================================
def naive_scan(u, delta, A, B, C, D, z, delta_bias):
    """Sequential float64 recurrence, mamba's selective_scan_ref semantics (delta_softplus)."""
    u, delta, A, B, C, D, z, db = (t.double().cpu() for t in (u, delta, A, B, C, D, z, delta_bias))
    dl = F.softplus(delta + db[:, None])
    batch, dim, L = u.shape
    out = torch.empty(batch, dim, L, dtype=torch.float64)
    for b in range(batch):
        h = torch.zeros(dim, A.shape[1], dtype=torch.float64)
        for t in range(L):
            h = torch.exp(dl[b, :, t, None] * A) * h + (dl[b, :, t] * u[b, :, t])[:, None] * B[b, None, :, t]
            out[b, :, t] = h @ C[b, :, t]
    return (out + D[:, None] * u) * F.silu(z)


def random_scan_inputs(g, batch, dim, N, L, device, dtype=torch.float32):
    r = lambda *s: torch.randn(*s, generator=g)
    u, delta, z = r(batch, dim, L), r(batch, dim, L) * 0.5 - 1.0, r(batch, dim, L)
    A = -torch.exp(torch.log(torch.arange(1, N + 1, dtype=torch.float32)).repeat(dim, 1) + 0.1 * r(dim, N))
    B, C, D, db = r(batch, N, L), r(batch, N, L), 1 + 0.1 * r(dim), r(dim) * 0.5 - 2.0
    mv = lambda t, dt: t.to(device=device, dtype=dt)
    return (mv(u, dtype), mv(delta, dtype), mv(A, torch.float32), mv(B, dtype), mv(C, dtype),
            mv(D, torch.float32), mv(z, dtype), mv(db, torch.float32))


def run_self_test(args, device):
    g = torch.Generator().manual_seed(1)
    ok = True
    print("torch scan vs float64 sequential loop (CPU):")
    state = 64 * 16 * 4   # bytes of one chunk's [dim, N] state below
    for (L, chunk, budget) in [(1, 0, 512 << 20), (7, 4, 512 << 20), (129, 0, 512 << 20), (300, 8, 8 * state),
                               (517, 0, 512 << 20), (1000, 16, 512 << 20), (5000, 0, 4 * state)]:
        ts = TorchScan(chunk=chunk, budget_bytes=budget)   # small budgets: several blocks
        inp = random_scan_inputs(g, 2, 64, 16, L, torch.device("cpu"))
        u, delta, A, B, C, D, z, db = inp
        got = ts(u, delta, A, B, C, D, z=z, delta_bias=db, delta_softplus=True)
        e = rel_err(got, naive_scan(u, delta, A, B, C, D, z, db))
        ok &= e < 1e-5
        blocks = -(-L // (ts._chunk_len(L, 64, 16) * max(1, budget // state)))
        print(f"  L={L:5d} chunk={ts._chunk_len(L, 64, 16):3d} blocks={blocks}: rel err {e:.2e}")
    if device.type == "cuda":
        ts = TorchScan(chunk=args.torch_chunk)
        lib = MambaScan(args.mamba_lib) if os.path.exists(args.mamba_lib) else None
        print("on " + torch.cuda.get_device_name(device) + ": torch scan (cuda) vs float64 loop"
              + (", mamba_ssm kernel vs torch scan" if lib else " (mamba_ssm library not built)")
              + "; dim 512, N 16; ms per call (second call)")

        def timed(fn, inp):
            u, delta, A, B, C, D, z, db = inp
            for _ in range(2):
                torch.cuda.synchronize(device)
                t0 = time.perf_counter()
                out = fn(u, delta, A, B, C, D, z=z, delta_bias=db, delta_softplus=True)
                torch.cuda.synchronize(device)
            return out, (time.perf_counter() - t0) * 1e3

        for L in [1, 7, 128, 129, 2048, 5000, 131000]:
            inp = random_scan_inputs(g, 1, 512, 16, L, device)
            t_out, t_ms = timed(ts, inp)
            line = f"  L={L:6d} torch {t_ms:8.2f} ms"
            if L <= 2048:
                e = rel_err(t_out, naive_scan(*inp))
                ok &= e < 1e-5
                line += f" (vs f64 {e:.1e})"
            if lib:
                m_out, m_ms = timed(lib, inp)
                e = rel_err(m_out, t_out)
                ok &= e < 1e-5
                line += f"  mamba_ssm fp32 {m_ms:7.2f} ms (vs torch {e:.1e})"
                if torch.bfloat16 in lib.fns:   # bf16 u, delta, B, C, z; fp32 A, D, delta_bias
                    bf = [t.to(torch.bfloat16) if t.dim() == 3 else t for t in inp]
                    ref = ts(*bf[:6], z=bf[6], delta_bias=bf[7], delta_softplus=True)
                    got, b_ms = timed(lib, bf)
                    e = rel_err(got.float(), ref.float())
                    ok &= e < 2e-2
                    line += f"  bf16 inputs {b_ms:7.2f} ms (vs torch {e:.1e})"
            print(line, flush=True)
    print("self-test " + ("PASSED" if ok else "FAILED"))
    return 0 if ok else 1


# ==========================================================================================
# --bench
# ==========================================================================================
def parse_length(text):
    text = text.strip()
    mult = {"k": 10 ** 3, "m": 10 ** 6, "g": 10 ** 9}.get(text[-1:].lower(), 1)
    value = float(text[:-1] if mult != 1 else text) * mult
    if value != int(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"bad length {text!r}")
    return int(value)


def run_bench(args, device):
    if device.type != "cuda":
        print("warning: benchmarking on the CPU (no memory statistics)")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    cfg = ps131k_config()
    scan = make_scan(args.scan, device, args.mamba_lib, args.torch_chunk)
    model = CaduceusPS(cfg, random_checkpoint(cfg, args.seed), device)
    lengths = [parse_length(x) for x in args.lengths.split(",") if x.strip()]
    precisions = [p.strip() for p in args.precision.split(",") if p.strip()]
    for p in precisions:
        if p not in ("fp32", "bf16"):
            sys.exit(f"error: --precision {p}: fp32 or bf16")
    print(f"torch {torch.__version__} (CUDA {torch.version.cuda}), device "
          + (torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"))
    print("model: Caduceus-PS, caduceus-ps_seqlen-131k_d_model-256_n_layer-16 shape, random weights "
          f"(seed {args.seed}); batch 1, random ACGT; TF32 off; {args.repeats} repeat(s), median; "
          + ("last_hidden_state copied to the host" if args.to_host else "last_hidden_state left on the device"))
    if "bf16" in precisions:
        fed = "bf16" if (scan.name == "torch" or torch.bfloat16 in getattr(scan, "fns", {})) else "fp32 (cast)"
        print(f"bf16: torch.autocast(bfloat16) for the GEMMs and conv1d; the scan is fed {fed} "
              "inputs as mamba_ssm under autocast is (bf16), computes in fp32, returns bf16")
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    gen = torch.Generator(device=device).manual_seed(args.seed + 1)
    rows = []
    header = "scan_backend\tprecision\tlength\tseconds\tnt_per_s\tpeak_gpu_mib"
    print(header, flush=True)

    def forward(ids, precision):
        if precision == "bf16":
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
                return model.forward(ids, scan)
        return model.forward(ids, scan)

    with torch.inference_mode():
        for precision in precisions:
            label = precision
            if precision == "bf16" and scan.name == "mamba_ssm" and torch.bfloat16 not in scan.fns:
                label = "bf16-scanfp32"
            ids = torch.randint(7, 11, (1, args.warmup_length), device=device, generator=gen)
            forward(ids, precision)   # warm-up: kernels loaded, cuBLAS / cuDNN initialised
            sync()
            del ids
            for L in lengths:
                times, oom, peak = [], False, float("nan")
                try:
                    ids = torch.randint(7, 11, (1, L), device=device, generator=gen)
                    if device.type == "cuda":
                        torch.cuda.reset_peak_memory_stats(device)
                    for _ in range(args.repeats):
                        sync()
                        t0 = time.perf_counter()
                        out = forward(ids, precision)
                        if args.to_host:
                            out = out.cpu()
                        sync()
                        times.append(time.perf_counter() - t0)
                        del out
                except OOM_ERRORS as e:
                    if device.type == "cuda" and not isinstance(e, torch.cuda.OutOfMemoryError) \
                            and "out of memory" not in str(e):
                        raise
                    oom = True
                out = ids = None
                if device.type == "cuda":
                    peak = torch.cuda.max_memory_allocated(device) / 2 ** 20
                if oom:
                    gc.collect()
                    if device.type == "cuda":
                        torch.cuda.empty_cache()
                    row = [scan.name, label, str(L), "OOM", "OOM", f"{peak:.0f}"]
                else:
                    secs = statistics.median(times)
                    row = [scan.name, label, str(L), f"{secs:.4f}", f"{L / secs:.0f}", f"{peak:.0f}"]
                rows.append(row)
                print("\t".join(row) + ("" if oom or len(times) < 2 else
                                        "\t# " + " ".join(f"{t:.4f}" for t in times)), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write(header + "\n")
            for row in rows:
                f.write("\t".join(row) + "\n")
        print(f"wrote {args.out}")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", metavar="MODEL_DIR",
                      help="compare with a golden folder (config.json, model.safetensors, outputs.safetensors)")
    mode.add_argument("--bench", action="store_true", help="time the forward pass on random weights and DNA")
    mode.add_argument("--self-test", action="store_true", help="scan backends vs a float64 loop and each other")
    ap.add_argument("--scan", choices=["auto", "mamba_ssm", "torch"], default="auto",
                    help="selective-scan backend (auto: mamba_ssm when its library is built, else torch)")
    ap.add_argument("--mamba-lib", default=DEFAULT_LIB, help=f"built scan library (default {DEFAULT_LIB})")
    ap.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    ap.add_argument("--torch-chunk", type=int, default=0, help="torch scan chunk length (0: automatic)")
    ap.add_argument("--fasta", nargs="+",
                    help="--check: FASTA files with the records (default: data/golden/inputs)")
    ap.add_argument("--expected", help="--check: expected outputs (default MODEL_DIR/outputs.safetensors)")
    ap.add_argument("--tol", type=float, default=1e-5, help="--check: max relative error per record")
    ap.add_argument("--lengths", default="10k,131k,1M,10M", help="--bench: comma-separated lengths (k = 1000)")
    ap.add_argument("--precision", default="fp32", help="--bench: fp32, bf16 or fp32,bf16")
    ap.add_argument("--repeats", type=int, default=1, help="--bench: timed forwards per length (median)")
    ap.add_argument("--warmup-length", type=parse_length, default=5000, help="--bench: warm-up length")
    ap.add_argument("--to-host", action="store_true",
                    help="--bench: include copying last_hidden_state to host memory in the time")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="--bench: also write the TSV here")
    args = ap.parse_args()
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if args.check:
        return run_check(args, device)
    if args.self_test:
        return run_self_test(args, device)
    return run_bench(args, device)


if __name__ == "__main__":
    sys.exit(main())
