"""scButterfly-C: clusters from a MULTIVI/TOTALVI joint embedding, to augment unlabelled data."""

from __future__ import annotations

import logging
import os
import random
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData
from mudata import MuData

from .._constants import CLUSTER_KEY
from .._neighbors import embed
from .._validation import MissingKeyError
from ..kinds import available_kinds, get_kind, infer_kind
from ._assemble import take_rows_matrix
from ._checks import count_matrix, paired_positions, resolve_modalities, resolve_obs_column

logger = logging.getLogger(__name__)

#: The modality name each scvi-tools joint model registers besides "rna".
_JOINT_MOD = {"multivi": "atac", "totalvi": "protein"}


def _method_kinds() -> dict[str, str]:
    """scvi-tools joint model -> the kind it embeds with expression (``Kind.joint_embedding``)."""
    return {
        get_kind(k).joint_embedding: k for k in available_kinds() if get_kind(k).joint_embedding
    }


def cluster_for_augmentation(
    mdata: MuData,
    *,
    resolution: float = 3.0,
    key_added: str = CLUSTER_KEY,
    method: Literal["auto", "multivi", "totalvi"] = "auto",
    layer: str | None = "counts",
    modalities: Sequence[str] | None = None,
    train_indices: Sequence[int] | Sequence[str] | np.ndarray | None = None,
    max_epochs: int | None = None,
    n_neighbors: int = 15,
    seed: int | None = 0,
    batch_key: str | None = None,
    train_kwargs: Mapping[str, Any] | None = None,
) -> None:
    """Cluster paired cells on a joint embedding, for augmentation without labels (scButterfly-C).

    The raw counts of both modalities are copied into a new MuData (the user's object is
    never registered with scvi-tools), a joint model is trained on it — scvi-tools
    :class:`~scvi.model.MULTIVI` for RNA + ATAC, :class:`~scvi.model.TOTALVI` for RNA + ADT —
    and every cell is embedded with the trained model. A ``n_neighbors`` graph on that latent
    space is clustered with Leiden at ``resolution`` (scButterfly: 3, for small, pure
    clusters). Then augment with ``bf.tl.augment(mdata, groupby=key_added)``.

    Parameters
    ----------
    mdata
        Paired data; its modalities hold the same cells (matched by obs_names).
    resolution
        Leiden resolution.
    key_added
        Name of the ``mdata.obs`` column written.
    method
        ``"multivi"``, ``"totalvi"``, or ``"auto"``: picked from the modalities' kinds, read
        from ``var["feature_types"]`` ("Gene Expression"/"GEX", "Peaks"/"ATAC",
        "Antibody Capture"/"ADT") or else the modality names (rna/gex, atac/peaks,
        prot/protein/adt). When kinds cannot be inferred and ``method`` is explicit,
        ``modalities`` is read as ``(rna, other)``.
    layer
        Layer holding raw counts, in each modality; ``X`` is used for a modality without
        that layer (or when ``None``). Counts must be non-negative integers.
    modalities
        The two modalities to embed; ``None`` for the two modalities of ``mdata``.
    train_indices
        Cells to train the joint model on (the others are only embedded), as integer
        positions in the row order of the first modality, a boolean mask, or obs_names.
        ``None``: train on all cells.
    max_epochs
        Training epochs of the joint model; ``None`` for the scvi-tools default.
    n_neighbors
        Neighbours of the graph clustered by Leiden (capped at ``n_cells - 1``).
    seed
        Seed for scvi-tools/torch (model initialisation, training split and minibatches),
        the neighbour graph and Leiden. The global random states of ``random``, numpy and
        torch are restored afterwards.
    batch_key
        Optional obs column with batches, given to the joint model as its batch covariate
        (resolved like ``groupby`` in :func:`augment`). ``None``: no batch correction.
    train_kwargs
        Further keyword arguments for the joint model's ``train`` (e.g. ``accelerator``,
        ``batch_size``, ``enable_progress_bar``).

    Returns
    -------
    ``None``. Writes ``mdata.obs[key_added]``: categorical Leiden cluster labels (``"0"``,
    ``"1"``, …) of the embedded cells, NaN for cells of ``mdata`` outside the two modalities.
    Nothing else of ``mdata`` is changed.

    Raises
    ------
    ValueError
        If the counts are not raw counts, the modalities are not paired, the method cannot be
        inferred or does not fit the modalities, or an argument is out of range.
    KeyError
        If a modality or ``batch_key`` is missing, or ``train_indices`` names unknown cells.

    Examples
    --------
    >>> bf.tl.cluster_for_augmentation(mdata, resolution=3, key_added="butterflyvi_cluster")
    >>> mdata_aug = bf.tl.augment(mdata, groupby="butterflyvi_cluster")
    """
    if not isinstance(key_added, str) or not key_added:
        raise ValueError(f"key_added: expected a non-empty string, found {key_added!r}.")
    if not isinstance(resolution, int | float) or resolution <= 0:
        raise ValueError(f"resolution: expected a positive number, found {resolution!r}.")
    if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, int) or n_neighbors < 2:
        raise ValueError(f"n_neighbors: expected an integer >= 2, found {n_neighbors!r}.")
    if max_epochs is not None and (
        isinstance(max_epochs, bool) or not isinstance(max_epochs, int) or max_epochs < 1
    ):
        raise ValueError(f"max_epochs: expected a positive integer or None, found {max_epochs!r}.")
    if train_kwargs is not None and "max_epochs" in train_kwargs:
        raise ValueError(
            "train_kwargs: expected no 'max_epochs' (give it as max_epochs=), found one."
        )
    mod_x, mod_y = resolve_modalities(mdata, modalities)
    cells, pos_x, pos_y = paired_positions(mdata, mod_x, mod_y)
    if len(cells) < 3:
        raise ValueError(f"mdata: expected at least 3 paired cells to cluster, found {len(cells)}.")
    method, rna_mod, other_mod = _choose_method(mdata, mod_x, mod_y, method)
    positions = {mod_x: pos_x, mod_y: pos_y}
    counts = {
        mod: count_matrix(mdata.mod[mod], layer=layer, name=f"mdata[{mod!r}]")[0]
        for mod in (rna_mod, other_mod)
    }
    batch = None
    if batch_key is not None:
        batch = resolve_obs_column(mdata, batch_key, cells, arg="batch_key")
        if batch.isna().any():
            raise ValueError(
                f"batch_key: expected a batch for every cell in {batch_key!r}, found "
                f"{int(batch.isna().sum())} NaN values."
            )
    train = _train_positions(train_indices, cells)

    def joint(rows: np.ndarray) -> MuData:
        return _joint_mudata(
            rna=take_rows_matrix(counts[rna_mod], positions[rna_mod][rows]),
            other=take_rows_matrix(counts[other_mod], positions[other_mod][rows]),
            rna_var=mdata.mod[rna_mod].var_names,
            other_var=mdata.mod[other_mod].var_names,
            cells=cells[rows],
            batch=None if batch is None else batch.to_numpy()[rows],
            method=method,
        )

    everything = np.arange(len(cells))
    full = joint(everything)
    train_data = full if train is None else joint(train)
    with _seeded_global_rng(seed):
        latent = _joint_latent(
            train_data,
            full,
            method=method,
            has_batch=batch is not None,
            max_epochs=max_epochs,
            train_kwargs=dict(train_kwargs or {}),
        )
    labels = _leiden(latent, cells=cells, resolution=resolution, n_neighbors=n_neighbors, seed=seed)
    logger.info("cluster_for_augmentation: %d %s clusters", labels.cat.categories.size, method)
    mdata.obs[key_added] = labels.reindex(mdata.obs_names)


def _choose_method(mdata: MuData, mod_x: str, mod_y: str, method: str) -> tuple[str, str, str]:
    """Return ``(method, rna modality, other modality)``."""
    method = str(method).lower()
    method_kinds = _method_kinds()
    if method not in ("auto", *method_kinds):
        raise ValueError(
            f"method: expected 'auto' or one of {sorted(method_kinds)}, found {method!r}."
        )
    kinds = {mod: infer_kind(mdata.mod[mod], mod) for mod in (mod_x, mod_y)}
    expression = "expression"
    if method == "auto":
        found = {kinds[mod_x], kinds[mod_y]}
        for candidate, kind in method_kinds.items():
            if found == {expression, kind}:
                method = candidate
        if method == "auto":
            raise ValueError(
                "method: expected (with 'auto') one expression modality and one accessibility or "
                f"protein modality, found kinds {kinds} (from var['feature_types'] or modality "
                "names). "
                "Pass method='multivi' (RNA + ATAC) or 'totalvi' (RNA + ADT)."
            )
    wanted = method_kinds[method]
    for mod, kind in kinds.items():
        if kind not in (None, expression, wanted):
            raise ValueError(
                f"method: expected RNA with {wanted} data for {method!r}, found modality "
                f"{mod!r} of kind {kind} (inferred kinds {kinds})."
            )
    if kinds[mod_y] == expression and kinds[mod_x] != expression:
        return method, mod_y, mod_x
    if kinds[mod_x] == wanted and kinds[mod_y] != wanted:
        return method, mod_y, mod_x
    return method, mod_x, mod_y


def _train_positions(train_indices: Any, cells: pd.Index) -> np.ndarray | None:
    """Return sorted unique positions of the training cells, or ``None`` for all cells."""
    if train_indices is None:
        return None
    values = np.asarray(train_indices)
    n = len(cells)
    if values.dtype == bool:
        if values.shape != (n,):
            raise ValueError(
                f"train_indices: expected a boolean mask with one entry per cell ({n}), found "
                f"shape {values.shape}."
            )
        positions = np.flatnonzero(values)
    elif np.issubdtype(values.dtype, np.integer):
        positions = np.unique(values.ravel())
        if positions.size and (positions.min() < 0 or positions.max() >= n):
            raise ValueError(
                f"train_indices: expected positions in [0, {n}), found values from "
                f"{positions.min()} to {positions.max()}."
            )
    elif values.dtype.kind in "OUS":
        found = cells.get_indexer(values.ravel().astype(str))
        if (found < 0).any():
            missing = values.ravel()[found < 0][:5].tolist()
            raise MissingKeyError(
                f"train_indices: expected names of cells in the data, found others, e.g. {missing}."
            )
        positions = np.unique(found)
    else:
        raise TypeError(
            "train_indices: expected integer positions, a boolean mask or obs_names, found "
            f"dtype {values.dtype}."
        )
    if positions.size < 3:
        raise ValueError(f"train_indices: expected at least 3 cells, found {positions.size}.")
    return positions.astype(np.intp)


def _joint_mudata(
    *,
    rna: Any,
    other: Any,
    rna_var: pd.Index,
    other_var: pd.Index,
    cells: pd.Index,
    batch: np.ndarray | None,
    method: str,
) -> MuData:
    """Build a fresh MuData of float32 counts, modalities ``rna`` and ``atac``/``protein``.

    Counts are CSR, except the protein counts for TOTALVI, which it needs dense.
    """

    def as_counts(matrix: Any) -> sp.csr_matrix:
        return sp.csr_matrix(matrix, dtype=np.float32)

    obs = pd.DataFrame(index=pd.Index(cells.astype(str)))
    rna_obs = obs.copy()
    if batch is not None:
        rna_obs["batch"] = pd.Categorical(np.asarray(batch).astype(str))
    mods = {
        "rna": AnnData(X=as_counts(rna), obs=rna_obs, var=pd.DataFrame(index=rna_var.astype(str))),
        _JOINT_MOD[method]: AnnData(
            # TOTALVI's protein background prior needs a dense matrix (panels are small).
            X=as_counts(other).toarray() if method == "totalvi" else as_counts(other),
            obs=obs.copy(),
            var=pd.DataFrame(index=other_var.astype(str)),
        ),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        joint = MuData(mods)
    return joint


def _joint_latent(
    train_data: MuData,
    full: MuData,
    *,
    method: str,
    has_batch: bool,
    max_epochs: int | None,
    train_kwargs: dict[str, Any],
) -> np.ndarray:
    """Train MULTIVI/TOTALVI on ``train_data`` and return the latent means of ``full``'s cells."""
    import scvi

    batch_key = "batch" if has_batch else None
    if method == "multivi":
        model_cls = scvi.model.MULTIVI
        model_cls.setup_mudata(
            train_data,
            batch_key=batch_key,
            modalities={"rna_layer": "rna", "atac_layer": "atac", "batch_key": "rna"},
        )
    else:
        model_cls = scvi.model.TOTALVI
        model_cls.setup_mudata(
            train_data,
            batch_key=batch_key,
            modalities={"rna_layer": "rna", "protein_layer": "protein", "batch_key": "rna"},
        )
    model = model_cls(train_data)
    if max_epochs is not None:
        train_kwargs["max_epochs"] = max_epochs
    model.train(**train_kwargs)
    if full is not train_data:
        # MULTIVI.setup_mudata adds this column to the data it registers; the transferred
        # registration of the other cells expects it too.
        full.obs["_indices"] = np.arange(full.n_obs)
    latent = model.get_latent_representation(adata=None if full is train_data else full)
    return np.asarray(latent, dtype=np.float32)


def _leiden(
    latent: np.ndarray, *, cells: pd.Index, resolution: float, n_neighbors: int, seed: int | None
) -> pd.Series:
    """Return Leiden labels (categorical Series indexed by ``cells``) of a kNN graph."""
    found = embed(
        representation=latent,
        n_neighbors=n_neighbors,
        resolution=resolution,
        seed=0 if seed is None else seed,
    )
    labels = pd.Categorical(found.leiden, categories=sorted(set(found.leiden), key=int))
    return pd.Series(labels, index=cells)


@contextmanager
def _seeded_global_rng(seed: int | None) -> Iterator[None]:
    """Seed scvi-tools, torch, numpy and ``random`` inside the block; restore them after.

    scvi-tools reads its seed from ``scvi.settings`` (e.g. for the train/validation split),
    so the block sets it too, and puts the previous value back afterwards.
    """
    if seed is None:
        yield
        return
    import lightning.pytorch as pl
    import scvi
    import torch

    # The legacy global numpy state is what the libraries seed; save it to restore it.
    py_state, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    torch_state = torch.random.get_rng_state()
    cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    env = {key: os.environ.get(key) for key in ("PL_GLOBAL_SEED", "PL_SEED_WORKERS")}
    old_seed = scvi.settings._seed
    try:
        scvi.settings._seed = seed
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
        pl.seed_everything(seed, verbose=False)
        yield
    finally:
        scvi.settings._seed = old_seed
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn
        random.setstate(py_state)
        np.random.set_state(np_state)  # noqa: NPY002
        torch.random.set_rng_state(torch_state)
        if cuda_states is not None:
            torch.cuda.set_rng_state_all(cuda_states)
        for key, value in env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
