"""Chromosome-blocked layers: padded batched product vs per-chromosome loop vs sparse matmul.

``python -m benchmarks.perf_layers [--threads 1]``

Forward + backward (loss ``sum(out**2)``) of the encoder layer (the input needs no gradient,
as in the model) and of the decoder layer (with BatchNorm, as in the model), in CPU seconds of
this process, variants interleaved round by round. Sizes: SNARE-seq's 20 chromosomes with
5,420 peaks (peaks in genome order, and shuffled so that each chromosome's peaks are scattered
over the input) and 200,000 peaks in the same proportions; batch 64 and 256. The fraction is
the layer's useful matrix FLOPs (forward x 2 for the encoder, x 3 for the decoder) per second
over dense ``torch.matmul`` FLOP/s measured in the same process.

Variants (the first three in :mod:`benchmarks._perf_variants`):

- ``bmm``: the package (``index_select`` into the padded layout, one ``baddbmm``);
- ``einsum``: the first implementation (advanced indexing, ``einsum``);
- ``loop``: one ``addmm`` per chromosome;
- ``sparse``: the block-diagonal weight as a sparse COO matrix and ``torch.sparse.mm`` (no
  padding FLOPs).

Writes ``benchmarks/results/perf_layers.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from itertools import pairwise

import numpy as np
import torch

from butterflyvi.module._layers import ChromosomeDecoderLayer, ChromosomeEncoderLayer

from ._perf_common import RESULTS, context, load_average, matmul_flops, quiet, write_json
from ._perf_variants import LAYERS

SNARE_CHROMOSOMES = (408, 392, 362, 353, 349, 345, 339, 318, 317, 265)
SNARE_CHROMOSOMES += (240, 231, 230, 229, 213, 199, 193, 186, 182, 69)


def _groups(sizes, *, shuffle: bool) -> tuple[list[np.ndarray], int]:
    bounds = np.cumsum([0, *sizes])
    groups = [np.arange(a, b) for a, b in pairwise(bounds)]
    if shuffle:
        perm = np.random.default_rng(0).permutation(bounds[-1])
        groups = [np.sort(perm[g]) for g in groups]
    return groups, int(bounds[-1])


def _sparse_pattern(layer) -> tuple[torch.Tensor, torch.Tensor]:
    """(row = feature, column = chromosome * units + unit) of every real weight, and a mask."""
    valid = layer.index < layer.n_features  # (n_chrom, max_len)
    chrom, pos = torch.nonzero(valid, as_tuple=True)
    feature = layer.index[chrom, pos]
    units = torch.arange(layer.units)
    rows = feature[:, None].expand(-1, layer.units).reshape(-1)
    cols = (chrom[:, None] * layer.units + units[None, :]).reshape(-1)
    return torch.stack([rows, cols]), valid


def encoder_sparse(self, x):
    """``x @ W`` with ``W`` the (features x units*n_chrom) block-diagonal weight, sparse."""
    pattern, valid = _sparse_pattern(self)
    values = self.weight[valid].reshape(-1)  # (n_features_ordered * units)
    weight_t = torch.sparse_coo_tensor(
        pattern.flip(0), values, (self.units * self.n_groups, self.n_features)
    )
    hidden = torch.sparse.mm(weight_t, x.t()).t() + self.bias.reshape(1, -1)
    return self.dropout(self.activation(self.norm(hidden)))


def decoder_sparse(self, h):
    """``h @ W`` with ``W`` (units*n_chrom x features) block-diagonal, sparse."""
    pattern, valid = _sparse_pattern(self)
    values = self.weight.transpose(1, 2)[valid].reshape(-1)
    weight_t = torch.sparse_coo_tensor(
        pattern, values, (self.n_features, self.units * self.n_groups)
    )
    bias = self.bias.reshape(-1)[self.inverse]
    return self.norm(torch.sparse.mm(weight_t, h.t()).t() + bias)


VARIANTS = {**LAYERS, "sparse": (encoder_sparse, decoder_sparse)}


def _cpu(fn, reps: int) -> float:
    for _ in range(2):
        fn()
    start = time.process_time()
    for _ in range(reps):
        fn()
    return (time.process_time() - start) / reps


def _step(forward, layer, inputs):
    return lambda: forward(layer, inputs).pow(2).sum().backward()


def run_case(sizes, *, shuffle: bool, batch: int, rounds: int, reps: int) -> dict:
    """Time every variant on one layer size and batch."""
    torch.manual_seed(0)
    groups, n = _groups(sizes, shuffle=shuffle)
    enc = ChromosomeEncoderLayer(groups, n)
    dec = ChromosomeDecoderLayer(groups, n)
    x = torch.rand(batch, n)
    h = torch.randn(batch, 32 * len(sizes), requires_grad=True)
    enc.eval(), dec.eval()
    reference = (LAYERS["bmm"][0](enc, x), LAYERS["bmm"][1](dec, h))
    for name, (fe, fd) in VARIANTS.items():
        torch.testing.assert_close(fe(enc, x), reference[0], rtol=1e-4, atol=1e-4, msg=name)
        torch.testing.assert_close(fd(dec, h), reference[1], rtol=1e-4, atol=1e-4, msg=name)
    enc.train(), dec.train()
    times = {f"{part}_{name}": [] for name in VARIANTS for part in ("encoder", "decoder")}
    before = matmul_flops()
    for _ in range(rounds):
        for name, (fe, fd) in VARIANTS.items():
            times[f"encoder_{name}"].append(_cpu(_step(fe, enc, x), reps))
            times[f"decoder_{name}"].append(_cpu(_step(fd, dec, h), reps))
    reference_flops = (before + matmul_flops()) / 2
    useful = {"encoder": 2 * 2 * batch * n * 32, "decoder": 3 * 2 * batch * n * 32}
    out = {
        "n_features": n,
        "n_chromosomes": len(sizes),
        "padded_features": len(sizes) * max(sizes),
        "shuffled": shuffle,
        "batch_size": batch,
        "matmul_gflops": reference_flops / 1e9,
        "load_average": load_average(),
        "variants": {},
    }
    for key, values in times.items():
        part = key.split("_")[0]
        median = float(np.median(values))
        out["variants"][key] = {
            "cpu_ms": 1e3 * median,
            "fraction_of_matmul": useful[part] / median / reference_flops,
        }
    return out


def main(argv: list[str] | None = None) -> dict:
    """Run every case and write the record."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf_layers")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    quiet()
    torch.set_num_threads(args.threads)
    large = tuple(round(200_000 * s / sum(SNARE_CHROMOSOMES)) for s in SNARE_CHROMOSOMES)
    record = {"command": "python -m benchmarks.perf_layers " + " ".join(argv or sys.argv[1:])}
    record.update(context())
    record["cases"] = []
    cases = [
        (SNARE_CHROMOSOMES, False, 64, 20),
        (SNARE_CHROMOSOMES, True, 64, 20),
        (SNARE_CHROMOSOMES, False, 256, 10),
        (large, False, 64, 2),
        (large, False, 256, 1),
    ]
    for sizes, shuffle, batch, reps in cases:
        record["cases"].append(
            run_case(sizes, shuffle=shuffle, batch=batch, rounds=args.rounds, reps=reps)
        )
        write_json(RESULTS / "perf_layers.json", record)
    return record


if __name__ == "__main__":
    main()
