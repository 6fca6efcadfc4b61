"""Training code for strand's default DNA models (issue 7): PyTorch only, no other packages.

Modules: scan (selective scan), models (MambaLM, CaduceusMLM), data (genomes, split, windows),
train, export, evaluate. See README.md.
"""
