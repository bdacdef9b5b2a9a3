"""Perturbation-response metrics: DEG overlap and R² of mean expression (scGen style)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import scanpy as sc
from anndata import AnnData
from scipy import sparse

from ._expression import pearson_rows
from ._inputs import Matrix, as_table, check_finite, name_indexer, take


def perturbation(
    pred_stim: Any,
    ctrl: Any,
    stim: Any,
    *,
    top_n: int = 100,
    n_boot: int = 100,
    frac: float = 0.8,
    seed: int = 0,
    replace: bool = False,
    rankby_abs: bool = False,
) -> dict[str, float | int]:
    r"""Compare a predicted stimulated population with the measured one.

    All three inputs hold log-normalised expression of the same genes (cells differ and are
    not paired). When they are AnnData, genes are aligned to ``stim``'s ``var_names``
    (differing names are refused); arrays must list the genes in the same order.

    **DEGs.** The real DEGs are the ``top_n`` genes of a two-sided Wilcoxon rank-sum test of
    ``stim`` against ``ctrl``: :func:`scanpy.tl.rank_genes_groups` (``method="wilcoxon"``,
    ``reference`` = control, no tie correction) on a new AnnData stacking the two, genes
    ranked by the test's z-score, highest first (genes up in the stimulated cells, as in
    scGen's and scButterfly's evaluation; ``rankby_abs=True`` ranks by :math:`|z|`). The
    predicted DEGs are the same for ``pred_stim`` against ``ctrl``. Reported: their overlap
    :math:`|D_\text{real} \cap D_\text{pred}|` and that count divided by ``top_n``.

    **R².** With :math:`\bar x^\text{pred}, \bar x^\text{stim}` the per-gene means over the
    cells, :math:`R^2 = r(\bar x^\text{pred}, \bar x^\text{stim})^2`, the squared
    Pearson correlation of the two mean vectors (what scGen and scButterfly report as
    :math:`R^2`, from ``scipy.stats.linregress``; not a coefficient of determination
    :math:`1 - SS_\text{res}/SS_\text{tot}`). Computed over all genes (``r2_all``) and over
    the ``top_n`` real DEGs (``r2_degs``). The same for the per-gene standard deviations
    (``r2_sd_all``, ``r2_sd_degs``; PrePR-CT's second criterion: is the spread of the
    response right, not only its centre).

    **Bootstrap.** ``n_boot`` times, draw ``round(frac · n)`` cells of ``pred_stim`` and,
    independently, of ``stim`` (without replacement by default; the scButterfly paper says
    "with replacement": pass ``replace=True``), recompute both R² from the drawn cells' means
    (the DEGs stay those of the full data), and report their mean and standard deviation
    (``ddof=0``).

    Parameters
    ----------
    pred_stim
        Predicted stimulated cells × genes (AnnData, numpy array or scipy sparse matrix).
    ctrl
        Measured control cells × genes.
    stim
        Measured stimulated cells × genes.
    top_n
        Number of top DEGs (at most the number of genes).
    n_boot
        Bootstrap draws (at least 1).
    frac
        Fraction of cells per draw, in (0, 1].
    seed
        Seed of the bootstrap draws (:func:`numpy.random.default_rng`).
    replace
        Draw with replacement.
    rankby_abs
        Rank DEGs by absolute z-score (up- and down-regulated) instead of z-score.

    Returns
    -------
    dict
        ``deg_overlap``, ``deg_overlap_fraction``, ``r2_all``, ``r2_degs``,
        ``r2_all_boot_mean``/``_std``, ``r2_degs_boot_mean``/``_std``, ``r2_sd_all``,
        ``r2_sd_degs``, ``r2_sd_all_boot_mean``, ``r2_sd_degs_boot_mean``, ``top_n``,
        ``n_genes``, ``n_pred``, ``n_ctrl``, ``n_stim``. An R² is NaN when a mean vector is
        constant.

    """
    X_pred, X_ctrl, X_stim = _aligned_genes(pred_stim=pred_stim, ctrl=ctrl, stim=stim)
    n_genes = X_stim.shape[1]
    if not 1 <= top_n <= n_genes:
        raise ValueError(
            f"top_n: expected between 1 and the number of genes ({n_genes}), found {top_n}."
        )
    if n_boot < 1:
        raise ValueError(f"n_boot: expected at least 1, found {n_boot}.")
    if not 0 < frac <= 1:
        raise ValueError(f"frac: expected in (0, 1], found {frac}.")

    degs_real = top_degs(X_ctrl, X_stim, top_n=top_n, rankby_abs=rankby_abs)
    degs_pred = top_degs(X_ctrl, X_pred, top_n=top_n, rankby_abs=rankby_abs)
    overlap = int(np.intersect1d(degs_real, degs_pred).size)

    mean_pred, sd_pred = _weighted_mean_sd(X_pred, _uniform(X_pred.shape[0]))
    mean_stim, sd_stim = _weighted_mean_sd(X_stim, _uniform(X_stim.shape[0]))

    rng = np.random.default_rng(seed)
    boot = np.empty((n_boot, 4))
    for b in range(n_boot):
        m_pred, s_pred = _weighted_mean_sd(
            X_pred, _draw_weights(rng, X_pred.shape[0], frac, replace)
        )
        m_stim, s_stim = _weighted_mean_sd(
            X_stim, _draw_weights(rng, X_stim.shape[0], frac, replace)
        )
        boot[b] = (
            r_squared(m_pred, m_stim),
            r_squared(m_pred[degs_real], m_stim[degs_real]),
            r_squared(s_pred, s_stim),
            r_squared(s_pred[degs_real], s_stim[degs_real]),
        )

    return {
        "deg_overlap": overlap,
        "deg_overlap_fraction": overlap / top_n,
        "r2_all": r_squared(mean_pred, mean_stim),
        "r2_degs": r_squared(mean_pred[degs_real], mean_stim[degs_real]),
        "r2_all_boot_mean": float(boot[:, 0].mean()),
        "r2_all_boot_std": float(boot[:, 0].std()),
        "r2_degs_boot_mean": float(boot[:, 1].mean()),
        "r2_degs_boot_std": float(boot[:, 1].std()),
        "r2_sd_all": r_squared(sd_pred, sd_stim),
        "r2_sd_degs": r_squared(sd_pred[degs_real], sd_stim[degs_real]),
        "r2_sd_all_boot_mean": float(np.nanmean(boot[:, 2])),
        "r2_sd_degs_boot_mean": float(np.nanmean(boot[:, 3])),
        "top_n": int(top_n),
        "n_genes": int(n_genes),
        "n_pred": int(X_pred.shape[0]),
        "n_ctrl": int(X_ctrl.shape[0]),
        "n_stim": int(X_stim.shape[0]),
    }


def r_squared(a: np.ndarray, b: np.ndarray) -> float:
    """Squared Pearson correlation of two vectors; NaN when either is constant."""
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(pearson_rows(a[None, :], b[None, :])[0] ** 2)


def top_degs(X_ctrl: Matrix, X_case: Matrix, *, top_n: int, rankby_abs: bool = False) -> np.ndarray:
    """Column positions of the ``top_n`` Wilcoxon DEGs of ``X_case`` against ``X_ctrl``."""
    n_ctrl, n_case = X_ctrl.shape[0], X_case.shape[0]
    if sparse.issparse(X_ctrl) or sparse.issparse(X_case):
        X = sparse.vstack([sparse.csr_matrix(X_ctrl), sparse.csr_matrix(X_case)], format="csr")
    else:
        X = np.vstack([np.asarray(X_ctrl), np.asarray(X_case)])
    group = pd.Categorical(["ctrl"] * n_ctrl + ["case"] * n_case, categories=["ctrl", "case"])
    work = AnnData(
        X=X,
        obs=pd.DataFrame({"group": group}, index=[str(i) for i in range(n_ctrl + n_case)]),
        var=pd.DataFrame(index=[str(j) for j in range(X.shape[1])]),
    )
    work.uns["log1p"] = {"base": None}  # the inputs are log-normalised
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # constant genes give NaN fold changes
        sc.tl.rank_genes_groups(
            work,
            "group",
            groups=["case"],
            reference="ctrl",
            method="wilcoxon",
            n_genes=top_n,
            rankby_abs=rankby_abs,
            use_raw=False,
        )
    names = work.uns["rank_genes_groups"]["names"]["case"]
    return np.asarray(names, dtype=np.int64)[:top_n]


def _weighted_mean(X: Matrix, weights: np.ndarray) -> np.ndarray:
    r""":math:`\sum_i w_i x_i` over the rows of ``X``, as a float64 vector."""
    return np.asarray(X.T @ weights, dtype=np.float64).ravel()


def _weighted_mean_sd(X: Matrix, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-gene weighted mean and standard deviation (weights summing to 1)."""
    mean = _weighted_mean(X, weights)
    squares = X.multiply(X) if sparse.issparse(X) else np.square(X)
    second = _weighted_mean(squares, weights)
    return mean, np.sqrt(np.maximum(second - mean**2, 0.0))


def _uniform(n: int) -> np.ndarray:
    return np.full(n, 1.0 / n)


def _draw_weights(rng: np.random.Generator, n: int, frac: float, replace: bool) -> np.ndarray:
    k = max(1, round(frac * n))
    idx = rng.choice(n, size=k, replace=replace)
    return np.bincount(idx, minlength=n) / k


def _aligned_genes(*, pred_stim: Any, ctrl: Any, stim: Any) -> tuple[Matrix, Matrix, Matrix]:
    tables = {
        "stim": as_table(stim, name="stim"),
        "ctrl": as_table(ctrl, name="ctrl"),
        "pred_stim": as_table(pred_stim, name="pred_stim"),
    }
    named = [(name, t) for name, t in tables.items() if t.var_names is not None]
    out: dict[str, Matrix] = {}
    ref_name, ref = named[0] if named else ("stim", tables["stim"])
    for name, t in tables.items():
        X = t.X
        if t.var_names is not None and name != ref_name:
            assert ref.var_names is not None
            cols = name_indexer(
                ref.var_names, t.var_names, what="var_names", ref_name=ref_name, other_name=name
            )
            X = take(X, cols=cols)
        if X.shape[1] != ref.X.shape[1]:
            raise ValueError(
                f"{name}, {ref_name}: expected the same genes, found {X.shape[1]} and "
                f"{ref.X.shape[1]} columns."
            )
        if X.shape[0] < 2:
            raise ValueError(
                f"{name}: expected at least 2 cells for a rank test and means, found {X.shape[0]}."
            )
        check_finite(X, name=name)
        out[name] = X
    return out["pred_stim"], out["ctrl"], out["stim"]
