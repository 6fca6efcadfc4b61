#!/usr/bin/env python3
"""Self-contained tests + benchmark for model/training/scan_triton.py.

    python3 model/training/test_scan_triton.py                  # GPU: kernels vs fp64 reference + timing
    python3 model/training/test_scan_triton.py --reference-only # CPU: self-check of the references
    python3 model/training/test_scan_triton.py --no-bench       # GPU tests without the timing
    python3 model/training/test_scan_triton.py --tune           # GPU: time a few kernel configs

Prints one PASS/FAIL table; exits non-zero on any failure.

Reference-only mode (no GPU / no Triton needed) checks:
  * the chunked PyTorch scan against the naive sequential loop (fp64, fwd + grads),
  * the kernels' softplus formula against torch.nn.functional.softplus,
  * a float64 PyTorch mirror of the kernels' algorithm (time segments, chunk
    states, recompute, hand-derived backward) against autograd of the naive loop.
"""

import argparse
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scan_triton as st  # noqa: E402

GRAD_NAMES = ("u", "delta", "A", "B", "C", "D", "z", "delta_bias")


# ----------------------------------------------------------------------------
# References
# ----------------------------------------------------------------------------
def ref_naive(u, delta, A, B, C, D=None, z=None, delta_bias=None):
    """Naive sequential loop over t, in the dtype of its inputs (differentiable)."""
    batch, L, Dm = u.shape
    v = delta + delta_bias if delta_bias is not None else delta
    dt = F.softplus(v)  # beta=1, threshold=20: v if v > 20 else log1p(exp(v))
    h = u.new_zeros(batch, Dm, A.shape[1])
    ys = []
    for t in range(L):
        dtt = dt[:, t]
        h = torch.exp(dtt[..., None] * A) * h + (dtt * u[:, t])[..., None] * B[:, t, None, :]
        ys.append((h * C[:, t, None, :]).sum(-1))
    y = torch.stack(ys, 1) if L > 0 else u.new_zeros(batch, 0, Dm)
    if D is not None:
        y = y + D * u
    if z is not None:
        y = y * F.silu(z)
    return y


def _chunk_fn(h, dt, u, B, C, A):
    """One chunk of the scan, vectorised over time (stable: only exp(<= 0))."""
    K = dt.shape[1]
    cs = torch.cumsum(dt[..., None] * A, dim=1)                  # (b, K, D, N)
    x = (dt * u)[..., None] * B[:, :, None, :]                    # (b, K, D, N)
    diff = cs[:, :, None] - cs[:, None, :]                        # (b, t, s, D, N)
    keep = torch.ones(K, K, dtype=torch.bool, device=dt.device).tril()
    decay = torch.exp(diff.masked_fill(~keep[None, :, :, None, None], float("-inf")))
    hs = torch.einsum("btsdn,bsdn->btdn", decay, x) + torch.exp(cs) * h[:, None]
    y = torch.einsum("btdn,btn->btd", hs, C)
    return y, hs[:, -1]


def ref_chunked(u, delta, A, B, C, D=None, z=None, delta_bias=None, chunk=16, checkpoint=False):
    """Chunked PyTorch scan: sequential over chunks, parallel inside a chunk."""
    batch, L, Dm = u.shape
    v = delta + delta_bias if delta_bias is not None else delta
    dt = F.softplus(v)
    h = u.new_zeros(batch, Dm, A.shape[1])
    ys = []
    for t0 in range(0, L, chunk):
        sl = slice(t0, min(t0 + chunk, L))
        args = (h, dt[:, sl], u[:, sl], B[:, sl], C[:, sl], A)
        if checkpoint:
            from torch.utils.checkpoint import checkpoint as ckpt
            yc, h = ckpt(_chunk_fn, *args, use_reentrant=False)
        else:
            yc, h = _chunk_fn(*args)
        ys.append(yc)
    y = torch.cat(ys, 1)
    if D is not None:
        y = y + D * u
    if z is not None:
        y = y * F.silu(z)
    return y


def softplus_kernel_formula(v):
    """Mirror of scan_triton._softplus (series log1p for small exp(v))."""
    x = torch.exp(torch.clamp(v, max=20.0))
    series = x * (1.0 - x * (0.5 - x * (1.0 / 3.0 - x * (0.25 - x * (0.2 - x / 6.0)))))
    sp = torch.where(x < 0.1, series, torch.log(1.0 + x))
    return torch.where(v > 20.0, v, sp)


def emulate_kernels(u, delta, A, B, C, D, z, bias, dy, chunk, seg_chunks, softplus=F.softplus):
    """Float64 PyTorch mirror of the Triton algorithm (no autograd).

    Same segment split, local scans + stitching, chunk-boundary states,
    per-chunk recompute and the hand-derived backward as the kernels.
    Returns y and a dict of gradients.
    """
    batch, L, Dm = u.shape
    N = A.shape[1]
    zeros = lambda *s: torch.zeros(*s, dtype=u.dtype)  # noqa: E731
    v = delta + bias if bias is not None else delta
    dt = softplus(v)
    sgrad = torch.where(v > 20, torch.ones_like(v), torch.sigmoid(v))
    n_chunks = -(-L // chunk)
    SEG = seg_chunks * chunk
    nseg = -(-n_chunks // seg_chunks)
    Dv = D if D is not None else zeros(Dm)
    silu_z = (z * torch.sigmoid(z)) if z is not None else None

    def seg_range(s):
        return s * SEG, min(s * SEG + SEG, L)

    def step(h, t):
        return torch.exp(dt[:, t, :, None] * A) * h + (dt[:, t] * u[:, t])[..., None] * B[:, t, None, :]

    # forward pass 1 + stitch
    hend, dts = zeros(batch, nseg, Dm, N), zeros(batch, nseg, Dm)
    for s in range(nseg - 1):
        h = zeros(batch, Dm, N)
        for t in range(*seg_range(s)):
            h = step(h, t)
            dts[:, s] += dt[:, t]
        hend[:, s] = h
    h0 = zeros(batch, nseg, Dm, N)
    for s in range(1, nseg):
        h0[:, s] = torch.exp(A * dts[:, s - 1, :, None]) * h0[:, s - 1] + hend[:, s - 1]
    # forward pass 3
    states = zeros(batch, n_chunks, Dm, N)
    y = zeros(batch, L, Dm)
    for s in range(nseg):
        h = h0[:, s].clone()
        for t in range(*seg_range(s)):
            if t % chunk == 0:
                states[:, t // chunk] = h
            h = step(h, t)
            yt = (h * C[:, t, None, :]).sum(-1) + Dv * u[:, t]
            y[:, t] = yt * silu_z[:, t] if z is not None else yt
    # backward pass 1 + stitch
    cloc, dts2 = zeros(batch, nseg, Dm, N), zeros(batch, nseg, Dm)
    for s in range(1, nseg):
        c = zeros(batch, Dm, N)
        for t in reversed(range(*seg_range(s))):
            dyr = dy[:, t] * silu_z[:, t] if z is not None else dy[:, t]
            c = (c + dyr[..., None] * C[:, t, None, :]) * torch.exp(dt[:, t, :, None] * A)
            dts2[:, s] += dt[:, t]
        cloc[:, s] = c
    carry = zeros(batch, nseg, Dm, N)
    for s in range(nseg - 2, -1, -1):
        carry[:, s] = cloc[:, s + 1] + torch.exp(A * dts2[:, s + 1, :, None]) * carry[:, s + 1]
    # backward pass 3
    du, ddelta, dz = zeros(batch, L, Dm), zeros(batch, L, Dm), zeros(batch, L, Dm)
    dB, dC = zeros(batch, L, N), zeros(batch, L, N)
    dA, dD, dbias = zeros(Dm, N), zeros(Dm), zeros(Dm)
    for s in range(nseg):
        ts0, ts1 = seg_range(s)
        c = carry[:, s].clone()
        for ch in reversed(range(ts0 // chunk, (ts1 - 1) // chunk + 1)):
            t0, t1 = ch * chunk, min(ch * chunk + chunk, ts1)
            hs = [states[:, ch].clone()]
            for t in range(t0, t1):
                hs.append(step(hs[-1], t))
            for t in reversed(range(t0, t1)):
                h_cur, h_prev = hs[t - t0 + 1], hs[t - t0]
                if z is not None:
                    sg = torch.sigmoid(z[:, t])
                    yraw = (h_cur * C[:, t, None, :]).sum(-1) + Dv * u[:, t]
                    dz[:, t] = dy[:, t] * yraw * sg * (1 + z[:, t] * (1 - sg))
                    dyr = dy[:, t] * z[:, t] * sg
                else:
                    dyr = dy[:, t]
                dD += (dyr * u[:, t]).sum(0)
                dC[:, t] = (dyr[..., None] * h_cur).sum(1)
                g = c + dyr[..., None] * C[:, t, None, :]
                c = g * torch.exp(dt[:, t, :, None] * A)
                gah = c * h_prev
                dA += (gah * dt[:, t, :, None]).sum(0)
                gB = (g * B[:, t, None, :]).sum(-1)
                ddt = (gah * A).sum(-1) + u[:, t] * gB
                du[:, t] = dt[:, t] * gB + dyr * Dv
                dB[:, t] = (g * (dt[:, t] * u[:, t])[..., None]).sum(1)
                dv = ddt * sgrad[:, t]
                ddelta[:, t] = dv
                dbias += dv.sum(0)
    grads = dict(u=du, delta=ddelta, A=dA, B=dB, C=dC,
                 D=dD if D is not None else None, z=dz if z is not None else None,
                 delta_bias=dbias if bias is not None else None)
    return y, grads


# ----------------------------------------------------------------------------
# Inputs / metrics
# ----------------------------------------------------------------------------
def make_inputs(batch, L, Dm, N, has_D, has_z, has_bias, dtype, realistic, seed, device):
    g = torch.Generator().manual_seed(seed)
    rn = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
    if realistic is True:
        A = -torch.arange(1, N + 1, dtype=torch.float64).repeat(Dm, 1)
        lo, hi = math.log(1e-3), math.log(1e-1)
        dt0 = torch.exp(lo + (hi - lo) * torch.rand(Dm, generator=g, dtype=torch.float64))
        bias = dt0 + torch.log(-torch.expm1(-dt0))  # inverse softplus
        delta = 0.25 * rn(batch, L, Dm)
        D = torch.ones(Dm, dtype=torch.float64)
    else:
        A = -torch.exp(0.5 * rn(Dm, N))
        bias = 0.5 * rn(Dm)
        # realistic == "big": |delta + bias| up to ~40, exercising softplus's v > 20 branch
        delta = rn(batch, L, Dm) * (12.0 if realistic == "big" else 1.0)
        D = rn(Dm)
    u = rn(batch, L, Dm)
    B, C, z = rn(batch, L, N), rn(batch, L, N), rn(batch, L, Dm)
    dy = rn(batch, L, Dm)
    q = lambda t: t.to(dtype).to(device)  # noqa: E731
    pdt = torch.float64 if dtype == torch.float64 else torch.float32
    f = lambda t: t.to(pdt).to(device)  # noqa: E731
    return dict(u=q(u), delta=q(delta), A=f(A), B=q(B), C=q(C),
                D=f(D) if has_D else None, z=q(z) if has_z else None,
                delta_bias=f(bias) if has_bias else None), q(dy)


def rel_err(x, ref):
    x = x.detach().to(torch.float64)
    ref = ref.detach().to(torch.float64)
    if ref.numel() == 0:
        return 0.0
    if not torch.isfinite(x).all():
        return float("inf")
    scale = ref.abs().max().item()
    return (x - ref).abs().max().item() / max(scale, 1e-30)


def run_with_grads(fn, inputs, dy, cast=None):
    """Run fn on leaf copies of inputs; return y and grads for every non-None input."""
    leaves = {}
    for k in GRAD_NAMES:
        t = inputs[k]
        if t is None:
            leaves[k] = None
        else:
            t = t.detach().clone() if cast is None else t.detach().to(cast)
            leaves[k] = t.requires_grad_(True)
    y = fn(**leaves)
    names = [k for k in GRAD_NAMES if leaves[k] is not None]
    gy = dy if cast is None else dy.to(cast)
    grads = torch.autograd.grad(y, [leaves[k] for k in names], gy)
    return y.detach(), dict(zip(names, grads))


# ----------------------------------------------------------------------------
# Result table
# ----------------------------------------------------------------------------
class Table:
    def __init__(self):
        self.rows = []

    def add(self, name, dtype, fwd, grad, worst, tol, ok, note=""):
        self.rows.append((name, dtype, fwd, grad, worst, tol, ok, note))

    def failed(self):
        return any(not r[6] for r in self.rows)

    def show(self):
        def f(x):
            return "-" if x is None else ("%.2e" % x)
        hdr = ("case", "dtype", "fwd_err", "grad_err", "worst", "tol(f/g)", "status", "note")
        w = [44, 8, 9, 9, 10, 17, 6, 0]
        line = " ".join(h.ljust(w[i]) for i, h in enumerate(hdr))
        print("\n" + line)
        print("-" * len(line))
        for (name, dt, fwd, grad, worst, tol, ok, note) in self.rows:
            cells = (name, dt, f(fwd), f(grad), worst or "-",
                     ("%.0e/%.0e" % tol) if tol else "-", "PASS" if ok else "FAIL", note)
            print(" ".join(str(c).ljust(w[i]) for i, c in enumerate(cells)))
        n_fail = sum(not r[6] for r in self.rows)
        print("-" * len(line))
        print("%d checks, %d failed -> %s" % (len(self.rows), n_fail, "FAIL" if n_fail else "PASS"))


def compare(table, name, dtype_name, y, grads, y_ref, grads_ref, tol_f, tol_g, note=""):
    fwd = rel_err(y, y_ref)
    worst_name, worst = None, 0.0
    per = {}
    for k, g_ref in grads_ref.items():
        g = grads.get(k)
        e = float("inf") if g is None else rel_err(g, g_ref)
        per[k] = e
        if e >= worst:
            worst, worst_name = e, k
    ok = fwd <= tol_f and worst <= tol_g
    if not ok:
        note = (note + " " if note else "") + " ".join("%s=%.1e" % kv for kv in per.items())
    table.add(name, dtype_name, fwd, worst, worst_name, (tol_f, tol_g), ok, note)
    return ok


# ----------------------------------------------------------------------------
# Reference-only checks (CPU)
# ----------------------------------------------------------------------------
def reference_checks(table):
    torch.set_default_dtype(torch.float64)
    f64 = torch.float64
    # 1. softplus formula
    v = torch.linspace(-40, 40, 200001, dtype=f64)
    sp_ref = F.softplus(v)
    e = ((softplus_kernel_formula(v) - sp_ref).abs() / sp_ref.abs().clamp_min(1e-300)).max().item()
    table.add("softplus kernel formula vs F.softplus", "f64", e, None, None, (3e-7, 0), e < 3e-7,
              "max relative error over v in [-40, 40]")
    # 2. chunked vs naive; 3. kernel emulation vs naive autograd
    cases = [  # batch, L, Dm, N, D, z, bias, realistic, chunk, seg_chunks
        (1, 1, 3, 4, True, True, True, False, 4, 1),
        (2, 7, 5, 3, False, False, False, False, 4, 1),
        (2, 13, 6, 4, True, False, True, False, 4, 2),
        (1, 37, 4, 5, True, True, False, False, 4, 3),
        (3, 40, 5, 4, False, True, True, True, 8, 2),
        (2, 33, 4, 16, True, True, True, False, 4, 2),
        (2, 21, 6, 4, True, True, True, "big", 4, 2),
    ]
    for i, (b, L, Dm, N, hD, hz, hb, real, chunk, segc) in enumerate(cases):
        inp, dy = make_inputs(b, L, Dm, N, hD, hz, hb, f64, real, 100 + i, "cpu")
        y_ref, g_ref = run_with_grads(ref_naive, inp, dy)
        tag = "b%d L%d D%d N%d %s%s%s%s" % (b, L, Dm, N, "D" if hD else "-", "z" if hz else "-",
                                          "b" if hb else "-", (" " + (real if isinstance(real, str) else "real")) if real else "")
        y_c, g_c = run_with_grads(lambda **kw: ref_chunked(**kw, chunk=chunk), inp, dy)
        compare(table, "chunked-ref vs naive  " + tag, "f64", y_c, g_c, y_ref, g_ref, 1e-10, 1e-10)
        with torch.no_grad():
            y_e, g_e = emulate_kernels(inp["u"], inp["delta"], inp["A"], inp["B"], inp["C"], inp["D"],
                                       inp["z"], inp["delta_bias"], dy, chunk, segc)
        g_e = {k: v for k, v in g_e.items() if v is not None}
        nseg = -(-(-(-L // chunk)) // segc)
        compare(table, "kernel-emul vs naive  %s c%d s%d" % (tag, chunk, nseg), "f64",
                y_e, g_e, y_ref, g_ref, 1e-10, 1e-10)
    # kernel emulation with the kernels' softplus formula (realistic magnitudes)
    inp, dy = make_inputs(2, 50, 6, 8, True, True, True, f64, True, 7, "cpu")
    y_ref, g_ref = run_with_grads(ref_naive, inp, dy)
    with torch.no_grad():
        y_e, g_e = emulate_kernels(inp["u"], inp["delta"], inp["A"], inp["B"], inp["C"], inp["D"],
                                   inp["z"], inp["delta_bias"], dy, 8, 2, softplus=softplus_kernel_formula)
    compare(table, "kernel-emul(series softplus) realistic", "f64",
            y_e, {k: v for k, v in g_e.items() if v is not None}, y_ref, g_ref, 1e-6, 1e-6)
    torch.set_default_dtype(torch.float32)


# ----------------------------------------------------------------------------
# GPU checks
# ----------------------------------------------------------------------------
GPU_CASES = [
    # name-free tuple: batch, L, Dm, N, D, z, bias, dtype, realistic, config-override
    (1, 1, 16, 4, True, True, True, "fp32", False, None),
    (2, 7, 96, 16, False, False, False, "fp32", False, None),
    (3, 64, 256, 16, True, False, True, "fp32", False, None),
    (2, 129, 96, 4, True, True, False, "fp32", False, None),
    (2, 129, 96, 4, True, True, False, "fp32", False, {"chunk": 16, "n_segments": 3}),
    (1, 1000, 512, 16, True, True, True, "fp32", False, None),
    (1, 1000, 512, 16, True, True, True, "fp32", False, {"n_segments": 1}),
    (4, 2048, 256, 16, True, True, True, "fp32", False, None),
    (2, 65, 48, 12, True, True, True, "fp32", False, {"chunk": 16}),
    (2, 300, 128, 16, True, True, True, "fp32", "big", {"chunk": 32, "n_segments": 4}),
    (1, 129, 96, 64, True, True, True, "fp32", False, None),
    (2, 2048, 512, 16, True, True, True, "fp32", True, None),
    (3, 7, 16, 4, False, True, False, "bf16", False, None),
    (2, 129, 256, 16, True, True, True, "bf16", False, None),
    (1, 2048, 512, 16, True, True, True, "bf16", False, None),
    (2, 2048, 512, 16, True, True, True, "bf16", True, None),
]
TOL = {"fp32": (2e-5, 1e-4), "bf16": (1e-2, 2e-2)}
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def gpu_checks(table):
    dev = torch.device("cuda")
    for i, (b, L, Dm, N, hD, hz, hb, dname, real, cfg) in enumerate(GPU_CASES):
        dtype = DTYPES[dname]
        inp, dy = make_inputs(b, L, Dm, N, hD, hz, hb, dtype, real, 1000 + i, dev)
        p = st._plan(b, L, Dm, N, cfg)
        tag = "b%d L%d D%d N%d %s%s%s%s" % (b, L, Dm, N, "D" if hD else "-", "z" if hz else "-",
                                          "b" if hb else "-", (" " + (real if isinstance(real, str) else "real")) if real else "")
        note = "seg=%d bd=%d ch=%d" % (p["n_seg"], p["block_d"], p["chunk"])
        try:
            y, g = run_with_grads(lambda **kw: st._selective_scan(**kw, config=cfg), inp, dy)
            torch.cuda.synchronize()
        except Exception as exc:  # report, keep going
            table.add(tag, dname, None, None, None, TOL[dname], False,
                      "%s: %s" % (type(exc).__name__, str(exc).splitlines()[0][:150]))
            continue
        ok_dtype = y.dtype == dtype and all(g[k].dtype == inp[k].dtype for k in g)
        y_ref, g_ref = run_with_grads(ref_naive, inp, dy, cast=torch.float64)
        compare(table, tag, dname, y, g, y_ref, g_ref, *TOL[dname],
                note=note + ("" if ok_dtype else " WRONG-DTYPE"))
        if not ok_dtype:
            table.rows[-1] = table.rows[-1][:6] + (False,) + table.rows[-1][7:]
    # the public entry point, no grad required (inference path)
    inp, _ = make_inputs(2, 100, 64, 16, True, True, True, torch.float32, False, 5, dev)
    with torch.no_grad():
        y = st.selective_scan_triton(**inp)
        y_ref = ref_naive(**{k: (v.double() if v is not None else None) for k, v in inp.items()})
    e = rel_err(y, y_ref)
    table.add("public API under no_grad", "fp32", e, None, None, TOL["fp32"], e <= TOL["fp32"][0])


def _time(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) * 1e3 / iters


def bench_inputs(dtype, b=16, L=2048, Dm=512, N=16):
    inp, dy = make_inputs(b, L, Dm, N, True, True, True, dtype, True, 42, torch.device("cuda"))
    leaves = {k: (v.detach().requires_grad_(True) if v is not None else None) for k, v in inp.items()}
    return leaves, dy


def fwd_bwd(fn, leaves, dy):
    def go():
        y = fn(**leaves)
        torch.autograd.grad(y, [v for v in leaves.values() if v is not None], dy)
    return go


def benchmark(table, b=16, L=2048, Dm=512, N=16):
    print("\nBenchmark: batch %d, L %d, Dinner %d, N %d, D+z+delta_bias, fwd+bwd" % (b, L, Dm, N))
    res = []
    for dname in ("fp32", "bf16"):
        leaves, dy = bench_inputs(DTYPES[dname], b, L, Dm, N)
        with torch.no_grad():
            t_f = _time(lambda: st.selective_scan_triton(**leaves), 3, 10)
        t_fb = _time(fwd_bwd(st.selective_scan_triton, leaves, dy), 3, 10)
        res.append(("triton %s" % dname, t_f, t_fb))
    leaves, dy = bench_inputs(torch.float32, b, L, Dm, N)
    t_chunk = _time(fwd_bwd(lambda **kw: ref_chunked(**kw, chunk=16, checkpoint=True), leaves, dy), 1, 2)
    res.append(("pytorch chunked(16)+ckpt fp32", None, t_chunk))
    t_naive = _time(fwd_bwd(ref_naive, leaves, dy), 1, 2)
    res.append(("pytorch naive loop fp32", None, t_naive))
    print("%-32s %12s %14s %14s" % ("impl", "fwd ms", "fwd+bwd ms", "speedup(naive)"))
    for name, tf, tfb in res:
        print("%-32s %12s %14.2f %14.1fx" % (name, "-" if tf is None else "%.2f" % tf, tfb, t_naive / tfb))
    print("speedup of triton fp32 vs chunked PyTorch: %.1fx" % (t_chunk / res[0][2]))
    print("\nother shapes (triton, bf16 inputs, D+z+delta_bias):")
    print("%-32s %12s %14s" % ("batch, L, Dinner, N", "fwd ms", "fwd+bwd ms"))
    for shp in ((64, 2048, 1024, 16), (16, 8192, 512, 16), (8, 2048, 512, 64), (16, 2048, 512, 4)):
        leaves2, dy2 = bench_inputs(torch.bfloat16, *shp)
        with torch.no_grad():
            tf = _time(lambda: st.selective_scan_triton(**leaves2), 2, 5)
        tfb = _time(fwd_bwd(st.selective_scan_triton, leaves2, dy2), 2, 5)
        print("%-32s %12.2f %14.2f" % (shp, tf, tfb))
    table.add("benchmark fwd+bwd triton fp32 %.2f ms" % res[0][2], "fp32", None, None, None, None, True,
              "naive %.0f ms (%.0fx), chunked %.0f ms (%.0fx)" % (
                  t_naive, t_naive / res[0][2], t_chunk, t_chunk / res[0][2]))


def tune(b=16, L=2048, Dm=512, N=16):
    leaves, dy = bench_inputs(torch.bfloat16, b, L, Dm, N)
    print("\nTune (bf16 inputs) batch %d L %d D %d N %d" % (b, L, Dm, N))
    print("%-70s %10s %12s" % ("config", "fwd ms", "fwd+bwd ms"))
    configs = []
    for bd in (16, 32, 64):
        for w in (1, 2):
            for tp, ch, msc in ((0, 64, 4), (1024, 64, 4), (4096, 64, 4), (4096, 32, 4), (8192, 64, 2)):
                configs.append(dict(block_d=bd, fwd_warps=w, bwd_warps=w, target_programs=tp,
                                    chunk=ch, min_seg_chunks=msc))
    for cfg in configs:
        fn = lambda **kw: st._selective_scan(**kw, config=cfg)  # noqa: E731
        try:
            with torch.no_grad():
                tf = _time(lambda: fn(**leaves), 2, 10)
            tfb = _time(fwd_bwd(fn, leaves, dy), 2, 10)
        except Exception as exc:
            print("%-70s failed: %s" % (cfg, str(exc).splitlines()[0][:80]))
            continue
        p = st._plan(b, L, Dm, N, cfg)
        print("%-100s %8.3f %10.3f  seg=%d" % (cfg, tf, tfb, p["n_seg"]))
        sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference-only", action="store_true", help="CPU self-check of the references only")
    ap.add_argument("--no-bench", action="store_true", help="skip the timing")
    ap.add_argument("--tune", action="store_true", help="time a grid of kernel configs and exit")
    args = ap.parse_args()
    torch.manual_seed(0)
    table = Table()
    t0 = time.time()
    if args.tune:
        tune()
        return 0
    reference_checks(table)
    if not args.reference_only:
        if not st.AVAILABLE:
            table.add("triton kernels", "-", None, None, None, None, False,
                      "scan_triton.AVAILABLE is False (triton=%s, cuda=%s); use --reference-only"
                      % (st.HAS_TRITON, torch.cuda.is_available()))
        else:
            print("device: %s, torch %s" % (torch.cuda.get_device_name(), torch.__version__))
            gpu_checks(table)
            if not args.no_bench:
                benchmark(table)
    table.show()
    print("total time %.1f s" % (time.time() - t0))
    return 1 if table.failed() else 0


if __name__ == "__main__":
    sys.exit(main())
