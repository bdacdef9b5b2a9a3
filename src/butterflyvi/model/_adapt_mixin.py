"""``adapt``: fit batch vectors for a query's new batches on its own single modality,
keeping the translation weights frozen (scArches' idea, on butterflyvi's batch vectors).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from anndata import AnnData
from mudata import MuData

from .._validation import check_positive_int, invalid, missing, positive_float
from ._features import iterate_rows


class AdaptMixin:
    """``adapt`` for :class:`~butterflyvi.ButterflyModel` with a batch covariate."""

    def _query_batches(self, data, adata: AnnData, batch: str | None) -> pd.Series:
        """Each query cell's batch name (``batch`` for all, else ``obs[batch_key]``)."""
        if batch is not None:
            return pd.Series(str(batch), index=adata.obs_names)
        key = self.batch_key_
        if key in adata.obs:
            return adata.obs[key].astype(str)
        if isinstance(data, MuData) and key in data.obs:
            return data.obs[key].reindex(adata.obs_names).astype(str)
        raise missing("batch", f"a batch name, or obs[{key!r}] in the data", "neither")

    def adapt(
        self,
        data: AnnData | MuData,
        *,
        source: str,
        batch: str | None = None,
        max_epochs: int = 50,
        batch_size: int = 128,
        lr: float = 1e-2,
        seed: int = 0,
    ):
        """Fit the vectors of the query's new batches on its ``source`` modality alone.

        Each new batch (a name the model has not seen) gets encoder and decoder vectors,
        started at the mean of the training batches' and fitted to reconstruct the query's
        ``source`` profiles through the shared latent space; every trained weight stays as it
        was, so translations of the training batches do not change. Afterwards
        :meth:`translate` uses the fitted vectors for those cells. A batch adapted before can
        be adapted again, e.g. on its other modality.

        Parameters
        ----------
        data
            Query cells of ``source`` (AnnData, or a MuData holding it), raw counts or
            preprocessed as the model's data.
        source
            The measured modality.
        batch
            One batch name for all cells (default: ``obs[batch_key]`` of the data).
        max_epochs, batch_size, lr
            Passes over the query cells, cells per step, Adam's learning rate.
        seed
            Seed of the minibatch order.

        Returns
        -------
        The model (fitted in place); ``adapt_history_`` holds the loss of each epoch.
        """
        if not getattr(self, "batches_", None):
            raise invalid("model", "a model with batch_covariate=True", "one without batches")
        max_epochs = check_positive_int(max_epochs, name="max_epochs")
        batch_size = check_positive_int(batch_size, name="batch_size")
        lr = positive_float(lr, name="lr")
        index = self._modality_index(source, "source")
        likelihood = self.module.likelihoods[index]
        if likelihood.uses_counts:
            raise invalid(
                "source",
                "a modality whose likelihood fits its preprocessed values",
                f"{source!r} with the count likelihood {likelihood.name!r}",
            )
        adata, matrix, _ = self._source(
            data, index, preprocess="auto", missing_features="auto", layer=None
        )
        names = self._query_batches(data, adata, batch)
        adapted = self.adapted_batches_
        trained = [b for b in self.batches_ if b not in adapted]
        seen = sorted(set(pd.unique(names)) & set(trained))
        if seen:
            raise invalid(
                "data",
                "cells of batches the model did not train on (new or adapted before)",
                f"cells of the training batches {seen}",
            )
        new = [b for b in pd.unique(names) if b not in self.batches_]
        if new:
            self.module.add_batches(len(new))
            self.batches_ = [*self.batches_, *new]
            self.adapted_batches_ = [*adapted, *new]
        lookup = {b: i for i, b in enumerate(self.batches_)}
        codes = names.map(lookup).to_numpy(dtype=np.int64)
        self.adapt_history_ = self._fit_batch_vectors(
            matrix, codes, index, np.unique(codes), max_epochs, batch_size, lr, seed
        )
        return self

    def _fit_batch_vectors(self, matrix, codes, index, rows, epochs, batch_size, lr, seed):
        """Adam on the batch vectors ``rows`` of modality ``index`` only; the module stays in
        eval mode (no masking, no dropout, fixed BatchNorm statistics). Returns the epoch
        losses.
        """
        module, device = self.module, self.device
        tables = (module.batch_in, module.batch_out)
        frozen = [p for p in module.parameters() if p.requires_grad]
        for parameter in frozen:
            parameter.requires_grad_(False)
        mask = torch.zeros_like(module.batch_in)
        mask[index, torch.as_tensor(rows)] = 1.0
        for table in tables:
            table.requires_grad_(True)
        optimiser = torch.optim.Adam(tables, lr=lr)
        likelihood = module.likelihoods[index]
        rng = np.random.default_rng(seed)
        history = []
        module.eval()
        try:
            for _ in range(epochs):
                order = rng.permutation(matrix.shape[0])
                losses = []
                for start in range(0, len(order), batch_size):
                    cells = np.sort(order[start : start + batch_size])
                    x = torch.from_numpy(next(iterate_rows(matrix[cells], len(cells)))).to(device)
                    batch = torch.from_numpy(codes[cells]).to(device)
                    pre = module.reconstruction(x, index, batch)
                    loss = likelihood.loss(pre, likelihood.target(x))
                    optimiser.zero_grad()
                    loss.backward()
                    for table in tables:
                        table.grad.mul_(mask)
                    optimiser.step()
                    losses.append(float(loss))
                history.append(float(np.mean(losses)))
        finally:
            for parameter in frozen:
                parameter.requires_grad_(True)
        return history
