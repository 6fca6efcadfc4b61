"""Selective scan (Mamba-1) for training: exact, autograd-capable, pure PyTorch.

    dt_t = softplus(delta_t + delta_bias)          (threshold 20: identity above 20)
    h_t  = exp(dt_t * A) * h_{t-1} + (dt_t * u_t) * B_t        h_{-1} = 0,  h_t: [Dinner, N]
    y_t  = (h_t . C_t + D * u_t) * silu(z_t)

Shapes: u, delta, z, y [batch, L, Dinner]; B, C [batch, L, N]; A [Dinner, N] (already
negative); D, delta_bias [Dinner]. Computed in float32 whatever the input dtype (float64 stays
float64, for gradient checks); the result has u's dtype.

Why a hand-written backward: letting autograd record a Python loop over time keeps every
step's [batch, Dinner, N] state alive (several copies of batch*L*Dinner*N), which does not fit
for real window sizes. Here the forward keeps only its inputs and the [batch, L, Dinner]
output; the backward recomputes the states and runs the adjoint recurrence
    lam_t = dL/dh_t = g_t + exp(dt_{t+1} A) * lam_{t+1},    g_t = dL/dy_t (x) C_t
backwards in time, then reads every gradient off (h, lam).

Both recurrences are first-order linear, h_t = a_t h_{t-1} + x_t with 0 < a_t <= 1, and are
evaluated exactly (same operations as the sequential loop, in another order) by a chunked
scan: time is cut into chunks of T steps; (1) all chunks run their recurrence from a zero
state at once, T sequential steps, while the running products P_t = a_1...a_t are kept;
(2) the states entering each chunk are carried over the L/T chunks; (3) every position adds
P_t times its chunk's entering state, in parallel. T + L/T sequential steps instead of L, and
no division or log-space rescaling (products of factors in (0, 1] can only underflow, towards
the right limit 0). Memory is O(batch * L * Dinner * N) per call, bounded further by running
groups of channels (and of sequences) one after another: channels are independent.

Dispatch: on CUDA, model/training/scan_triton.py's selective_scan_triton (same signature and
semantics, a fused kernel) is used when it imports, unless STRAND_TRAIN_SCAN=torch.
STRAND_TRAIN_SCAN=triton makes a failing import an error instead of a fallback.
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

__all__ = ["selective_scan", "selective_scan_torch", "selective_scan_reference"]


# ----------------------------------------------------------------------------------------
# Layout helpers: [b, L, k] <-> chunked [T, b, nc, k] (time-in-chunk first, so that every
# sequential step reads and writes one contiguous slab)
# ----------------------------------------------------------------------------------------
def _chunk_len(L):
    # sequential steps T + L/T are fewest near T = sqrt(L); powers of two keep shapes regular
    if L <= 8:
        return max(L, 1)
    return int(min(256, max(4, 2 ** round(math.log2(math.sqrt(L))))))


def _to_chunks(t, T, nc):
    b, L, k = t.shape
    pad = nc * T - L
    if pad:
        # zero padding at the end: dt = 0 gives a = 1 and x = 0, so padded steps change nothing
        t = torch.cat([t, t.new_zeros(b, pad, k)], dim=1)
    return t.reshape(b, nc, T, k).permute(2, 0, 1, 3).contiguous()


def _from_chunks(t, L):
    T, b, nc, k = t.shape
    return t.permute(1, 2, 0, 3).reshape(b, nc * T, k)[:, :L]


def _scan_forward_inplace(a, x):
    """x <- h with h_t = a_t h_{t-1} + x_t (time over dims (nc, T) of [T, b, nc, D, N]).
    `a` is overwritten with within-chunk running products (forward pass does not need it)."""
    T, nc = x.shape[0], x.shape[2]
    for t in range(1, T):                               # (1) every chunk from a zero state
        x[t].addcmul_(a[t], x[t - 1])
    if nc == 1:
        return x
    P = a.cumprod_(0)                                    # P_t = a_0 ... a_t within the chunk
    S = x.new_zeros((nc,) + x[0, :, 0].shape)            # [nc, b, D, N] state entering chunk c
    for c in range(1, nc):                               # (2) carry over chunks
        torch.addcmul(x[T - 1, :, c - 1], P[T - 1, :, c - 1], S[c - 1], out=S[c])
    x.addcmul_(P, S.transpose(0, 1).unsqueeze(0))        # (3) add the carried contribution
    return x


def _scan_backward_inplace(a, g):
    """g <- lam with lam_t = g_t + a_{t+1} lam_{t+1} (reverse time), a unchanged."""
    T, nc = g.shape[0], g.shape[2]
    for t in range(T - 2, -1, -1):
        g[t].addcmul_(a[t + 1], g[t + 1])
    if nc == 1:
        return g
    Q = torch.empty_like(a)                              # Q_t = a_{t+1} ... a_{T-1}
    Q[T - 1] = 1
    for t in range(T - 2, -1, -1):
        torch.mul(Q[t + 1], a[t + 1], out=Q[t])
    q = g.new_zeros((nc,) + g[0, :, 0].shape)            # [nc, b, D, N] adjoint entering chunk c
    for c in range(nc - 1, 0, -1):                       # from its right neighbour:
        # the full lam at chunk c's first step, times a at that step
        r = torch.addcmul(g[0, :, c], Q[0, :, c], q[c])
        torch.mul(a[0, :, c], r, out=q[c - 1])
    g.addcmul_(Q, q.transpose(0, 1).unsqueeze(0))
    return g


def _states(u_c, dt_c, A, B_c):
    """a = exp(dt A), x = dt u B in the chunked layout [T, b, nc, D, N]."""
    a = torch.exp(dt_c.unsqueeze(-1) * A)
    x = (dt_c * u_c).unsqueeze(-1) * B_c.unsqueeze(-2)
    return a, x


def _core_forward(u, dt, A, B, C):
    """sum_n h_t[d, n] C_t[n] for one group of channels: [b, L, Dg]."""
    L = u.shape[1]
    T = _chunk_len(L)
    nc = -(-L // T)
    u_c, dt_c, B_c, C_c = (_to_chunks(t, T, nc) for t in (u, dt, B, C))
    a, h = _states(u_c, dt_c, A, B_c)
    _scan_forward_inplace(a, h)
    del a
    y = torch.matmul(h, C_c.unsqueeze(-1)).squeeze(-1)   # [T, b, nc, Dg]
    return _from_chunks(y, L)


def _core_backward(u, dt, A, B, C, gy):
    """Gradients of sum(gy * core_forward) w.r.t. u, dt, A, B, C (one group of channels)."""
    L = u.shape[1]
    T = _chunk_len(L)
    nc = -(-L // T)
    u_c, dt_c, B_c, C_c, gy_c = (_to_chunks(t, T, nc) for t in (u, dt, B, C, gy))
    a, x = _states(u_c, dt_c, A, B_c)
    P = a.clone()
    h = _scan_forward_inplace(P, x)                      # x is now h
    del P
    gC = torch.matmul(gy_c.unsqueeze(-2), h).squeeze(-2)         # sum_d gy[d] h[d, n]
    lam = _scan_backward_inplace(a, gy_c.unsqueeze(-1) * C_c.unsqueeze(-2))
    # h_{t-1}, across chunk boundaries (zero before t = 0)
    hp = torch.empty_like(h)
    hp[1:] = h[:-1]
    hp[0, :, 1:] = h[-1, :, :-1]
    hp[0, :, 0] = 0
    del h
    E = hp.mul_(a).mul_(lam)                             # lam_t * d h_t / d a_t * a_t
    del a
    gA = (E * dt_c.unsqueeze(-1)).sum(dim=(0, 1, 2))     # d a_t / d A = dt_t a_t
    gdt = E.mul_(A).sum(-1)                              # d a_t / d dt_t = A a_t
    del E
    lamB = torch.matmul(lam, B_c.unsqueeze(-1)).squeeze(-1)     # sum_n lam[d, n] B[n]
    gdt.addcmul_(lamB, u_c)                              # x_t = dt u B
    gu = lamB.mul_(dt_c)
    gB = torch.matmul((dt_c * u_c).unsqueeze(-2), lam).squeeze(-2)
    del lam
    return (_from_chunks(gu, L), _from_chunks(gdt, L), gA, _from_chunks(gB, L),
            _from_chunks(gC, L))


def _max_elems(device):
    env = os.environ.get("STRAND_SCAN_MAX_ELEMS")
    if env:
        return int(float(env))
    # elements of one [b, L, Dg, N] working tensor; ~5 of them live at once in the backward
    return 2 ** 28 if device.type == "cuda" else 2 ** 24


def _groups(b, L, Dn, N, device):
    """(batch slice, channel slice) pairs whose [b, L, Dg, N] tensors fit the budget."""
    budget = _max_elems(device)
    per_seq_channel = max(1, L * N)
    bs = max(1, min(b, budget // per_seq_channel))
    dg = max(1, min(Dn, budget // (bs * per_seq_channel)))
    return [(slice(b0, min(b, b0 + bs)), slice(d0, min(Dn, d0 + dg)))
            for b0 in range(0, b, bs) for d0 in range(0, Dn, dg)]


def _work_dtype(t):
    return torch.float64 if t.dtype == torch.float64 else torch.float32


def _softplus20(v):
    return torch.where(v > 20.0, v, torch.log1p(torch.exp(v)))


class _SelectiveScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, delta, A, B, C, D, z, delta_bias):
        out_dtype = u.dtype
        wd = _work_dtype(u)
        with torch.autocast(device_type=u.device.type, enabled=False):
            uf, df, Af, Bf, Cf = (t.to(wd) for t in (u, delta, A, B, C))
            v = df if delta_bias is None else df + delta_bias.to(wd)
            dt = _softplus20(v)
            b, L, Dn = uf.shape
            ssm = torch.empty(b, L, Dn, dtype=wd, device=u.device)
            for bsl, dsl in _groups(b, L, Dn, Af.shape[1], u.device):
                ssm[bsl, :, dsl] = _core_forward(uf[bsl, :, dsl], dt[bsl, :, dsl], Af[dsl],
                                                 Bf[bsl], Cf[bsl])
            y = ssm if D is None else ssm + uf * D.to(wd)
            if z is not None:
                y = y * F.silu(z.to(wd))
        ctx.save_for_backward(u, delta, A, B, C, D, z, delta_bias, ssm)
        return y.to(out_dtype)

    @staticmethod
    def backward(ctx, gy):
        u, delta, A, B, C, D, z, delta_bias, ssm = ctx.saved_tensors
        wd = _work_dtype(u)
        with torch.autocast(device_type=u.device.type, enabled=False):
            gy = gy.to(wd)
            uf, df, Af, Bf, Cf = (t.to(wd) for t in (u, delta, A, B, C))
            v = df if delta_bias is None else df + delta_bias.to(wd)
            dt = _softplus20(v)
            gz = None
            if z is not None:
                zf = z.to(wd)
                sz = torch.sigmoid(zf)
                pre = ssm if D is None else ssm + uf * D.to(wd)
                gz = gy * pre * sz * (1 + zf * (1 - sz))     # d silu(z)/dz
                gy = gy * zf * sz
            gD = None if D is None else (gy * uf).sum(dim=(0, 1))
            gu = torch.zeros_like(uf) if D is None else gy * D.to(wd)
            gdt = torch.empty_like(dt)
            gA = torch.empty_like(Af)
            gB = torch.zeros_like(Bf)
            gC = torch.zeros_like(Cf)
            b, L, Dn = uf.shape
            for bsl, dsl in _groups(b, L, Dn, Af.shape[1], u.device):
                r = _core_backward(uf[bsl, :, dsl], dt[bsl, :, dsl], Af[dsl], Bf[bsl], Cf[bsl],
                                   gy[bsl, :, dsl])
                gu[bsl, :, dsl] += r[0]
                gdt[bsl, :, dsl] = r[1]
                if bsl.start == 0:
                    gA[dsl] = r[2]
                else:
                    gA[dsl] += r[2]
                gB[bsl] += r[3]
                gC[bsl] += r[4]
            # softplus'(v) = sigmoid(v); identity above the threshold
            gv = torch.where(v > 20.0, gdt, gdt * torch.sigmoid(v))
            gbias = None if delta_bias is None else gv.sum(dim=(0, 1))

        def cast(g, like):
            return None if g is None or like is None else g.to(like.dtype)

        return (cast(gu, u), cast(gv, delta), cast(gA, A), cast(gB, B), cast(gC, C),
                cast(gD, D), cast(gz, z), cast(gbias, delta_bias))


def selective_scan_torch(u, delta, A, B, C, D=None, z=None, delta_bias=None):
    """The pure-PyTorch chunked scan (any device)."""
    return _SelectiveScan.apply(u, delta, A, B, C, D, z, delta_bias)


def selective_scan_reference(u, delta, A, B, C, D=None, z=None, delta_bias=None):
    """Plain sequential loop recorded by autograd: slow, for tests only."""
    wd = _work_dtype(u)
    u_, d_, A_, B_, C_ = (t.to(wd) for t in (u, delta, A, B, C))
    dt = _softplus20(d_ if delta_bias is None else d_ + delta_bias.to(wd))
    h = torch.zeros(u.shape[0], u.shape[2], A.shape[1], dtype=wd, device=u.device)
    ys = []
    for t in range(u.shape[1]):
        h = torch.exp(dt[:, t, :, None] * A_) * h + (dt[:, t] * u_[:, t])[:, :, None] * B_[:, t, None, :]
        ys.append((h * C_[:, t, None, :]).sum(-1))
    y = torch.stack(ys, dim=1)
    if D is not None:
        y = y + u_ * D.to(wd)
    if z is not None:
        y = y * F.silu(z.to(wd))
    return y.to(u.dtype)


_TRITON = None          # None: not tried; False: unavailable; else the function


def _triton_scan():
    global _TRITON
    if _TRITON is None:
        try:
            from .scan_triton import selective_scan_triton
            _TRITON = selective_scan_triton
        except Exception as e:  # absent, no triton, no compiler: fall back, say so once
            if os.environ.get("STRAND_TRAIN_SCAN") == "triton":
                raise
            print(f"[scan] Triton scan unavailable ({type(e).__name__}: {e}); using the "
                  "PyTorch chunked scan", file=sys.stderr)
            _TRITON = False
    return _TRITON or None


def selective_scan(u, delta, A, B, C, D=None, z=None, delta_bias=None):
    if u.is_cuda and os.environ.get("STRAND_TRAIN_SCAN", "") != "torch":
        fn = _triton_scan()
        if fn is not None:
            return fn(u, delta, A, B, C, D, z, delta_bias)
    return selective_scan_torch(u, delta, A, B, C, D, z, delta_bias)


def backend_name(device):
    """Which implementation selective_scan uses on `device` (for logs)."""
    if torch.device(device).type == "cuda" and os.environ.get("STRAND_TRAIN_SCAN", "") != "torch":
        if _triton_scan() is not None:
            return "triton"
    return "torch-chunked"
