"""Tests of the training package (CPU, ~1-2 minutes):

    /usr/bin/python3 -m model.training.test_training            # from the repository root
    /usr/bin/python3 -m model.training.test_training golden scan   # a subset

golden  the training modules reproduce data/golden (tests/golden/make_golden.py's independent
        implementation, which strand matches) on every golden checkpoint, all records
        (incl. the 100 kb one), to <= 1e-5 relative; PS equivariance of the trained layout
scan    the chunked scan: values and gradients against a sequential loop recorded by
        autograd (float64), torch.autograd.gradcheck, memory groups, fp32 accuracy,
        bf16 inputs
export  export -> load round trip, tied tensors absent, names match strand's table
resume  a run stopped and resumed gives bit-identical losses and weights to a straight run
"""
import json
import math
import os
import shutil
import sys
import tempfile
import time

import torch

from . import models as M
from .data import read_records
from .safetensors_io import read_safetensors
from .scan import selective_scan_reference, selective_scan_torch

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GOLDEN = os.path.join(REPO, "data", "golden")


def rel(a, b):
    a, b = a.double(), b.double()
    return ((a - b).norm() / b.norm().clamp_min(1e-300)).item()


def load_golden_model(name):
    d = os.path.join(GOLDEN, name)
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    return M.model_from_published(cfg, read_safetensors(os.path.join(d, "model.safetensors")))


def test_golden(tol=1e-5):
    inputs = {}
    for f in ("short.fa", "chr20_100k.fa.gz"):
        inputs.update(dict(read_records(os.path.join(GOLDEN, "inputs", f))))
    folders = sorted(n for n in os.listdir(GOLDEN)
                     if os.path.isfile(os.path.join(GOLDEN, n, "outputs.safetensors")))
    assert folders, "no golden folders"
    worst_all = 0.0
    for name in folders:
        model = load_golden_model(name).eval()
        ref = read_safetensors(os.path.join(GOLDEN, name, "outputs.safetensors"))
        recs = sorted({k.split(".", 1)[1] for k in ref if k.startswith("hidden.")})
        t0 = time.time()
        worst = 0.0
        for rec in recs:
            ids = inputs[rec].long()[None]
            with torch.no_grad():
                out = M.hidden_states(model, ids)
            out = {k: v[0] for k, v in out.items()}
            rows = ref.get(f"hidden_rows.{rec}")
            for key in ("hidden", "logits", "layer1", "embed"):
                r = ref.get(f"{key}.{rec}")
                if r is None:
                    continue
                got = out[key] if rows is None else out[key][rows]
                e = rel(got, r)
                worst = max(worst, e)
                assert e <= tol, f"{name} {key}.{rec}: rel err {e:.2e} > {tol}"
        worst_all = max(worst_all, worst)
        print(f"golden {name:11s} {M.count_parameters(model):6d} params, {len(recs)} records: "
              f"worst rel err {worst:.2e}  [{time.time() - t0:.1f}s]")
    # PS equivariance of the module itself (trained models keep it by construction)
    model = load_golden_model("ps")
    ids = inputs["len_129"].long()[None]
    with torch.no_grad():
        a = M.hidden_states(model, ids)
        b = M.hidden_states(model, M.revcomp_ids(ids))
    e = rel(b["logits"], a["logits"].flip(1)[..., M.complement_tensor()])
    print(f"golden: worst {worst_all:.2e} (tolerance {tol}); PS logits(rc x) vs "
          f"complement(logits(x)) reversed: {e:.1e}")
    assert e < 1e-6


# ----------------------------------------------------------------------------------------
def _scan_inputs(b, L, Dn, N, dtype, seed=1, big_dt=False):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)
    delta = r(b, L, Dn) + (3.0 if big_dt else 0.0)
    xs = [r(b, L, Dn), delta, -torch.rand(Dn, N, generator=g, dtype=torch.float64) * 3 - 0.05,
          r(b, L, N), r(b, L, N), r(Dn), r(b, L, Dn), r(Dn)]
    if big_dt:
        xs[1][0, L // 2] = 25.0          # softplus threshold branch
    return [x.to(dtype) for x in xs]


def test_scan():
    # float64: values and all eight gradients against the autograd-recorded loop
    worst_v = worst_g = 0.0
    for (b, L, Dn, N) in [(1, 1, 3, 2), (2, 5, 3, 4), (2, 37, 4, 3), (3, 64, 2, 5), (2, 131, 3, 2)]:
        for big in (False, True):
            xs = [x.requires_grad_() for x in _scan_inputs(b, L, Dn, N, torch.float64, big_dt=big)]
            y = selective_scan_torch(*xs)
            yr = selective_scan_reference(*xs)
            gy = torch.randn_like(y)
            g1 = torch.autograd.grad(y, xs, gy)
            g2 = torch.autograd.grad(yr, xs, gy)
            worst_v = max(worst_v, rel(y, yr))
            worst_g = max(worst_g, max(rel(p, q) for p, q in zip(g1, g2)))
    print(f"scan fp64 vs sequential loop: values {worst_v:.1e}, gradients {worst_g:.1e}")
    assert worst_v < 1e-12 and worst_g < 1e-12
    xs = [x.requires_grad_() for x in _scan_inputs(2, 19, 3, 2, torch.float64, seed=3)]
    assert torch.autograd.gradcheck(selective_scan_torch, xs)
    xs5 = [x.detach().requires_grad_() for x in xs[:5]]
    assert torch.autograd.gradcheck(lambda u, d, A, B, C: selective_scan_torch(u, d, A, B, C), xs5)
    print("scan gradcheck (all inputs; and without D, z, delta_bias): ok")
    # channel / batch groups (memory bound) give the same numbers
    xs = [x.requires_grad_() for x in _scan_inputs(3, 50, 5, 4, torch.float64, seed=4)]
    y = selective_scan_torch(*xs)
    g1 = torch.autograd.grad(y.sum(), xs)
    os.environ["STRAND_SCAN_MAX_ELEMS"] = "300"
    try:
        y2 = selective_scan_torch(*xs)
        g2 = torch.autograd.grad(y2.sum(), xs)
    finally:
        del os.environ["STRAND_SCAN_MAX_ELEMS"]
    e = max([rel(y2, y)] + [rel(p, q) for p, q in zip(g2, g1)])
    print(f"scan in channel/batch groups vs one group: {e:.1e}")
    assert e < 1e-12
    # fp32 accuracy on a long sequence, against the fp64 loop
    x64 = _scan_inputs(2, 3000, 4, 16, torch.float64, seed=5)
    x64[1] = x64[1] - 2.0
    y32 = selective_scan_torch(*[x.float() for x in x64])
    with torch.no_grad():
        y64 = selective_scan_reference(*x64)
    e = rel(y32, y64)
    print(f"scan fp32 vs fp64 loop, L=3000 N=16: {e:.1e}")
    assert e < 1e-6
    # bf16 inputs: computed in fp32, returned as bf16, gradients in the inputs' dtypes
    xb = [x.bfloat16().requires_grad_() for x in _scan_inputs(2, 40, 3, 4, torch.float64, seed=6)]
    yb = selective_scan_torch(*xb)
    gb = torch.autograd.grad(yb.float().sum(), xb)
    assert yb.dtype == torch.bfloat16 and all(g.dtype == torch.bfloat16 for g in gb)
    ref = selective_scan_reference(*[x.detach().double() for x in xb])
    print(f"scan bf16 inputs: output dtype {yb.dtype}, rel err vs fp64 on the same inputs "
          f"{rel(yb, ref):.1e} (bf16 output rounding)")


# ----------------------------------------------------------------------------------------
def test_export():
    from . import export as X
    tmp = tempfile.mkdtemp(prefix="strand_export_")
    try:
        for spec in [
            {"arch": "mamba", "d_model": 16, "n_layer": 2, "d_state": 8},
            {"arch": "caduceus", "d_model": 16, "n_layer": 2, "d_state": 8, "rcps": True},
            {"arch": "caduceus", "d_model": 16, "n_layer": 2, "d_state": 8, "rcps": False},
        ]:
            torch.manual_seed(0)
            model = M.build_model(spec)
            ckpt = os.path.join(tmp, "checkpoint.pt")
            torch.save({"config": {"name": "t", "model": spec, "train": {"window": 64}},
                        "model": model.state_dict(), "tokens": 123, "step": 4}, ckpt)
            out = os.path.join(tmp, spec["arch"] + str(spec.get("rcps")))
            X.export(ckpt, out, "fp32", quiet=True)
            with open(os.path.join(out, "config.json")) as f:
                cfg = json.load(f)
            t = read_safetensors(os.path.join(out, "model.safetensors"))
            tied = [k for k in t if "mamba_rev.in_proj" in k or "mamba_rev.out_proj" in k
                    or k.endswith("lm_head.weight")]
            assert not tied, tied
            back = M.model_from_published(cfg, t)
            ids = torch.randint(7, 12, (2, 50))
            with torch.no_grad():
                e = rel(back(ids), model(ids))
            assert e == 0.0, e
        print("export: round trip exact; tied tensors absent")
    finally:
        shutil.rmtree(tmp)


def test_resume():
    from . import train as T
    tmp = tempfile.mkdtemp(prefix="strand_resume_")
    try:
        cfg = {
            "name": "resume-test", "seed": 7, "objective": None,
            "model": None,
            "data": {"files": ["lambda.fa"], "heldout_fraction": 0.05,
                     "heldout_min_record": 20000, "max_n_fraction": 0.1, "rc_augment": True},
            "train": {"window": 128, "batch_size": 4, "micro_batch_size": 2, "tokens": 12 * 512,
                      "lr": 3e-3, "warmup_tokens": 1024, "weight_decay": 0.1,
                      "eval_every": 4, "eval_windows": 4, "log_every": 2},
        }
        root = os.path.join(REPO, "data", "fasta")        # the repository's copy of lambda
        for obj, spec in (("causal", {"arch": "mamba", "d_model": 16, "n_layer": 2, "d_state": 4}),
                          ("mlm", {"arch": "caduceus", "d_model": 8, "n_layer": 2, "d_state": 4,
                                   "rcps": True})):
            cfg["objective"], cfg["model"] = obj, spec
            cpath = os.path.join(tmp, "cfg.json")
            with open(cpath, "w") as f:
                json.dump(cfg, f)
            a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
            T.main(["--config", cpath, "--out", a, "--device", "cpu", "--data-root", root,
                    "--quiet"])
            T.main(["--config", cpath, "--out", b, "--device", "cpu", "--data-root", root,
                    "--quiet", "--stop-after-steps", "5"])
            T.main(["--config", cpath, "--out", b, "--device", "cpu", "--data-root", root,
                    "--quiet", "--resume", os.path.join(b, "checkpoint.pt")])
            ca = T.load_checkpoint(os.path.join(a, "checkpoint.pt"))
            cb = T.load_checkpoint(os.path.join(b, "checkpoint.pt"))
            same = all(torch.equal(ca["model"][k], cb["model"][k]) for k in ca["model"])
            la = open(os.path.join(a, "loss.tsv")).read().splitlines()
            lb = open(os.path.join(b, "loss.tsv")).read().splitlines()
            cols = lambda lines: [l.split("\t")[:4] + l.split("\t")[5:] for l in lines]
            print(f"resume {obj}: {ca['step']} steps, weights identical: {same}, "
                  f"loss.tsv identical (elapsed column aside): {cols(la) == cols(lb)}")
            assert same and cols(la) == cols(lb) and ca["tokens"] == cb["tokens"]
            shutil.rmtree(a)
            shutil.rmtree(b)
    finally:
        shutil.rmtree(tmp)


def test_cuda():
    """GPU only (skipped without CUDA): the scan in use on CUDA (Triton if present, else the
    chunked one) against the float64 loop; golden models on the GPU in fp32; bf16 autocast."""
    if not torch.cuda.is_available():
        print("cuda: no GPU, skipped")
        return
    from .scan import backend_name, selective_scan
    dev = torch.device("cuda")
    print(f"cuda: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, "
          f"scan backend {backend_name(dev)}")
    for (b, L, Dn, N) in [(2, 300, 8, 16), (3, 4096, 16, 16), (1, 1, 4, 16)]:
        xs = _scan_inputs(b, L, Dn, N, torch.float64, seed=8)
        xs[1] = xs[1] - 2.0
        ref_in = [x.clone().requires_grad_() for x in xs]
        yr = selective_scan_reference(*ref_in) if L <= 300 else None
        gin = [x.float().to(dev).requires_grad_() for x in xs]
        y = selective_scan(*gin)
        gy = torch.randn(y.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        g = torch.autograd.grad(y, gin, gy.float().to(dev))
        if yr is None:          # long: compare with the chunked scan in float64 on the CPU
            yr = selective_scan_torch(*ref_in)
        gr = torch.autograd.grad(yr, ref_in, gy)
        ev = rel(y.cpu(), yr)
        eg = max(rel(p.cpu(), q) for p, q in zip(g, gr))
        print(f"cuda scan fp32 {(b, L, Dn, N)} vs fp64: values {ev:.1e}, gradients {eg:.1e}")
        assert ev < 1e-5 and eg < 1e-4
    inputs = dict(read_records(os.path.join(GOLDEN, "inputs", "short.fa")))
    for name in ("ps", "ph", "mamba"):
        model = load_golden_model(name).to(dev).eval()
        ref = read_safetensors(os.path.join(GOLDEN, name, "outputs.safetensors"))
        with torch.no_grad():
            out = M.hidden_states(model, inputs["len_4097"].long()[None].to(dev))
        e = rel(out["hidden"][0].cpu(), ref["hidden.len_4097"])
        print(f"cuda golden {name} len_4097 fp32: rel err {e:.1e}")
        assert e < 1e-5
    # bf16 autocast: a training step runs; loss close to the fp32 one
    model = M.build_model({"arch": "caduceus", "d_model": 64, "n_layer": 2, "rcps": True}).to(dev)
    x = inputs["len_4097"].long()[None, :4096].to(dev)
    with torch.no_grad():
        l32 = torch.nn.functional.cross_entropy(model(x)[0], x[0]).item()
    with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
        lb = torch.nn.functional.cross_entropy(model(x)[0].float(), x[0])
    lb.backward()
    gn = sum(p.grad.float().norm() ** 2 for p in model.parameters()).sqrt().item()
    print(f"cuda bf16 autocast: loss {lb.item():.5f} vs fp32 {l32:.5f}; grad norm {gn:.3f}")
    assert abs(lb.item() - l32) < 0.02 and math.isfinite(gn)


TESTS = {"scan": test_scan, "golden": test_golden, "export": test_export, "resume": test_resume,
         "cuda": test_cuda}

if __name__ == "__main__":
    torch.set_num_threads(min(2, torch.get_num_threads()))
    names = sys.argv[1:] or list(TESTS)
    for n in names:
        t = time.time()
        TESTS[n]()
        print(f"== {n} ok [{time.time() - t:.1f}s]")
