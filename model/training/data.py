"""Genomes for training and evaluation: readers, tokenizer, held-out split, window sampler.

Readers: FASTA (.fa/.fna/.fasta) and GenBank (.gbk/.gb: the ORIGIN sequence of every LOCUS),
plain or compressed (.gz, incl. bgzip, .xz, .bz2). Tokens: upper-cased; A=7 C=8 G=9 T=10 N=11,
anything else [UNK]=6 (strand's tokenizer).

Split (deterministic, recorded in the training config): every record of at least
`heldout_min_record` bases gives its LAST `heldout_fraction` to the held-out set; shorter
records go wholly to training. Training windows never cross into the held-out part.

Files are named relative to a data root (train.py --data-root, default ../shared/data from the
repository root). E. coli and human chr17 are evaluation-only in this project: reading them for
training is refused here (evaluate.py reads its evaluation FASTA through read_records()).
"""
import bz2
import gzip
import lzma
import os

import torch

from .models import A_ID, C_ID, G_ID, MASK, N_ID, T_ID, UNK, complement_tensor

# never train, tune or select models on these (project rule): matched in the path, lower case
EVALUATION_ONLY = ("ecoli", "e_coli", "escherichia", "mg1655", "chr17")

_TABLE = bytearray([UNK] * 256)
for _ch, _tok in (("A", A_ID), ("C", C_ID), ("G", G_ID), ("T", T_ID), ("N", N_ID)):
    _TABLE[ord(_ch)] = _TABLE[ord(_ch.lower())] = _tok
_TABLE = bytes(_TABLE)
_GENBANK_DROP = b"0123456789 \t\r\n/"


def _open_bytes(path):
    if path.endswith(".gz") or path.endswith(".bgz"):
        return gzip.open(path, "rb")          # bgzip is a series of gzip members: reads whole
    if path.endswith(".xz"):
        return lzma.open(path, "rb")
    if path.endswith(".bz2"):
        return bz2.open(path, "rb")
    return open(path, "rb")


def _strip_compression(path):
    for ext in (".gz", ".bgz", ".xz", ".bz2"):
        if path.endswith(ext):
            return path[: -len(ext)]
    return path


def tokenize(seq):
    """str or bytes -> uint8 token tensor [L]."""
    if isinstance(seq, str):
        seq = seq.encode("latin-1", errors="replace")
    return torch.frombuffer(bytearray(seq.translate(_TABLE)), dtype=torch.uint8) if seq else \
        torch.zeros(0, dtype=torch.uint8)


def _fasta_records(data):
    out = []
    for chunk in data.split(b"\n>"):
        chunk = chunk.lstrip(b">")
        if not chunk.strip():
            continue
        head, _, body = chunk.partition(b"\n")
        name = head.split()[0].decode() if head.split() else ""
        out.append((name, body.translate(None, b" \t\r\n")))
    return out


def _genbank_records(data):
    out = []
    for entry in data.split(b"\n//"):
        i = entry.find(b"LOCUS")
        if i < 0:
            continue
        name = entry[i:].split(b"\n", 1)[0].split()[1].decode()
        j = entry.find(b"\nORIGIN")
        parts = entry[j:].split(b"\n", 2) if j >= 0 else []
        seq = parts[2] if len(parts) == 3 else b""          # the lines after "ORIGIN"
        out.append((name, seq.translate(None, _GENBANK_DROP)))
    return out


def read_records(path):
    """[(name, uint8 tokens)] of a FASTA or GenBank file (format from the name, else sniffed)."""
    with _open_bytes(path) as f:
        data = f.read()
    base = _strip_compression(path).lower()
    genbank = base.endswith((".gbk", ".gb", ".gbff", ".genbank")) or data.lstrip()[:5] == b"LOCUS"
    recs = _genbank_records(data) if genbank else _fasta_records(data)
    if not recs:
        raise ValueError(f"{path}: no sequence records")
    return [(name, tokenize(seq)) for name, seq in recs]


def check_training_file(rel):
    low = rel.lower()
    for word in EVALUATION_ONLY:
        if word in low:
            raise ValueError(f"{rel}: evaluation-only data ('{word}'); never train or tune on it")


# ----------------------------------------------------------------------------------------
class Segment:
    """A stretch of one record: tokens (a view), where it comes from, which part."""

    def __init__(self, file, record, start, tokens):
        self.file, self.record, self.start, self.tokens = file, record, start, tokens

    def __len__(self):
        return self.tokens.numel()


def load_split(data_cfg, root, log=None):
    """Reads the config's files; returns (train segments, held-out segments, summary dict)."""
    frac = float(data_cfg.get("heldout_fraction", 0.05))
    min_rec = int(data_cfg.get("heldout_min_record", 20000))
    train, held = [], []
    summary = {"files": [], "train_bases": 0, "heldout_bases": 0}
    for rel in data_cfg["files"]:
        check_training_file(rel)
        path = rel if os.path.isabs(rel) else os.path.join(root, rel)
        recs = read_records(path)
        nb = nh = 0
        for name, tok in recs:
            L = tok.numel()
            cut = L - int(L * frac) if L >= min_rec else L
            train.append(Segment(rel, name, 0, tok[:cut]))
            nb += cut
            if cut < L:
                held.append(Segment(rel, name, cut, tok[cut:]))
                nh += L - cut
        summary["files"].append({"file": rel, "records": len(recs), "train": nb, "heldout": nh})
        summary["train_bases"] += nb
        summary["heldout_bases"] += nh
        if log:
            log(f"data: {rel}: {len(recs)} records, {nb:,} train + {nh:,} held-out bases")
    return train, held, summary


def _n_ok(windows, max_n_fraction):
    nonbase = (windows < A_ID) | (windows > T_ID)
    return nonbase.float().mean(dim=1) <= max_n_fraction


class WindowSampler:
    """Length-weighted random windows from training segments (each start position of every
    segment equally likely); windows with more than max_n_fraction non-ACGT are redrawn;
    optional random reverse complement. Deterministic given the seed; state_dict() resumes."""

    def __init__(self, segments, window, seed, max_n_fraction=0.1, rc_augment=False):
        segs = [s for s in segments if len(s) >= window]
        if not segs:
            raise ValueError(f"no training record is as long as the window ({window})")
        self.window = window
        self.max_n_fraction = max_n_fraction
        self.rc_augment = rc_augment
        self.buf = torch.cat([s.tokens for s in segs])
        lengths = torch.tensor([len(s) for s in segs], dtype=torch.long)
        self.seg_start = torch.cumsum(lengths, 0) - lengths
        valid = lengths - window + 1
        self.cum_valid = torch.cumsum(valid, 0)
        self.total = int(self.cum_valid[-1])
        self.skipped_bases = sum(len(s) for s in segments) - int(lengths.sum())
        self.gen = torch.Generator().manual_seed(int(seed))
        self.comp = complement_tensor().to(torch.uint8)
        self.offsets = torch.arange(window)

    def _draw(self, k):
        u = torch.randint(self.total, (k,), generator=self.gen)
        seg = torch.searchsorted(self.cum_valid, u, right=True)
        prev = torch.where(seg > 0, self.cum_valid[(seg - 1).clamp(min=0)], torch.zeros_like(u))
        starts = self.seg_start[seg] + (u - prev)
        return self.buf[starts[:, None] + self.offsets]

    def sample(self, batch):
        """uint8 [batch, window]."""
        got, n = [], 0
        for _ in range(100):
            w = self._draw(batch)
            w = w[_n_ok(w, self.max_n_fraction)]
            got.append(w)
            n += w.shape[0]
            if n >= batch:
                break
        else:
            raise RuntimeError("could not draw windows under the N limit: check max_n_fraction")
        w = torch.cat(got)[:batch]
        if self.rc_augment:
            flip = torch.rand(batch, generator=self.gen) < 0.5
            w = torch.where(flip[:, None], self.comp[w.long().flip(1)], w)
        return w

    def state_dict(self):
        return {"gen": self.gen.get_state()}

    def load_state_dict(self, st):
        self.gen.set_state(st["gen"])


def heldout_windows(segments, window, max_windows, max_n_fraction=0.1):
    """Fixed held-out windows for the loss curve: non-overlapping tiles of every held-out
    segment, evenly thinned to max_windows. uint8 [n, window] (n may be 0)."""
    tiles = []
    for s in segments:
        for a in range(0, len(s) - window + 1, window):
            tiles.append(s.tokens[a:a + window])
    if not tiles:
        return torch.zeros(0, window, dtype=torch.uint8)
    w = torch.stack(tiles)
    w = w[_n_ok(w, max_n_fraction)]
    if w.shape[0] > max_windows:
        idx = torch.linspace(0, w.shape[0] - 1, max_windows).round().long()
        w = w[idx]
    return w


def mlm_mask(tokens, gen, mask_prob=0.15, device=None):
    """BERT-style masking of A/C/G/T positions: each is chosen with mask_prob; a chosen one
    becomes [MASK] (80%), a random base (10%) or stays (10%). Returns (inputs, targets) long,
    targets -100 where not chosen. Random numbers from `gen` (CPU) for exact resumption."""
    tok = tokens.long()
    is_base = (tok >= A_ID) & (tok <= T_ID)
    r = torch.rand(tok.shape, generator=gen)
    chosen = is_base & (r < mask_prob)
    kind = torch.rand(tok.shape, generator=gen)
    rand_base = torch.randint(A_ID, T_ID + 1, tok.shape, generator=gen)
    inp = torch.where(chosen & (kind < 0.8), torch.full_like(tok, MASK), tok)
    inp = torch.where(chosen & (kind >= 0.8) & (kind < 0.9), rand_base, inp)
    tgt = torch.where(chosen, tok, torch.full_like(tok, -100))
    if device is not None:
        inp, tgt = inp.to(device, non_blocking=True), tgt.to(device, non_blocking=True)
    return inp, tgt
