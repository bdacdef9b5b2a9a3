"""``translated_embedding``: measured and translated profiles side by side in one embedding style."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from anndata import AnnData
from matplotlib.axes import Axes

from .._neighbors import embed as _embed
from .._validation import MissingKeyError
from ._utils import finish, make_axes

BASES = ("umap", "pca", "tsne")


def _color_values(measured: AnnData, translated: AnnData, color: str | None):
    """The ``color`` column for each of the two, taken from either one by obs_names."""
    if color is None:
        return None, None
    sources = [a for a in (measured, translated) if color in a.obs]
    if not sources:
        raise MissingKeyError(
            "color: expected an obs column of measured or translated "
            f"({sorted(set(measured.obs.columns) | set(translated.obs.columns))}), found "
            f"{color!r}."
        )
    values = []
    for adata in (measured, translated):
        if color in adata.obs:
            values.append(adata.obs[color])
            continue
        lookup = sources[0].obs[color]
        missing = ~adata.obs_names.isin(lookup.index)
        if missing.any():
            raise MissingKeyError(
                f"color: expected {color!r} in the obs of both AnnData objects or of cells they "
                f"share, found {int(missing.sum())} cells without it."
            )
        values.append(lookup.reindex(adata.obs_names))
    return values[0], values[1]


def embed(adata: AnnData, basis: str, *, n_pcs: int, n_neighbors: int, seed: int) -> np.ndarray:
    """Coordinates of ``basis`` computed on a copy (PCA → kNN graph → UMAP/t-SNE)."""
    import scanpy as sc

    if basis not in BASES:
        raise ValueError(f"basis: expected one of {BASES}, found {basis!r}.")
    if adata.n_obs < 3:
        raise ValueError(f"data: an embedding needs at least 3 cells, found {adata.n_obs}.")
    n_pcs = max(2, min(n_pcs, adata.n_obs - 1, adata.n_vars - 1))
    found = _embed(adata.X, n_pcs=n_pcs, n_neighbors=n_neighbors, umap=basis == "umap", seed=seed)
    if basis == "pca":
        return found.pca[:, :2]
    if basis == "tsne":
        work = AnnData(obsm={"X_pca": found.pca})
        sc.tl.tsne(work, use_rep="X_pca", random_state=seed)
        return work.obsm["X_tsne"]
    return found.umap


def _palette(categories: Sequence) -> dict:
    import scanpy as sc

    colors = sc.pl.palettes.default_20 if len(categories) <= 20 else sc.pl.palettes.default_102
    return {c: colors[i % len(colors)] for i, c in enumerate(categories)}


def _scatter(axis: Axes, xy: np.ndarray, values, colors, *, size: float, vmin=None, vmax=None):
    if values is None:
        axis.scatter(xy[:, 0], xy[:, 1], s=size, color="0.4", linewidths=0)
        return None
    if colors is not None:  # categorical
        point_colors = [colors.get(v, "0.8") for v in values]
        axis.scatter(xy[:, 0], xy[:, 1], s=size, c=point_colors, linewidths=0)
        return None
    return axis.scatter(
        xy[:, 0], xy[:, 1], s=size, c=values.to_numpy(float), vmin=vmin, vmax=vmax, linewidths=0
    )


def translated_embedding(
    measured: AnnData,
    translated: AnnData,
    *,
    color: str | None = "cell_type",
    basis: str = "umap",
    n_pcs: int = 50,
    n_neighbors: int = 15,
    seed: int = 0,
    titles: Sequence[str] | None = None,
    size: float | None = None,
    show: bool | None = None,
    save: str | Path | None = None,
    ax: Sequence[Axes] | None = None,
) -> list[Axes] | None:
    """Embed measured and translated profiles of one modality side by side.

    Each is embedded on its own (PCA → ``n_neighbors`` graph → UMAP, or PCA / t-SNE) on a copy
    of its matrix, so the inputs are not modified; the same colours are used in both panels. A
    translation that keeps the cell types apart shows the same structure as the measurement.

    Parameters
    ----------
    measured
        Measured profiles, e.g. ``mdata["atac"]``.
    translated
        Translated profiles of the same modality, e.g. ``model.translate(mdata, source="rna")``.
    color
        obs column to colour by (categorical or numeric), read from either AnnData (matched by
        obs_names); ``None`` for no colour.
    basis
        ``"umap"``, ``"pca"`` or ``"tsne"``.
    n_pcs, n_neighbors, seed
        Principal components, neighbours of the graph, and random seed of the embedding.
    titles
        The two panel titles (default from the translation record).
    size
        Point size (default from the number of cells).
    show
        Show the figure (default: unless ``save`` is given).
    save
        Save the figure to this file.
    ax
        Two axes to draw into.

    Returns
    -------
    The two axes when the figure is not shown; else ``None``.
    """
    for name, adata in (("measured", measured), ("translated", translated)):
        if not isinstance(adata, AnnData):
            raise TypeError(f"{name}: expected an AnnData, found {type(adata).__name__}.")
    values = _color_values(measured, translated, color)
    coords = [
        embed(a, basis, n_pcs=n_pcs, n_neighbors=n_neighbors, seed=seed)
        for a in (measured, translated)
    ]
    record = translated.uns.get("butterflyvi_translation", {})
    if titles is None:
        target, source = record.get("target", "measured"), record.get("source")
        titles = (f"{target} (measured)", f"{target} from {source}" if source else "translated")
    categorical = values[0] is not None and not pd.api.types.is_numeric_dtype(values[0])
    colors = None
    if categorical:
        categories = pd.Index(pd.concat([values[0].astype(str), values[1].astype(str)]).unique())
        if isinstance(values[0].dtype, pd.CategoricalDtype):
            categories = pd.Index([str(c) for c in values[0].cat.categories]).append(
                categories.difference([str(c) for c in values[0].cat.categories], sort=False)
            )
        colors = _palette(list(categories))
        values = tuple(v.astype(str) for v in values)
    vmin = vmax = None
    if values[0] is not None and not categorical:
        both = np.concatenate([v.to_numpy(float) for v in values])
        vmin, vmax = np.nanmin(both), np.nanmax(both)
    size = size or max(2.0, min(30.0, 12000 / max(measured.n_obs, translated.n_obs)))

    fig, axes = make_axes(ax, 2, panel_size=(4.5, 4.0))
    mappable = None
    for axis, xy, vals, title in zip(axes, coords, values, titles, strict=True):
        mappable = _scatter(axis, xy, vals, colors, size=size, vmin=vmin, vmax=vmax)
        axis.set_title(title, fontsize=11)
        axis.set_xticks([])
        axis.set_yticks([])
        label = basis.upper() if basis != "tsne" else "t-SNE"
        axis.set_xlabel(f"{label} 1")
        axis.set_ylabel(f"{label} 2")
    if colors is not None:
        from matplotlib.lines import Line2D

        handles = [
            Line2D([], [], marker="o", ls="", color=c, label=k, markersize=5)
            for k, c in colors.items()
        ]
        axes[1].legend(
            handles=handles,
            title=color,
            loc="center left",
            bbox_to_anchor=(1.02, 0.5),
            fontsize=7,
            frameon=False,
            ncols=1 if len(handles) <= 16 else 2,
        )
    elif mappable is not None:
        fig.colorbar(mappable, ax=axes[1], label=color)
    return finish(fig, axes, show=show, save=save)
