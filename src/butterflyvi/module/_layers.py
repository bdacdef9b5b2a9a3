"""Building blocks: fully connected layers and chromosome-blocked layers.

Every layer follows the scButterfly pattern Linear → BatchNorm → activation → Dropout, with
Xavier-uniform weights. The chromosome-blocked layers connect each chromosome's peaks only to
that chromosome's hidden units; they run as one padded batched matrix product
(``index_select`` + ``baddbmm``) instead of a Python loop over chromosomes: at SNARE-seq size
(20 chromosomes, 5,420 peaks) it is ~1.7x faster than the same product written as advanced
indexing + ``einsum`` and ~2x faster than the loop (``benchmarks/perf_layers.py``,
``docs/performance.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._sparse import csr_tensor, row_ids

ACTIVATIONS = ("leaky_relu", "relu", "prelu", "sigmoid", "identity")


def input_dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """Inverted dropout of an input matrix: each entry kept with probability ``1 - p`` and
    scaled by ``1 / (1 - p)``, as :func:`torch.nn.functional.dropout`.

    Zero entries stay zero whatever the mask, so on CPU random numbers are drawn only for the
    non-zero entries (single-cell inputs are 1–10 % non-zero): 3–4x faster than
    ``F.dropout`` on SNARE-seq minibatches, which draws a Bernoulli variable per entry. On
    other devices (where ``nonzero`` would force a host/device synchronisation) the mask is
    ``torch.rand_like(x) >= p``. Same distribution as ``F.dropout``; the draws differ, so a
    seed gives other masks than ``F.dropout`` with that seed (still deterministic).

    Parameters
    ----------
    x
        Input of any shape.
    p
        Probability of zeroing an entry, in ``[0, 1]``.
    training
        Identity when ``False`` (or ``p == 0``).
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p: expected a probability in [0, 1], found {p}.")
    if not training or p == 0.0:
        return x
    if x.layout == torch.sparse_csr:
        return _sparse_input_dropout(x, p)
    if p == 1.0:
        return torch.zeros_like(x)
    scale = 1.0 / (1.0 - p)
    if x.device.type != "cpu":
        return x * ((torch.rand_like(x) >= p) * scale)
    flat = x.reshape(-1)
    where = flat.nonzero().squeeze(1)
    keep = (torch.rand(where.shape[0], dtype=x.dtype) >= p) * scale
    values = flat.index_select(0, where) * keep
    return torch.zeros_like(flat).index_copy_(0, where, values).view_as(x)


def _sparse_input_dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    """:func:`input_dropout` of a CSR tensor: only its stored values are masked (the dropped
    ones stay stored as explicit zeros, so the structure is kept).
    """
    values = x.values()
    if p == 1.0:
        keep = torch.zeros_like(values)
    else:
        keep = torch.rand(values.shape[0], dtype=values.dtype, device=values.device) >= p
        keep = keep / (1.0 - p)
    return csr_tensor(x.crow_indices(), x.col_indices(), values * keep, tuple(x.shape))


def make_activation(name: str) -> nn.Module:
    """Return the activation module called ``name`` (LeakyReLU uses slope 0.01; PReLU learns
    one slope per layer).
    """
    if name == "leaky_relu":
        return nn.LeakyReLU(0.01)
    if name == "relu":
        return nn.ReLU()
    if name == "prelu":
        return nn.PReLU()
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "identity":
        return nn.Identity()
    raise ValueError(f"activation: expected one of {ACTIVATIONS}, found {name!r}.")


class FCLayer(nn.Module):
    """Linear → BatchNorm → activation → Dropout.

    Parameters
    ----------
    n_in, n_out
        Input and output widths.
    activation
        One of ``"leaky_relu"``, ``"sigmoid"``, ``"identity"``.
    dropout
        Dropout rate after the activation (0 disables it).
    batch_norm
        Whether to normalise the pre-activations over the minibatch.
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        *,
        activation: str = "leaky_relu",
        dropout: float = 0.0,
        batch_norm: bool = True,
    ):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)
        nn.init.xavier_uniform_(self.linear.weight)
        self.norm = nn.BatchNorm1d(n_out) if batch_norm else nn.Identity()
        self.activation = make_activation(activation)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the layer to a ``(batch, n_in)`` tensor."""
        return self.dropout(self.activation(self.norm(self.linear(x))))


def mlp(
    dims: Sequence[int],
    *,
    dropout: float,
    activation: str = "leaky_relu",
    last_activation: str | None = None,
) -> nn.Sequential:
    """Stack :class:`FCLayer` s through ``dims``; no dropout after the last layer."""
    layers = []
    n_layers = len(dims) - 1
    for i in range(n_layers):
        last = i == n_layers - 1
        layers.append(
            FCLayer(
                dims[i],
                dims[i + 1],
                activation=(last_activation or activation) if last else activation,
                dropout=0.0 if last else dropout,
            )
        )
    return nn.Sequential(*layers)


def _padded_index(groups: Sequence[np.ndarray], n_features: int) -> torch.Tensor:
    """``(n_groups, max_len)`` feature positions; padding points at column ``n_features``."""
    max_len = max(len(g) for g in groups)
    index = np.full((len(groups), max_len), n_features, dtype=np.int64)
    for i, group in enumerate(groups):
        index[i, : len(group)] = group
    return torch.from_numpy(index)


class _ChromosomeBlocks(nn.Module):
    """Shared bookkeeping of the chromosome-blocked layers.

    ``groups`` lists, per chromosome, the positions of its features in the input (or output)
    vector. Features are gathered into a zero-padded ``(batch, n_chrom, max_len)`` tensor so
    that every chromosome's block is one slice of a batched matrix product.
    """

    def __init__(self, groups: Sequence[np.ndarray], n_features: int, units: int):
        super().__init__()
        if len(groups) == 0:
            raise ValueError("groups: expected at least one chromosome, found none.")
        sizes = [len(g) for g in groups]
        if min(sizes) == 0:
            raise ValueError("groups: every chromosome needs at least one feature.")
        covered = np.sort(np.concatenate([np.asarray(g) for g in groups]))
        if len(covered) != n_features or not np.array_equal(covered, np.arange(n_features)):
            raise ValueError(
                f"groups: expected a partition of the {n_features} features, "
                f"found {len(covered)} positions."
            )
        self.n_features = n_features
        self.n_groups = len(groups)
        self.units = units
        self.register_buffer("index", _padded_index(groups, n_features), persistent=False)
        lengths = torch.tensor(sizes, dtype=torch.int64)
        self.register_buffer("lengths", lengths, persistent=False)
        # Position of every feature in the flattened padded layout (for scattering back).
        flat = self.index.flatten()
        inverse = torch.empty(n_features, dtype=torch.int64)
        valid = flat < n_features
        inverse[flat[valid]] = torch.nonzero(valid).squeeze(1)
        self.register_buffer("inverse", inverse, persistent=False)

    def _xavier(self, weight: torch.Tensor, fan_in: torch.Tensor, fan_out: torch.Tensor):
        """Xavier-uniform per chromosome, zero on padding, as a per-chromosome Linear would."""
        with torch.no_grad():
            for i in range(self.n_groups):
                bound = math.sqrt(6.0 / float(fan_in[i] + fan_out[i]))
                weight[i].uniform_(-bound, bound)


class ChromosomeEncoderLayer(_ChromosomeBlocks):
    """Each chromosome's features → ``units`` hidden units; BatchNorm, activation, Dropout.

    Output width is ``units * n_chrom`` (chromosomes in the order of ``groups``).
    """

    def __init__(
        self,
        groups: Sequence[np.ndarray],
        n_features: int,
        *,
        units: int = 32,
        dropout: float = 0.1,
        activation: str = "leaky_relu",
        batch_norm: bool = True,
    ):
        super().__init__(groups, n_features, units)
        max_len = self.index.shape[1]
        self.weight = nn.Parameter(torch.empty(self.n_groups, max_len, units))
        self.bias = nn.Parameter(torch.zeros(self.n_groups, units))
        self._xavier(self.weight, self.lengths, torch.full_like(self.lengths, units))
        mask = torch.arange(max_len)[None, :] < self.lengths[:, None]
        with torch.no_grad():
            self.weight.mul_(mask[:, :, None])
        self.norm = nn.BatchNorm1d(units * self.n_groups) if batch_norm else nn.Identity()
        self.activation = make_activation(activation)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(batch, n_features)`` to ``(batch, units * n_chrom)``; ``x`` dense or a CSR
        tensor (``torch.sparse_csr``), read as it is (:meth:`sparse_hidden`).
        """
        if x.layout == torch.sparse_csr:
            hidden = self.sparse_hidden(x)
        else:
            hidden = self.dense_hidden(x)
        return self.dropout(self.activation(self.norm(hidden)))

    def sparse_hidden(self, x: torch.Tensor) -> torch.Tensor:
        """The per-chromosome linear maps of a CSR input, at a cost proportional to its stored
        values, without densifying, re-laying out or padding the input.

        The input's entries are re-rowed into a CSR matrix with one row per (cell, chromosome)
        and one column per position of the padded weight, so that the layer is one sparse ×
        dense product with the weight as it is stored (``torch.sparse.mm``): an embedding bag
        per chromosome. The same function as :meth:`dense_hidden` up to float rounding
        (tested); 2–5x cheaper forward + backward at 1–3 % non-zero and 200,000 peaks
        (``benchmarks/perf_sparse.py``).
        """
        n = x.shape[0]
        values = x.values()
        cell = row_ids(x.crow_indices())
        position = self.inverse.index_select(
            0, x.col_indices()
        )  # row of the flattened padded weight
        n_positions = self.weight.shape[0] * self.weight.shape[1]
        bag = cell * self.n_groups + torch.div(position, self.index.shape[1], rounding_mode="floor")
        key = bag * n_positions + position
        if key.numel() > 1 and not bool((key[1:] >= key[:-1]).all()):
            # Peaks not in chromosome order (or unsorted columns): sort the entries by row.
            order = torch.argsort(key)
            bag, position, values = bag[order], position[order], values[order]
        n_bags = n * self.n_groups
        row_pointers = torch.zeros(n_bags + 1, dtype=torch.int64, device=values.device)
        row_pointers[1:] = torch.cumsum(torch.bincount(bag, minlength=n_bags), 0)
        bags = csr_tensor(
            row_pointers, position, values.to(self.weight.dtype), (n_bags, n_positions)
        )
        sums = torch.sparse.mm(bags, self.weight.view(n_positions, self.units))
        return (sums.view(n, self.n_groups, self.units) + self.bias.unsqueeze(0)).reshape(n, -1)

    def dense_hidden(self, x: torch.Tensor) -> torch.Tensor:
        """The per-chromosome linear maps of a dense input, as one padded batched product."""
        n = x.shape[0]
        # A zero column at position n_features feeds the padding (zero input: the padded
        # weights get no gradient and stay 0). index_select is ~2x faster than x[:, index].
        padded = F.pad(x, (0, 1)).index_select(1, self.index.view(-1))
        blocks = padded.view(n, self.n_groups, -1).transpose(0, 1)  # (n_chrom, batch, max_len)
        hidden = torch.baddbmm(self.bias.unsqueeze(1), blocks, self.weight)  # (n_chrom, batch, u)
        return hidden.transpose(0, 1).reshape(n, -1)


class ChromosomeDecoderLayer(_ChromosomeBlocks):
    """Each chromosome's ``units`` hidden units → its features; BatchNorm per feature.

    Returns pre-activation values (logits); the caller applies the output activation, so that
    a Sigmoid output can be trained with a numerically stable BCE-with-logits.

    Parameters
    ----------
    groups, n_features, units
        As in :class:`ChromosomeEncoderLayer`.
    batch_norm
        Normalise each output feature over the minibatch (the paper); ``False`` leaves the
        per-chromosome linear maps (with their bias) as the output.
    """

    def __init__(
        self,
        groups: Sequence[np.ndarray],
        n_features: int,
        *,
        units: int = 32,
        batch_norm: bool = True,
    ):
        super().__init__(groups, n_features, units)
        max_len = self.index.shape[1]
        self.weight = nn.Parameter(torch.empty(self.n_groups, units, max_len))
        self.bias = nn.Parameter(torch.zeros(self.n_groups, max_len))
        self._xavier(self.weight, torch.full_like(self.lengths, units), self.lengths)
        self.norm = nn.BatchNorm1d(n_features) if batch_norm else nn.Identity()

    @torch.no_grad()
    def set_feature_bias(self, values: torch.Tensor) -> None:
        """Set the bias of every feature (in input order) to ``values``."""
        flat = self.bias.view(-1)
        flat[self.inverse] = values.to(flat.dtype)

    def sample_features(self, fraction: float) -> torch.Tensor:
        """A uniform sample of ``ceil(fraction · n_features)`` features without replacement,
        in chromosome order (the order :meth:`forward` returns them in), drawn with torch's
        generator.
        """
        k = max(1, math.ceil(fraction * self.n_features))
        return self._in_chromosome_order(
            torch.randperm(self.n_features, device=self.inverse.device)[:k]
        )

    def spaced_features(self, k: int) -> torch.Tensor:
        """``k`` features evenly spaced over the input order (all when ``k >= n_features``),
        in chromosome order: a fixed subset, the same at every call.
        """
        if k >= self.n_features:
            chosen = torch.arange(self.n_features, device=self.inverse.device)
        else:
            chosen = torch.linspace(0, self.n_features - 1, k, device=self.inverse.device).long()
        return self._in_chromosome_order(chosen)

    def _in_chromosome_order(self, features: torch.Tensor) -> torch.Tensor:
        """``features`` sorted by their place in the padded layout (chromosome by chromosome),
        the order :meth:`forward` decodes a subset in.
        """
        return features[torch.argsort(self.inverse.index_select(0, features))]

    def forward(self, h: torch.Tensor, features: torch.Tensor | None = None) -> torch.Tensor:
        """Map ``(batch, units * n_chrom)`` to ``(batch, n_features)`` logits, or with
        ``features`` (from :meth:`sample_features`) to the logits of those features only,
        ``(batch, len(features))``, at a cost proportional to their number.

        The BatchNorm normalises each feature over the minibatch, so a feature's logits are
        the same whichever other features are decoded with it (tested).
        """
        if features is not None:
            return self._some_features(h, features)
        n = h.shape[0]
        blocks = h.reshape(n, self.n_groups, self.units).transpose(0, 1)  # (n_chrom, batch, u)
        out = torch.baddbmm(self.bias.unsqueeze(1), blocks, self.weight)  # (n_chrom, batch, L)
        out = out.transpose(0, 1).reshape(n, -1).index_select(1, self.inverse)
        return self.norm(out)

    def _some_features(self, h: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        n = h.shape[0]
        blocks = h.reshape(n, self.n_groups, self.units)
        max_len = self.index.shape[1]
        position = self.inverse.index_select(0, features)
        chromosome = torch.div(position, max_len, rounding_mode="floor")
        offset = position - chromosome * max_len
        weight = self.weight[chromosome, :, offset]  # (k, units)
        bias = self.bias.view(-1).index_select(0, position)
        sizes = torch.bincount(chromosome, minlength=self.n_groups).tolist()
        pieces = []
        start = 0
        for c, size in enumerate(sizes):  # features come in chromosome order
            if size:
                stop = start + size
                pieces.append(torch.addmm(bias[start:stop], blocks[:, c], weight[start:stop].T))
                start = stop
        out = torch.cat(pieces, dim=1)
        if isinstance(self.norm, nn.Identity):
            return out
        return _batch_norm_of_features(self.norm, out, features)


def _batch_norm_of_features(
    norm: nn.BatchNorm1d, x: torch.Tensor, features: torch.Tensor
) -> torch.Tensor:
    """``norm`` applied to the columns ``features`` of its input only (``x`` holds them): the
    same per-feature statistics, affine parameters and running-statistics update as the full
    BatchNorm gives those columns.
    """
    use_batch = norm.training or norm.running_mean is None
    momentum = norm.momentum
    if momentum is None:  # a cumulative average, as nn.BatchNorm1d
        momentum = 1.0 / (float(norm.num_batches_tracked) + 1.0)
    running_mean = running_var = None
    if norm.running_mean is not None:
        running_mean = norm.running_mean.index_select(0, features)
        running_var = norm.running_var.index_select(0, features)
    out = F.batch_norm(
        x,
        running_mean,
        running_var,
        norm.weight.index_select(0, features) if norm.affine else None,
        norm.bias.index_select(0, features) if norm.affine else None,
        use_batch,
        momentum,
        norm.eps,
    )
    if norm.training and norm.running_mean is not None:
        with torch.no_grad():  # F.batch_norm updated the copies: write them back
            norm.running_mean.index_copy_(0, features, running_mean)
            norm.running_var.index_copy_(0, features, running_var)
            norm.num_batches_tracked.add_(1)
    return out


class BlockLinear(nn.Module):
    """One linear map per block: ``(batch, n_blocks · n_in)`` → ``(batch, n_blocks · n_out)``,
    each block of ``n_in`` units mapped by its own weights (a second per-chromosome layer),
    then an activation.
    """

    def __init__(self, n_blocks: int, n_in: int, n_out: int, *, activation: str = "prelu"):
        super().__init__()
        self.n_blocks, self.n_in, self.n_out = n_blocks, n_in, n_out
        self.weight = nn.Parameter(torch.empty(n_blocks, n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_blocks, n_out))
        bound = math.sqrt(6.0 / (n_in + n_out))
        nn.init.uniform_(self.weight, -bound, bound)
        self.activation = make_activation(activation)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Map each block of ``h``."""
        n = h.shape[0]
        blocks = h.reshape(n, self.n_blocks, self.n_in).transpose(0, 1)
        out = torch.baddbmm(self.bias.unsqueeze(1), blocks, self.weight)
        return self.activation(out.transpose(0, 1).reshape(n, -1))
