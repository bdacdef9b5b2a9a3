"""OpenProblems ``predict_modality`` tasks from the public datasets, and the harness's own
control and baseline methods, ported (sources named on each).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData
from scipy.sparse import csc_matrix
from sklearn.decomposition import TruncatedSVD
from sklearn.gaussian_process.kernels import RBF
from sklearn.kernel_ridge import KernelRidge
from sklearn.neighbors import KNeighborsRegressor

import butterflyvi as bf
from butterflyvi.openproblems._tasks import harness_modality, process_dataset

#: Datasets → their two modalities: (name in the MuData, name in the harness).
DATASETS = {
    "bmmc_cite": (("rna", "GEX"), ("adt", "ADT")),
    "bmmc_multiome": (("rna", "GEX"), ("atac", "ATAC")),
    "snareseq": (("rna", "GEX"), ("atac", "ATAC")),
    "pbmc10k_cite": (("rna", "GEX"), ("prot", "ADT")),
    "pbmc_multiome": (("rna", "GEX"), ("atac", "ATAC")),
}
_BATCH = {"snareseq": "library"}  # the others: obs["batch"] where present, else one batch
_LABEL = {"pbmc10k_cite": "cluster_label"}


def _modalities(name: str) -> tuple[AnnData, AnnData, np.ndarray]:
    """The dataset's two modalities (raw counts in X) and its cell types (for the draw)."""
    mdata = bf.datasets.load_shared(name)
    (first, mod1), (second, mod2) = DATASETS[name]
    obs = mdata[first].obs
    batch_key = _BATCH.get(name, "batch")
    batch = obs[batch_key] if batch_key in obs else pd.Series("one", index=obs.index)
    label_key = _LABEL.get(name, "cell_type")
    labels = obs[label_key].astype(str).to_numpy() if label_key in obs else np.zeros(len(obs))
    obs = pd.DataFrame({"batch": batch.astype(str).to_numpy()}, index=obs.index)
    a = harness_modality(mdata[first].X, obs, mdata[first].var_names, mod1, name)
    b = harness_modality(mdata[second].X, obs, mdata[second].var_names, mod2, name)
    return a, b, labels


def tasks(name: str, *, seed: int = 1) -> dict[str, dict[str, AnnData]]:
    """Both directions of dataset ``name``: ``{"GEX2ATAC": files, "ATAC2GEX": files}``."""
    a, b, labels = _modalities(name)
    out = {}
    for first, second in ((a, b), (b, a)):
        direction = f"{first.uns['modality']}2{second.uns['modality']}"
        files = process_dataset(first.copy(), second.copy(), cell_type=labels, seed=seed)
        for part in files.values():
            part.uns["dataset_id"] = f"{name}_{direction.lower()}"
        out[direction] = files
    return out


# ---------------------------------------------------------------------------- controls
def zeros(train_mod1, train_mod2, test_mod1, seed=0):
    """``control_methods/zeros``: every value 0."""
    return np.zeros((test_mod1.n_obs, train_mod2.n_vars), dtype=np.float32)


def mean_per_gene(train_mod1, train_mod2, test_mod1, seed=0):
    """``control_methods/mean_per_gene``: each feature's training mean."""
    mean = np.asarray(train_mod2.layers["normalized"].mean(axis=0)).ravel()
    return np.tile(mean, (test_mod1.n_obs, 1)).astype(np.float32)


def random_predict(train_mod1, train_mod2, test_mod1, seed=0):
    """``control_methods/random_predict``: training rows drawn with replacement."""
    rows = np.random.default_rng(seed).integers(0, train_mod2.n_obs, test_mod1.n_obs)
    return sp.csr_matrix(train_mod2.layers["normalized"])[rows].toarray()


# ---------------------------------------------------------------------------- baselines
#: ``methods/guanlab_dengkw_pm/script.py``: (mod1 components, mod2 components, RBF length
#: scale, ridge alpha) by direction.
GUANLAB = {
    ("GEX", "ADT"): (300, 70, 10, 0.2),
    ("ADT", "GEX"): (None, 50, 10, 0.2),
    ("GEX", "ATAC"): (1000, 50, 10, 0.1),
    ("ATAC", "GEX"): (100, 70, 10, 0.1),
}


def _standardise(matrix: np.ndarray) -> np.ndarray:
    sd = matrix.std(axis=1, keepdims=True)
    sd[sd == 0] = 1
    return ((matrix - matrix.mean(axis=1, keepdims=True)) / sd).astype(np.float32)


def guanlab_dengkw_pm(train_mod1, train_mod2, test_mod1, seed=1000, n_repeats=5):
    """Port of ``methods/guanlab_dengkw_pm/script.py`` (NeurIPS 2021, Guanlab-dengkw): a
    transductive truncated SVD of mod1 (train + test), row-standardised; kernel ridge (RBF)
    on the SVD of mod2, fitted on halves of the shuffled batches ``n_repeats`` times and
    averaged, projected back, clipped at 0. Identical halves (one training batch) are fitted
    once: the fit is deterministic, so the average is the same.
    """
    n_mod1, n_mod2, scale, alpha = GUANLAB[(train_mod1.uns["modality"], train_mod2.uns["modality"])]
    both = sp.vstack([train_mod1.layers["normalized"], test_mod1.layers["normalized"]]).tocsr()
    if n_mod1 is not None and n_mod1 < both.shape[1]:
        reduced = TruncatedSVD(n_components=n_mod1).fit_transform(both).astype(np.float32)
    else:
        reduced = both.toarray().astype(np.float32)
    train, test = (
        _standardise(reduced[: train_mod1.n_obs]),
        _standardise(reduced[train_mod1.n_obs :]),
    )
    target = sp.csr_matrix(train_mod2.layers["normalized"])
    embedder = None
    if n_mod2 is not None and n_mod2 < target.shape[1]:
        embedder = TruncatedSVD(n_components=n_mod2)
        goal = embedder.fit_transform(target).astype(np.float32)
    else:
        goal = target.toarray().astype(np.float32)
    batches = train_mod1.obs["batch"].astype(str).unique().tolist()
    batch_of = train_mod1.obs["batch"].astype(str).to_numpy()
    np.random.seed(seed)  # noqa: NPY002 - the script's own generator
    prediction, fitted = 0.0, {}
    for _ in range(n_repeats):
        np.random.shuffle(batches)  # noqa: NPY002
        half = len(batches) // 2
        for part in (batches[:half], batches[half:]):
            part = frozenset(part or [batches[0]])
            if part not in fitted:
                rows = np.isin(batch_of, list(part))
                model = KernelRidge(alpha=alpha, kernel=RBF(length_scale=scale))
                fitted[part] = model.fit(train[rows], goal[rows]).predict(test)
            values = fitted[part]
            prediction = prediction + (values @ embedder.components_ if embedder else values)
    return np.clip(prediction / (2 * n_repeats), 0, None).astype(np.float32)


def knnr_py(train_mod1, train_mod2, test_mod1, seed=0, n_pcs=50, n_neighbors=100):
    """Port of ``methods/knnr_py/script.py``: transductive truncated SVD (50) of mod1, a
    100-nearest-neighbour regressor (Minkowski) of mod2's normalised values.
    """
    both = sp.vstack([train_mod1.layers["normalized"], test_mod1.layers["normalized"]]).tocsr()
    reduced = TruncatedSVD(n_components=min(n_pcs, both.shape[1] - 1)).fit_transform(both)
    train, test = reduced[: train_mod1.n_obs], reduced[train_mod1.n_obs :]
    k = min(n_neighbors, train_mod1.n_obs)
    target = sp.csr_matrix(train_mod2.layers["normalized"]).toarray()
    return KNeighborsRegressor(n_neighbors=k).fit(train, target).predict(test).astype(np.float32)


CONTROLS = {"zeros": zeros, "mean_per_gene": mean_per_gene, "random_predict": random_predict}
BASELINES = {"guanlab_dengkw_pm": guanlab_dengkw_pm, "knnr_py": knnr_py}


def as_prediction(values, test_mod1: AnnData, train_mod2: AnnData, method: str) -> AnnData:
    """The task's prediction file: ``layers["normalized"]`` as CSC, the test cells' obs index."""
    return AnnData(
        layers={"normalized": csc_matrix(values, dtype=np.float32)},
        obs=pd.DataFrame(index=test_mod1.obs_names),
        var=pd.DataFrame(index=train_mod2.var_names),
        uns={"dataset_id": train_mod2.uns["dataset_id"], "method_id": method},
    )
