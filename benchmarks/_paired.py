"""Benchmark of paired cross-modality translation (RNA ↔ ATAC, RNA ↔ ADT)."""

from __future__ import annotations

import time
from pathlib import Path

import mudata as md
import numpy as np
import scanpy as sc
import scvi
from anndata import AnnData

import butterflyvi as bf

from ._data import PairedData, load_paired
from ._fit import fit
from ._report import Record
from ._timing import peak_rss_gb

AUGMENT_KEY = "benchmark_augment_group"
CLUSTER_KEY = "butterfly_cluster"


def _kind(mod: str) -> str:
    return {"rna": "expression", "atac": "accessibility"}.get(mod, "protein")


def training_mudata(
    data: PairedData, variant: str, *, seed: int, quick: bool, record: Record
) -> tuple[md.MuData, list[np.ndarray], dict]:
    """The MuData the model trains on, its external indexing and a description.

    B: the measured pairs. T: ``bf.tl.augment`` over the training cells only (validation
    and test cells get no label, so they keep only their measured pair), grouped by the
    dataset's labels. C: ``bf.tl.cluster_for_augmentation`` (MULTIVI/TOTALVI fitted on the
    training cells) and then the same augmentation over its clusters.
    """
    split = data.split
    mdata = data.mdata
    info: dict = {"variant": variant}
    if variant == "B":
        return mdata, [split["train"], split["validation"], split["test"]], info
    if variant == "C":
        record.update(status="clustering (variant C)")
        start = time.perf_counter()
        bf.tl.cluster_for_augmentation(
            mdata,
            resolution=3,
            key_added=CLUSTER_KEY,
            layer="counts",
            train_indices=split["train"],
            max_epochs=2 if quick else None,
            seed=seed,
            train_kwargs={"enable_progress_bar": False},
        )
        info["clustering_seconds"] = time.perf_counter() - start
        info["n_clusters"] = int(mdata.obs[CLUSTER_KEY].nunique())
        source = mdata.obs[CLUSTER_KEY]
    else:
        source = mdata.obs[data.label_key]
    group = source.astype(object).copy()
    not_train = np.ones(mdata.n_obs, dtype=bool)
    not_train[split["train"]] = False
    group.iloc[not_train] = np.nan
    mdata.obs[AUGMENT_KEY] = group
    augmented = bf.tl.augment(mdata, groupby=AUGMENT_KEY, rounds=2, seed=seed)
    n = mdata.n_obs
    if not (augmented.obs_names[:n] == mdata.obs_names).all():
        raise RuntimeError("augment() did not keep the measured pairs first, in input order.")
    train = np.concatenate([split["train"], np.arange(n, augmented.n_obs)])
    info["n_training_pairs"] = int(train.size)
    info["groupby"] = CLUSTER_KEY if variant == "C" else data.label_key
    return augmented, [train, split["validation"], split["test"]], info


def _log_normalised(adata: AnnData) -> AnnData:
    """Expression on the log-normalised scale, whatever the preprocessing scaled it to (a
    z-scored X is recomputed from the counts), so that every preset is scored alike.
    """
    state = adata.uns.get("butterflyvi_preprocessing", {})
    if state.get("kind") != "expression" or state.get("scale", "none") == "none":
        return adata
    from butterflyvi.pp._rna import normalize_log1p

    counts = adata.layers["counts"]
    out = AnnData(X=normalize_log1p(counts.tocsr(), float(state["target_sum"])), var=adata.var[[]])
    out.obs_names = adata.obs_names
    return out


def _latent_knn(model, data: PairedData, source: str, target: str, test, train_names) -> AnnData:
    """``bf.tl.knn_translate`` in the model's latent space: the 25 training cells nearest to
    each test cell (from its source profile) vote with their measured target, on the scale
    the metrics compare (binarised peaks; log-normalised RNA; CLR protein).
    """
    train_target = data.mdata.mod[target][train_names]
    if _kind(target) == "accessibility":
        values = AnnData(X=(train_target.layers["counts"] > 0).astype(np.float32))
    else:
        values = AnnData(X=_log_normalised(train_target).X)
    values.obs_names, values.var_names = train_target.obs_names, train_target.var_names
    mods = {source: data.mdata.mod[source][train_names].copy(), target: values}
    for name in set(data.mdata.mod) - set(data.mods):  # extra inputs (gene activity)
        mods[name] = data.mdata.mod[name][train_names].copy()
    reference = md.MuData(mods)
    return bf.tl.knn_translate(test, reference=reference, source=source, target=target, model=model)


def _with_labels(adata: AnnData, labels: np.ndarray, key: str) -> AnnData:
    out = AnnData(X=adata.X, obs={key: labels}, var=adata.var[[]])
    out.obs_names = adata.obs_names
    return out


def _umap(adata: AnnData, seed: int) -> np.ndarray:
    work = AnnData(X=adata.X.copy())
    sc.pp.pca(work, n_comps=min(50, work.n_obs - 1, work.n_vars - 1), random_state=seed)
    sc.pp.neighbors(work, n_neighbors=15, random_state=seed)
    sc.tl.umap(work, random_state=seed)
    return work.obsm["X_umap"]


def evaluate(
    model: bf.ButterflyModel, data: PairedData, *, seed: int, umap_path: Path | None
) -> dict:
    """Translate the test cells both ways; metrics of the model and of the mean baseline."""
    x, y = data.mods
    test_names, train_names = data.names("test"), data.names("train")
    test = data.mdata[test_names].copy()
    labels = np.asarray(test.obs[data.label_key].astype(str), dtype=str)
    out: dict = {"directions": {}, "clustering": {}}
    embeddings: dict[str, np.ndarray] = {"labels": labels}
    for source, target in ((x, y), (y, x)):
        key = f"{source}_to_{target}"
        start = time.perf_counter()
        pred = model.translate(test, source=source)
        seconds = time.perf_counter() - start
        truth = _log_normalised(test.mod[target])
        train_target = _log_normalised(data.mdata.mod[target][train_names])
        baseline = bf.metrics.baseline_mean(train_target, test.n_obs, obs_names=test_names)
        if _kind(target) == "accessibility":
            metric = bf.metrics.accessibility
            # A second mean baseline on the binarised scale (fraction of training cells open).
            binary = AnnData(X=(train_target.X > 0).astype(np.float32), var=train_target.var)
            extra = {
                "baseline_open_fraction": metric(
                    bf.metrics.baseline_mean(binary, test.n_obs, obs_names=test_names), truth
                )
            }
        else:
            metric, extra = bf.metrics.expression, {}
        knn = _latent_knn(model, data, source, target, test, train_names)
        out["directions"][key] = {
            "target_kind": _kind(target),
            "model": {**metric(pred, truth), **bf.metrics.correlation_distance(pred, truth)},
            "latent_knn": {**metric(knn, truth), **bf.metrics.correlation_distance(knn, truth)},
            "baseline": metric(baseline, truth),
            "translate_seconds": seconds,
            **extra,
        }
        out["clustering"][f"translated_{target}"] = bf.metrics.clustering(
            _with_labels(pred, labels, data.label_key), label_key=data.label_key, seed=seed
        )
        if umap_path is not None:
            embeddings[f"translated_{target}"] = _umap(pred, seed)
    for mod in (x, y):
        out["clustering"][f"measured_{mod}"] = bf.metrics.clustering(
            _with_labels(test.mod[mod], labels, data.label_key),
            label_key=data.label_key,
            seed=seed,
        )
        if umap_path is not None:
            embeddings[f"measured_{mod}"] = _umap(test.mod[mod], seed)
    if umap_path is not None:
        np.savez_compressed(umap_path, **embeddings)
        out["umap_file"] = str(umap_path)
    return out


def run_paired(
    name: str,
    *,
    preset: str,
    variant: str,
    seed: int,
    epochs_pretrain: int,
    epochs: int,
    quick: bool,
    record: Record,
    umap_path: Path | None,
    threads: int | None = None,
    likelihoods: dict[str, str] | None = None,
    pp: str = "default",
    extra: str | None = None,
) -> None:
    """Run one paired benchmark end to end, writing progress and results to ``record``."""
    start = time.perf_counter()
    record.update(status="loading")
    data = load_paired(name, quick=quick, seed=seed, pp=pp, extra=extra)
    x, y = data.mods
    record.update(
        data={
            "n_cells": data.mdata.n_obs,
            "modalities": list(data.mods),
            "n_features": {m: data.mdata.mod[m].n_vars for m in data.mods},
            "split": {p: len(v) for p, v in data.split.items()},
            "label_key": data.label_key,
            "n_labels": int(data.mdata.obs[data.label_key].nunique()),
            "notes": data.notes,
        },
        preprocessing_seconds=time.perf_counter() - start,
    )
    train_mdata, indexing, variant_info = training_mudata(
        data, variant, seed=seed, quick=quick, record=record
    )
    record.update(variant_info=variant_info, status="training")
    scvi.settings.seed = seed
    extras = {"atac": extra} if extra else None
    bf.ButterflyModel.setup_mudata(train_mdata, modalities=(x, y), extra_inputs=extras)
    model = bf.ButterflyModel(train_mdata, preset=preset, likelihoods=likelihoods)
    training = fit(
        model,
        epochs_pretrain=epochs_pretrain,
        epochs=epochs,
        indexing=indexing,
        progress=lambda p: record.update(progress=p),
        threads=threads,
    )
    record.update(training=training, status="evaluating")
    metrics = evaluate(model, data, seed=seed, umap_path=umap_path)
    record.update(
        metrics=metrics,
        peak_rss_gb=peak_rss_gb(),
        wall_seconds_total=time.perf_counter() - start,
        status="done",
    )
