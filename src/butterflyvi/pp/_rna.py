"""Expression (scRNA-seq) preprocessing: median normalisation, log1p, highly variable genes."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import scanpy as sc
from anndata import AnnData
from scipy import sparse

from .._constants import PP_UNS_KEY
from .._threads import keep_torch_threads
from .._validation import (
    check_choice,
    check_fraction,
    check_matrix,
    check_positive_int,
    counts_hint,
    get_matrix,
    matrix_name,
    positive_float,
)
from ._mudata import on_modality
from ._sparse import make_actual, row_ids, row_sums, select_columns, to_csr, warn_empty_cells

__all__ = ["apply_rna", "preprocess_rna"]

HVG_FLAVORS = ("seurat", "cell_ranger", "seurat_v3", "seurat_v3_paper")
HVG_COLUMNS = (
    "highly_variable",
    "means",
    "dispersions",
    "dispersions_norm",
    "variances",
    "variances_norm",
    "highly_variable_rank",
)


def normalize_log1p(counts: sparse.csr_matrix, target_sum: float) -> sparse.csr_matrix:
    """``log1p(counts / total * target_sum)`` per cell; cells with total 0 stay 0 (float32)."""
    totals = row_sums(counts)
    factor = np.zeros_like(totals)
    nonzero = totals > 0
    factor[nonzero] = target_sum / totals[nonzero]
    out = counts.copy()
    out.data = np.log1p(counts.data.astype(np.float64) * factor[row_ids(counts)]).astype(np.float32)
    return out


def median_total(counts: sparse.csr_matrix) -> float:
    """Median of the non-zero per-cell totals (as ``scanpy.pp.normalize_total``)."""
    totals = row_sums(counts)
    totals = totals[totals > 0]
    if totals.size == 0:
        raise ValueError(
            "target_sum='median': expected at least one cell with a non-zero total count, "
            "found only empty cells; pass a number as `target_sum`."
        )
    return float(np.median(totals))


def _check_target_sum(target_sum: float | str) -> None:
    if isinstance(target_sum, str):
        if target_sum != "median":
            raise ValueError(
                f"target_sum: expected 'median' or a positive number, found {target_sum!r}."
            )
        return
    if (
        isinstance(target_sum, bool)
        or not isinstance(target_sum, int | float | np.number)
        or not np.isfinite(target_sum)
        or target_sum <= 0
    ):
        raise ValueError(
            f"target_sum: expected 'median' or a positive number, found {target_sum!r}."
        )


def _highly_variable(
    X: sparse.csr_matrix, var_names: pd.Index, *, n_top_genes: int, flavor: str
) -> pd.DataFrame:
    """Scanpy's highly-variable-gene table; every gene is flagged if ``n_top_genes >= n_vars``."""
    n_cells, n_genes = X.shape
    keep_all = n_top_genes >= n_genes
    k = min(n_top_genes, n_genes)
    if n_cells < 2:
        if not keep_all:
            raise ValueError(
                f"n_top_genes={n_top_genes}: selecting highly variable genes needs at least "
                f"2 cells, found {n_cells}; pass `n_top_genes >= {n_genes}` to keep every gene."
            )
        return pd.DataFrame({"highly_variable": np.ones(n_genes, dtype=bool)}, index=var_names)
    try:
        # With every gene kept, skip scanpy's top-n ranking (undefined when no gene has a
        # finite dispersion) and only take its statistics.
        with keep_torch_threads():
            hvg = sc.pp.highly_variable_genes(
                AnnData(X, obs=pd.DataFrame(index=[str(i) for i in range(n_cells)])),
                n_top_genes=None if keep_all and flavor in ("seurat", "cell_ranger") else k,
                flavor=flavor,
                inplace=False,
            )
    except (IndexError, ValueError) as err:
        if keep_all:  # the statistics are a bonus here: keep every gene without them
            return pd.DataFrame({"highly_variable": np.ones(n_genes, dtype=bool)}, index=var_names)
        raise ValueError(
            f"n_top_genes={n_top_genes}: scanpy could not rank the {n_genes:,} genes by "
            f"dispersion ({err}); too few cells or genes with variable expression? Pass "
            f"`n_top_genes >= {n_genes}` to keep every gene."
        ) from err
    hvg.index = var_names
    if keep_all:
        hvg["highly_variable"] = True
    return hvg


@on_modality
def preprocess_rna(
    adata: AnnData,
    *,
    n_top_genes: int = 3000,
    layer: str | None = None,
    target_sum: float | Literal["median"] = "median",
    flavor: Literal["seurat", "cell_ranger", "seurat_v3", "seurat_v3_paper"] = "seurat",
    subset: bool = True,
    scale: Literal["none", "zscore"] = "none",
    clip_quantile: float = 0.005,
    copy: bool = False,
) -> AnnData | None:
    """Preprocess raw gene-expression counts as scButterfly does (or as CrossMP does).

    Each cell is scaled to ``target_sum`` total counts, ``log1p`` is applied, and the
    ``n_top_genes`` highly variable genes are selected with
    :func:`scanpy.pp.highly_variable_genes` (``flavor="seurat"`` by default, as in the original
    scButterfly: dispersion-based, computed on the log data; ``"seurat_v3"`` variants are
    computed on the raw counts and need ``scikit-misc``). Everything stays sparse.

    Parameters
    ----------
    adata
        Cells × genes, with raw (integer) counts in ``adata.X`` or ``adata.layers[layer]``.
        Dense or sparse.
    n_top_genes
        Number of highly variable genes to keep. If ``>= adata.n_vars``, every gene is kept
        (and flagged highly variable).
    layer
        Layer holding the raw counts; ``None`` for ``adata.X``.
    target_sum
        Total count of every cell after normalisation. ``"median"`` (default) uses the median
        of the cells' totals, computed on these cells, ignoring cells with zero total (as
        :func:`scanpy.pp.normalize_total`). Cells with zero total stay zero, with a warning.
    flavor
        Highly-variable-gene method passed to :func:`scanpy.pp.highly_variable_genes`.
    subset
        Subset the genes of ``adata`` in place to the highly variable ones (if ``adata`` is a
        modality of a MuData, call ``mdata.update()`` afterwards).
    scale
        ``"none"`` (scButterfly): ``X`` is the sparse log-normalised matrix. ``"zscore"``
        (CrossMP): each gene is centred and scaled to unit variance over these cells, then
        values beyond the ``clip_quantile`` and ``1 - clip_quantile`` quantiles of the whole
        matrix are clipped; ``X`` is then dense (float32) — mind the memory on large data.
        The per-gene means and standard deviations (``var["zscore_mean"]``,
        ``var["zscore_std"]``) and the clip bounds are stored and re-applied to new cells.
    clip_quantile
        Share of values clipped at each end with ``scale="zscore"`` (0.005, CrossMP).
    copy
        Return a preprocessed copy instead of modifying ``adata``.

    Returns
    -------
    ``None`` if ``copy=False``, else a new :class:`~anndata.AnnData`. Writes:

    - ``layers["counts"]``: the raw counts (CSR, float32) of the kept genes,
    - ``X``: ``log1p(counts / cell total × target_sum)`` (CSR, float32); the cell total runs
      over all genes of the input, before the gene selection,
    - ``var["highly_variable"]``, ``var["means"]``, ``var["dispersions"]``,
      ``var["dispersions_norm"]`` (or the ``seurat_v3`` columns): from scanpy,
    - ``uns["butterflyvi_preprocessing"]``: ``{"kind": "expression", "target_sum": float,
      "log1p": True, "n_top_genes": int, "flavor": str, "source_layer": str}`` with
      ``source_layer`` the layer name or ``"X"``; see :func:`apply_preprocessing`.

    Raises
    ------
    ValueError
        On an empty matrix, NaN/Inf, negative or non-integer values (pass the raw-count
        ``layer``), or invalid arguments. ``adata`` is left unchanged.

    """
    n_top_genes = check_positive_int(n_top_genes, name="n_top_genes")
    _check_target_sum(target_sum)
    check_choice(scale, name="scale", choices=("none", "zscore"))
    clip_quantile = check_fraction(clip_quantile, name="clip_quantile")
    check_choice(flavor, name="flavor", choices=HVG_FLAVORS)
    X = get_matrix(adata, layer)
    check_matrix(X, name=matrix_name(layer), require_counts=True, hint=counts_hint(adata, layer))

    counts = to_csr(X)
    fitted_sum = median_total(counts) if target_sum == "median" else float(target_sum)
    totals = row_sums(counts)
    lognorm = normalize_log1p(counts, fitted_sum)

    hvg_input = counts if flavor.startswith("seurat_v3") else lognorm
    hvg = _highly_variable(hvg_input, adata.var_names, n_top_genes=n_top_genes, flavor=flavor)
    keep = hvg["highly_variable"].to_numpy(dtype=bool)

    warn_empty_cells(int((totals == 0).sum()), adata.n_obs, "a total count of 0")

    # Everything is computed: only now touch `adata`.
    if copy:
        adata = adata.copy()
    make_actual(adata)
    for col in HVG_COLUMNS:
        if col in hvg.columns:
            adata.var[col] = hvg[col].to_numpy()
    # Both are replaced below: drop them first so that the subset does not copy them.
    adata.X = None
    adata.layers.pop("counts", None)
    if subset and not keep.all():
        adata._inplace_subset_var(keep)
        counts = counts[:, keep]
        lognorm = lognorm[:, keep]
    adata.layers["counts"] = counts
    state = {
        "kind": "expression",
        "target_sum": fitted_sum,
        "log1p": True,
        "n_top_genes": n_top_genes,
        "flavor": str(flavor),
        "source_layer": "X" if layer is None else str(layer),
        "scale": str(scale),
    }
    if scale == "zscore":
        mean, std, low, high = fit_zscore(lognorm, clip_quantile)
        adata.var["zscore_mean"], adata.var["zscore_std"] = mean, std
        state.update(clip_low=low, clip_high=high, clip_quantile=clip_quantile)
        lognorm = zscore(lognorm, mean, std, low, high)
    adata.X = lognorm
    adata.uns[PP_UNS_KEY] = state
    return adata if copy else None


def fit_zscore(
    lognorm: sparse.csr_matrix, clip_quantile: float, *, max_sample: int = 5_000_000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Per-gene mean and standard deviation, and the clip bounds: the ``clip_quantile`` and
    ``1 - clip_quantile`` quantiles of the z-scored values (estimated on a sample of at most
    ``max_sample`` entries, zeros included, without densifying the matrix).
    """
    n, g = lognorm.shape
    mean = np.asarray(lognorm.mean(axis=0)).ravel()
    mean_sq = np.asarray(lognorm.multiply(lognorm).mean(axis=0)).ravel()
    std = np.sqrt(np.maximum(mean_sq - mean**2, 0.0))
    std[std == 0] = 1.0
    rng = np.random.default_rng(seed)
    size = min(max_sample, n * g)
    rows, cols = rng.integers(0, n, size), rng.integers(0, g, size)
    values = (np.asarray(lognorm[rows, cols]).ravel() - mean[cols]) / std[cols]
    low, high = np.quantile(values, [clip_quantile, 1.0 - clip_quantile])
    return mean, std, float(low), float(high)


def zscore(
    lognorm: sparse.csr_matrix, mean: np.ndarray, std: np.ndarray, low: float, high: float
) -> np.ndarray:
    """``clip((x - mean) / std, low, high)`` per gene, dense float32."""
    dense = lognorm.toarray().astype(np.float32)
    dense -= mean.astype(np.float32)
    dense /= std.astype(np.float32)
    return np.clip(dense, low, high, out=dense)


def apply_rna(
    counts: sparse.csr_matrix, source: pd.Index, var: pd.DataFrame, state: dict
) -> tuple[sparse.csr_matrix, sparse.csr_matrix, dict]:
    """Re-apply a fitted expression state to raw counts of new cells (see ``apply_preprocessing``).

    Each cell is normalised with its total over **all** its genes (as in the fit, where the
    totals precede the gene selection), then ``log1p``, then restricted to ``var``'s genes.
    Returns the transformed values, the counts of ``var``'s genes and no obs columns.
    """
    target_sum = positive_float(state["target_sum"], name="state['target_sum']")
    totals = row_sums(counts)
    warn_empty_cells(int((totals == 0).sum()), counts.shape[0], "a total count of 0")
    transformed, _ = select_columns(normalize_log1p(counts, target_sum), source, var.index)
    selected, _ = select_columns(counts, source, var.index)
    if state.get("scale", "none") == "zscore":
        transformed = zscore(
            transformed,
            var["zscore_mean"].to_numpy(np.float64),
            var["zscore_std"].to_numpy(np.float64),
            float(state["clip_low"]),
            float(state["clip_high"]),
        )
    return transformed, selected, {}
