"""What a translation job shows: the cells on the model's reference map (coloured by predicted
cell type and by confidence), a table of predicted types and a summary — or, for a model
without reference cells, Leiden clusters on a UMAP of the prediction.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from anndata import AnnData

#: Files of a job folder written here.
MAP_FILE = "umap.png"
CONFIDENCE_FILE = "confidence.png"
SUMMARY_FILE = "summary.json"
#: A cell is of low confidence below this ``translation_confidence`` (harder than 90 % of the
#: calibration cells, or further from the reference than 98 % of them).
LOW_CONFIDENCE = 0.1
#: The result page warns when more than this share of cells is of low confidence (about
#: 10 % is expected of cells like the calibration cells).
WARN_SHARE = 0.25


@dataclass
class Placement:
    """Where a job's cells sit and what they are: columns and embeddings for the result file
    and the pictures, and the summary the result page reads.
    """

    obs: pd.DataFrame
    obsm: dict[str, np.ndarray] = field(default_factory=dict)
    summary: dict = field(default_factory=dict)


def describe(model, cells: AnnData, prediction: AnnData, *, source: str, log=None) -> Placement:
    """Place the translated cells and summarise them (``prediction`` may be backed; it is not
    changed): ``obs["predicted_cell_type"]`` and its confidence and
    ``obsm["X_reference_umap"]`` for a model with reference cells, else ``obs["leiden"]`` and
    ``obsm["X_umap"]`` of the prediction.
    """
    reference = getattr(model, "reference_", None)
    placed = Placement(prediction.obs.copy())
    placed.summary = {"n_cells": int(prediction.n_obs), "interval": prediction.uns.get("interval")}
    if reference and cells.n_obs >= 1:
        if reference.get("labels") is not None:
            model.annotate(cells, source=source)
            for column in ("predicted_cell_type", "predicted_cell_type_confidence"):
                placed.obs[column] = cells.obs[column].to_numpy()
            counts = placed.obs["predicted_cell_type"].astype(str).value_counts()
            placed.summary["types"] = [[str(k), int(v)] for k, v in counts.items()]
            placed.summary["label_key"] = reference.get("label_key")
        else:
            model.place_on_reference(cells, source=source)
        placed.obsm["X_reference_umap"] = cells.obsm["X_reference_umap"]
        placed.summary["map"] = "reference"
    else:
        values = prediction.to_memory() if prediction.isbacked else prediction
        embed(values, log)
        placed.obs["leiden"] = values.obs["leiden"].to_numpy()
        placed.obsm["X_umap"] = values.obsm["X_umap"]
        placed.summary["map"] = "leiden"
    if "translation_confidence" in placed.obs:
        confidence = placed.obs["translation_confidence"].to_numpy()
        share = float((confidence < LOW_CONFIDENCE).mean()) if len(confidence) else 0.0
        placed.summary["low_confidence_share"] = share
        placed.summary["median_confidence"] = (
            float(np.median(confidence)) if len(confidence) else None
        )
        placed.summary["warn_low_confidence"] = share > WARN_SHARE
    return placed


def add_to_file(path: Path, placed: Placement) -> None:
    """Write ``placed``'s obs and obsm into the (closed) result file at ``path``."""
    import h5py
    from anndata.io import write_elem

    with h5py.File(path, "r+") as file:
        del file["obs"]
        write_elem(file, "obs", placed.obs)
        if "obsm" not in file:
            write_elem(file, "obsm", {})
        for key, value in placed.obsm.items():
            write_elem(file["obsm"], key, np.asarray(value))


def embed(prediction: AnnData, log: logging.Logger | None = None) -> None:
    """Leiden clusters (``obs["leiden"]``) and a UMAP (``obsm["X_umap"]``) of a translation."""
    from .._neighbors import embed as embedding

    n = prediction.n_obs
    if n < 4:
        prediction.obs["leiden"] = "0"
        prediction.obsm["X_umap"] = np.zeros((n, 2), dtype=np.float32)
        return
    found = embedding(prediction.X, n_pcs=50, n_neighbors=15, resolution=1.0, umap=True)
    prediction.obs["leiden"] = pd.Categorical(found.leiden)
    prediction.obsm["X_umap"] = found.umap.astype(np.float32)
    if log is not None:
        log.info("%d Leiden clusters", prediction.obs["leiden"].nunique())


def draw(model, placed: Placement, folder: Path, *, title: str) -> None:
    """The job's pictures: the map coloured by predicted type (or Leiden cluster) and, when
    the model is calibrated, by confidence; and the summary file.
    """
    reference = getattr(model, "reference_", None)
    on_reference = placed.summary.get("map") == "reference"
    background = np.asarray(reference["umap"]) if on_reference else None
    if on_reference:
        xy = placed.obsm["X_reference_umap"]
        labels, legend = None, None
        if "predicted_cell_type" in placed.obs:
            labels, legend = placed.obs["predicted_cell_type"].astype(str), "predicted type"
    else:
        xy, labels, legend = placed.obsm["X_umap"], placed.obs["leiden"], "Leiden cluster"
    _categories(folder / MAP_FILE, xy, labels, background, legend=legend, title=title)
    if "translation_confidence" in placed.obs:
        _confidence(
            folder / CONFIDENCE_FILE,
            xy,
            placed.obs["translation_confidence"].to_numpy(),
            background,
            title=title,
        )
    _write_json(folder / SUMMARY_FILE, placed.summary)


def read_summary(folder: Path) -> dict | None:
    """The summary of a finished job (``None`` for jobs from before summaries)."""
    path = folder / SUMMARY_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def _figure(background):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 5), dpi=110)
    if background is not None:
        ax.scatter(background[:, 0], background[:, 1], s=2, color="#d9d9d9", linewidths=0)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("UMAP 1")
    ax.set_ylabel("UMAP 2")
    return plt, fig, ax


def _point_size(n: int) -> float:
    return max(2.0, min(30.0, 4000.0 / max(n, 1)))


def _categories(path, xy, labels, background, *, legend, title) -> None:
    plt, fig, ax = _figure(background)
    size = _point_size(len(xy))
    where = "on the reference map (grey)" if background is not None else "UMAP"
    if labels is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=size, color="#1f77b4", linewidths=0)
        ax.set_title(f"{title}: {len(xy):,} cells {where}", fontsize=10)
    else:
        labels = np.asarray(labels, dtype=str)
        names = sorted(set(labels), key=lambda c: (c == "unknown", len(c), c))
        cmap = plt.get_cmap("tab20")
        for i, name in enumerate(names):
            chosen = labels == name
            color = "#7f7f7f" if name == "unknown" else cmap(i % 20)
            ax.scatter(xy[chosen, 0], xy[chosen, 1], s=size, color=color, label=name, linewidths=0)
        ax.set_title(f"{title}: {len(xy):,} cells {where}, by {legend}", fontsize=10)
        if len(names) <= 30:
            ax.legend(
                title=legend,
                markerscale=2,
                fontsize=7,
                loc="center left",
                bbox_to_anchor=(1.0, 0.5),
                frameon=False,
            )
    _save(plt, fig, path)


def _confidence(path, xy, confidence, background, *, title) -> None:
    plt, fig, ax = _figure(background)
    order = np.argsort(-confidence)  # the least confident drawn last, on top
    points = ax.scatter(
        xy[order, 0],
        xy[order, 1],
        c=confidence[order],
        s=_point_size(len(xy)),
        cmap="viridis",
        vmin=0,
        vmax=1,
        linewidths=0,
    )
    fig.colorbar(points, ax=ax, label="translation confidence")
    ax.set_title(f"{title}: confidence of each cell's translation", fontsize=10)
    _save(plt, fig, path)


def _save(plt, fig, path: Path) -> None:
    fig.tight_layout()
    partial = path.with_name(path.name + ".part.png")
    fig.savefig(partial, format="png")
    plt.close(fig)
    os.replace(partial, path)


def _write_json(path: Path, value: dict) -> None:
    partial = path.with_name(path.name + ".part")
    partial.write_text(json.dumps(value))
    os.replace(partial, path)
