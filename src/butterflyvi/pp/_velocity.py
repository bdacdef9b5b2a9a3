"""CrossMP's fourth input: the expression of the genes ranked highest by RNA velocity."""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np
import pandas as pd
from anndata import AnnData

from .._validation import check_choice, check_positive_int

__all__ = ["velocity_genes"]

logger = logging.getLogger(__name__)


def velocity_genes(
    rna: AnnData,
    *,
    n_top: int = 500,
    mode: Literal["deterministic", "stochastic"] = "deterministic",
    resolution: float = 1.0,
    seed: int = 0,
) -> AnnData | None:
    """Expression of the genes with the highest RNA velocity score (CrossMP's "significant
    genes ranked by the velocity score"), as an extra input beside RNA; ``None`` (with a log
    message) without ``spliced``/``unspliced`` layers.

    Needs scVelo (``pip install "butterflyvi[velocity]"``). As CrossMP: scVelo's
    normalisation and moments, its velocity model, then scVelo's velocity score
    (``scvelo.tl.rank_velocity_genes``: a t-test of each gene's velocity in a group of cells
    against the rest, genes whose velocity correlates with expression). The groups are Leiden
    clusters of scVelo's neighbour graph (``rank_velocity_genes`` would otherwise need the
    ``louvain`` package); a gene's score is its best over the groups.

    Parameters
    ----------
    rna
        Cells × genes with ``layers["spliced"]`` and ``layers["unspliced"]`` (velocyto counts).
    n_top
        Genes kept (fewer when fewer have a velocity).
    mode
        scVelo's velocity model. ``"deterministic"`` by default: scVelo 0.3's ``"stochastic"``
        fails under numpy 2 (``ValueError: setting an array element with a sequence``).
    resolution
        Leiden resolution of the groups.
    seed
        Seed of the Leiden clustering.

    Returns
    -------
    AnnData of the same cells × the kept genes (their smoothed spliced expression,
    ``layers["Ms"]``), with ``var["velocity_score"]`` and ``var["velocity_r2"]``, genes by
    decreasing score; or ``None`` when the layers are absent.
    """
    if not {"spliced", "unspliced"} <= set(rna.layers):
        logger.info(
            "velocity_genes: skipped (no spliced/unspliced layers; velocyto or STARsolo "
            "Velocyto output provides them)."
        )
        return None
    try:
        import scanpy as sc
        import scvelo as scv
    except ImportError as error:
        raise ImportError(
            f'velocity_genes needs scVelo: pip install "butterflyvi[velocity]" ({error}).'
        ) from error
    n_top = check_positive_int(n_top, name="n_top")
    check_choice(mode, name="mode", choices=("deterministic", "stochastic"))
    work: Any = rna.copy()
    work.X = work.layers["spliced"].copy()
    with _quiet_scvelo(scv):
        scv.pp.filter_and_normalize(work, min_shared_counts=0)
        scv.pp.moments(work, n_pcs=min(30, work.n_vars - 1, work.n_obs - 1), n_neighbors=30)
        scv.tl.velocity(work, mode=mode)
        sc.tl.leiden(
            work,
            resolution=resolution,
            key_added="velocity_groups",
            random_state=seed,
            flavor="igraph",
            n_iterations=2,
            directed=False,
        )
        scv.tl.rank_velocity_genes(work, groupby="velocity_groups", n_genes=work.n_vars)
    ranked = work.uns["rank_velocity_genes"]
    scores = pd.Series(-np.inf, index=work.var_names)
    for group in ranked["names"].dtype.names:
        names = pd.Index(ranked["names"][group]).astype(str)
        values = np.asarray(ranked["scores"][group], dtype=float)
        keep = names.isin(scores.index) & np.isfinite(values)
        best = pd.Series(values[keep], index=names[keep]).groupby(level=0).max()
        scores.loc[best.index] = np.maximum(scores.loc[best.index], best)
    scored = scores[np.isfinite(scores)].sort_values(ascending=False, kind="stable")
    if scored.empty:
        raise ValueError(
            "rna: expected genes with an RNA velocity (spliced and unspliced counts that vary "
            "together), found none after scVelo's velocity model."
        )
    genes = scored.index[: min(n_top, len(scored))]
    out = AnnData(X=np.asarray(work[:, genes].layers["Ms"], dtype=np.float32))
    out.obs_names = rna.obs_names.copy()
    out.var_names = genes
    out.var["velocity_score"] = scored.loc[genes].to_numpy()
    out.var["velocity_r2"] = work.var.loc[genes, "velocity_r2"].to_numpy()
    return out


@contextmanager
def _quiet_scvelo(scv):
    """ScVelo's progress lines and deprecation warnings silenced; its verbosity restored."""
    verbosity = scv.settings.verbosity
    scv.settings.verbosity = 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        scv.settings.verbosity = verbosity
