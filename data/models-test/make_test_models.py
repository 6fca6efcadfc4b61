#!/usr/bin/env python3
"""Writes the tiny test checkpoints of data/models-test/ (standard library only).

Each model is a Hugging Face folder (config.json + model.safetensors) with deterministic
pseudo-random weights, named exactly as the published checkpoints name theirs. The names are
spelled out here by hand, independently of model/tensor_names.cpp, so that the loader's table
is checked against a second source. Tied tensors are omitted, as save_pretrained does.

  caduceus-ph/   CaduceusForMaskedLM, rcps false, bidirectional add, weight tie, F32,
                 complement_map keys "0".."11" (padded to 16 by the loader), dt_rank "auto"
  caduceus-ps/   CaduceusForMaskedLM, rcps true, fused_add_norm false (wrapped norms), F16,
                 with the int64 complement_map buffers, ew_multiply, no weight tie, bias true
  mamba/         MambaForCausalLM (transformers naming), BF16, tied lm_head

usage: python3 data/models-test/make_test_models.py [OUT_DIR]   (default: next to this script)
"""
import json
import math
import os
import struct
import sys

COMPLEMENT = {str(i): i for i in range(12)}
COMPLEMENT.update({"7": 10, "8": 9, "9": 8, "10": 7})


class Rng:
    """A 64-bit LCG: values k/64 in [-1, 1), exact in F16, BF16 and F32."""

    def __init__(self, seed):
        self.state = seed

    def next(self):
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        return ((self.state >> 33) % 128 - 64) / 64.0


def pack(dtype, values):
    if dtype == "F32":
        return struct.pack("<%df" % len(values), *values)
    if dtype == "F16":
        return struct.pack("<%de" % len(values), *values)
    if dtype == "BF16":  # the top 16 bits of the fp32 (the values are exact in bf16)
        return b"".join(struct.pack("<I", struct.unpack("<I", struct.pack("<f", v))[0])[2:] for v in values)
    if dtype == "I64":
        return struct.pack("<%dq" % len(values), *values)
    raise ValueError(dtype)


def write_safetensors(path, tensors):
    """tensors: list of (name, dtype, shape, values)."""
    header, blobs, offset = {}, [], 0
    for name, dtype, shape, values in tensors:
        blob = pack(dtype, values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def mixer(prefix, d_model, d_state, d_conv, expand, dt_rank, bias, conv_bias, skip_tied, rng, dtype):
    d_inner = expand * d_model
    out = []

    def add(name, shape):
        n = 1
        for s in shape:
            n *= s
        if name.startswith("A_log"):  # A_log = log(1..d_state) as at init, but exact: use small values
            values = [rng.next() / 4 for _ in range(n)]
        else:
            values = [rng.next() for _ in range(n)]
        out.append((prefix + name, dtype, shape, values))

    if not skip_tied:
        add("in_proj.weight", [2 * d_inner, d_model])
        if bias:
            add("in_proj.bias", [2 * d_inner])
    add("conv1d.weight", [d_inner, 1, d_conv])
    if conv_bias:
        add("conv1d.bias", [d_inner])
    add("x_proj.weight", [dt_rank + 2 * d_state, d_inner])
    add("dt_proj.weight", [d_inner, dt_rank])
    add("dt_proj.bias", [d_inner])
    add("A_log", [d_inner, d_state])
    add("D", [d_inner])
    if not skip_tied:
        add("out_proj.weight", [d_model, d_inner])
        if bias:
            add("out_proj.bias", [d_model])
    return out


def caduceus(out_dir, name, rcps, fused_add_norm, strategy, tie, bias, dtype, seed):
    d_model, n_layer, d_state, d_conv, expand = 8, 2, 4, 4, 2
    dt_rank = math.ceil(d_model / 16)
    vocab = 16
    rng = Rng(seed)
    config = {
        "_name_or_path": "strand/test-" + name,
        "architectures": ["CaduceusForMaskedLM"],
        "bidirectional": True,
        "bidirectional_strategy": strategy,
        "bidirectional_weight_tie": tie,
        "complement_map": COMPLEMENT,
        "d_model": d_model,
        "fused_add_norm": fused_add_norm,
        "initializer_cfg": {"initializer_range": 0.02, "n_residuals_per_layer": 1, "rescale_prenorm_residual": True},
        "model_type": "caduceus",
        "n_layer": n_layer,
        "norm_epsilon": 1e-05,
        "pad_vocab_size_multiple": 8,
        "rcps": rcps,
        "residual_in_fp32": False,
        "rms_norm": True,
        "ssm_cfg": {"bias": bias, "conv_bias": True, "d_conv": d_conv, "d_state": d_state, "dt_init": "random",
                    "dt_init_floor": 0.0001, "dt_max": 0.1, "dt_min": 0.001, "dt_rank": "auto", "dt_scale": 1.0,
                    "expand": expand, "use_fast_path": True},
        "torch_dtype": "float32",
        "vocab_size": 12,
    }
    root = "caduceus.backbone."
    emb = root + ("embeddings.word_embeddings.embedding.weight" if rcps else "embeddings.word_embeddings.weight")
    tensors = [(emb, dtype, [vocab, d_model], [rng.next() for _ in range(vocab * d_model)])]
    if rcps:
        comp = [int(COMPLEMENT.get(str(i), i)) for i in range(vocab)]
        tensors.append((root + "embeddings.word_embeddings.complement_map", "I64", [vocab], comp))
        tensors.append(("lm_head.complement_map", "I64", [vocab], comp))
    wrapped = rcps and not fused_add_norm
    for i in range(n_layer):
        layer = "%slayers.%d." % (root, i)
        tensors.append((layer + ("norm.submodule.weight" if wrapped else "norm.weight"), dtype, [d_model],
                        [1 + rng.next() / 8 for _ in range(d_model)]))
        mix = layer + ("mixer.submodule." if rcps else "mixer.")
        tensors += mixer(mix + "mamba_fwd.", d_model, d_state, d_conv, expand, dt_rank, bias, True, False, rng, dtype)
        tensors += mixer(mix + "mamba_rev.", d_model, d_state, d_conv, expand, dt_rank, bias, True, tie, rng, dtype)
    tensors.append((root + ("norm_f.submodule.weight" if wrapped else "norm_f.weight"), dtype, [d_model],
                    [1 + rng.next() / 8 for _ in range(d_model)]))
    save(out_dir, name, config, tensors)


def mamba(out_dir, name, dtype, seed):
    hidden, layers, d_state, d_conv, expand = 8, 2, 4, 4, 2
    vocab = 16
    rng = Rng(seed)
    config = {
        "architectures": ["MambaForCausalLM"],
        "bos_token_id": 2,
        "conv_kernel": d_conv,
        "eos_token_id": 1,
        "expand": expand,
        "hidden_act": "silu",
        "hidden_size": hidden,
        "initializer_range": 0.1,
        "layer_norm_epsilon": 1e-05,
        "model_type": "mamba",
        "num_hidden_layers": layers,
        "pad_token_id": 4,
        "rescale_prenorm_residual": False,
        "residual_in_fp32": True,
        "state_size": d_state,
        "tie_word_embeddings": True,
        "time_step_rank": "auto",
        "torch_dtype": "bfloat16",
        "use_bias": False,
        "use_cache": True,
        "use_conv_bias": True,
        "vocab_size": vocab,
    }
    tensors = [("backbone.embeddings.weight", dtype, [vocab, hidden], [rng.next() for _ in range(vocab * hidden)])]
    for i in range(layers):
        layer = "backbone.layers.%d." % i
        tensors.append((layer + "norm.weight", dtype, [hidden], [1 + rng.next() / 8 for _ in range(hidden)]))
        tensors += mixer(layer + "mixer.", hidden, d_state, d_conv, expand, math.ceil(hidden / 16), False, True, False,
                         rng, dtype)
    tensors.append(("backbone.norm_f.weight", dtype, [hidden], [1 + rng.next() / 8 for _ in range(hidden)]))
    save(out_dir, name, config, tensors)


def save(out_dir, name, config, tensors):
    folder = os.path.join(out_dir, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)  # file order of complement_map keys kept: "0".."11"
        f.write("\n")
    write_safetensors(os.path.join(folder, "model.safetensors"), tensors)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    caduceus(out_dir, "caduceus-ph", rcps=False, fused_add_norm=True, strategy="add", tie=True, bias=False,
             dtype="F32", seed=1)
    caduceus(out_dir, "caduceus-ps", rcps=True, fused_add_norm=False, strategy="ew_multiply", tie=False, bias=True,
             dtype="F16", seed=2)
    mamba(out_dir, "mamba", dtype="BF16", seed=3)


if __name__ == "__main__":
    main()
