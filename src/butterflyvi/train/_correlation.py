"""Per-feature Pearson correlation accumulated over minibatches (``"correlation"`` objective)."""

from __future__ import annotations

from collections.abc import Callable

import torch


class FeatureCorrelation:
    """Mean over features of the Pearson correlation across cells, from running sums.

    Each feature ``j`` keeps ``Σp``, ``Σy``, ``Σp²``, ``Σy²`` and ``Σpy`` over the cells seen
    (in float64; float32 on Apple's MPS, which has no float64), so the result equals the
    correlation computed on all cells at once whatever the minibatches, and sums from several
    processes can simply be added. Features whose truth is constant are skipped; a constant
    prediction of a varying feature counts as 0 (no skill).
    """

    def __init__(self) -> None:
        self._sums: torch.Tensor | None = None

    def update(self, prediction: torch.Tensor, truth: torch.Tensor) -> None:
        """Add a minibatch (cells × features) of predictions and measured values."""
        dtype = torch.float32 if prediction.device.type == "mps" else torch.float64
        p, y = prediction.detach().to(dtype), truth.detach().to(dtype)
        batch = torch.stack(
            [
                torch.full_like(p[0], p.shape[0]),
                p.sum(0),
                y.sum(0),
                (p * p).sum(0),
                (y * y).sum(0),
                (p * y).sum(0),
            ]
        )
        self._sums = batch if self._sums is None else self._sums + batch

    def compute(
        self, reduce: Callable[[torch.Tensor], torch.Tensor] | None = None, *, eps: float = 1e-12
    ) -> torch.Tensor | None:
        """Mean per-feature correlation (``None`` before any update); resets the sums.

        ``reduce`` sums the running sums over processes (e.g. the Lightning strategy's
        ``reduce(..., reduce_op="sum")``); the identity on one device.
        """
        if self._sums is None:
            return None
        sums, self._sums = self._sums, None
        if reduce is not None:
            sums = reduce(sums)
        n, sp, sy, spp, syy, spy = sums
        cov = spy - sp * sy / n
        var_p = (spp - sp * sp / n).clamp_min(0)
        var_y = (syy - sy * sy / n).clamp_min(0)
        varying = var_y > eps * n
        if not bool(varying.any()):
            return torch.zeros((), dtype=sums.dtype, device=sums.device)
        denominator = (var_p * var_y).sqrt()
        r = torch.where(denominator > eps, cov / denominator.clamp_min(eps), 0.0)
        return r[varying].mean()
