"""The simple predictors that won the NeurIPS 2021 modality-prediction competition, as tools.

:func:`knn_translate` (LS_lab's kNN in SVD space) and :func:`ridge_translate` (Guanlab's
kernel ridge on SVD, or a linear ridge) take the same data as ``model.translate`` and return
the same kind of AnnData, fitted on the paired cells of a ``reference`` MuData, so that any
translation can be checked against them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData
from mudata import MuData

from .._constants import TRANSLATION_UNS_KEY
from .._validation import (
    check_choice,
    check_positive_int,
    check_seed,
    missing,
    positive_float,
    wrong_type,
)
from ._checks import paired_positions
from ._lowrank import LowRank, standardise_rows
from ._predictors import knn_ensemble, ridge_ensemble

#: Guanlab's SVD sizes (input, target) by direction; other directions use (300, 70).
GUANLAB_COMPONENTS = {
    ("expression", "protein"): (300, 70),
    ("expression", "accessibility"): (1000, 50),
    ("accessibility", "expression"): (100, 70),
}


def knn_translate(
    data: AnnData | MuData,
    *,
    reference: MuData,
    source: str,
    target: str | None = None,
    n_components: int = 50,
    n_neighbors: int = 25,
    n_folds: int = 10,
    layer: str | None = None,
    target_layer: str | None = None,
    missing_features: Literal["auto", "error", "zero"] = "auto",
    random_state: int = 0,
    model=None,
    transductive: bool = False,
    add_to_mdata: bool = False,
    key_added: str | None = None,
) -> AnnData:
    """Translate by k-nearest neighbours in SVD space (LS_lab, NeurIPS 2021 GEX→ATAC winner).

    Source and target of the ``reference`` cells are each reduced to ``n_components`` by a
    truncated SVD; the target components of a query cell are the mean of those of its
    ``n_neighbors`` nearest reference cells (Euclidean, in the source components), averaged
    over ``n_folds`` fits that each leave one fold of the reference out; the result is
    projected back to the target features and clipped to the reference's range.

    Parameters
    ----------
    data
        Cells to translate: a MuData with modality ``source``, or an AnnData of that
        modality. Raw counts are preprocessed with the reference's stored
        ``butterflyvi.pp`` state; otherwise the values must be on the reference's scale.
    reference
        Paired cells with both modalities, on the scale to predict (e.g. preprocessed with
        ``butterflyvi.pp``). Only its paired cells are used.
    source
        The measured modality.
    target
        The modality to predict (default: the other modality of a two-modality reference).
    n_components
        SVD components of input and target (50 as LS_lab); a target with fewer features is
        used as is.
    n_neighbors
        Neighbours averaged (25 as LS_lab).
    n_folds
        Fits averaged, each leaving out one fold of the reference (10 as LS_lab; 1: one fit
        on all cells).
    layer
        Layer of the source modality to read, in ``data`` and ``reference`` (default ``X``).
    target_layer
        Layer of the reference's target modality to predict (default ``X``).
    missing_features
        Reference source features absent from ``data``: as ``missing`` of
        ``model.translate`` (``"auto"`` fills them with zeros when at least half are present).
    random_state
        Seed of the SVD and of the folds.
    model
        A trained :class:`~butterflyvi.ButterflyModel` with ``source`` among its modalities:
        neighbours are then searched in its shared latent space (each cell's latent mean from
        its ``source`` profile) instead of the SVD of the source — the network's embedding
        with the measured profiles of the nearest reference cells as the prediction.
    transductive
        Fit the source's SVD on the reference and the query cells together (the NeurIPS 2021
        winners did: the query's profiles are known, only its target is not); ``False`` fits
        it on the reference alone.
    add_to_mdata, key_added
        As in ``model.translate``: also write the prediction into a MuData ``data`` as
        modality ``key_added`` (default ``"{target}_from_{source}"``, var_names prefixed);
        by default ``data`` is left as it is.

    Returns
    -------
    AnnData of the cells of ``data`` in the reference target's features (CSR float32), with
    ``uns["butterflyvi_translation"]`` recording the method.
    """
    n_components = check_positive_int(n_components, name="n_components")
    n_neighbors = check_positive_int(n_neighbors, name="n_neighbors")
    n_folds = check_positive_int(n_folds, name="n_folds")
    check_seed(random_state, name="random_state")
    problem = _Problem.build(data, reference, source, target, layer, target_layer, missing_features)
    if n_folds > 1 and n_folds > problem.n_reference:
        raise _too_few("n_folds", n_folds, problem.n_reference)
    targets = LowRank(n_components, random_state).fit(problem.Y_reference)
    if model is None:
        inputs = LowRank(n_components, random_state).fit(problem.source_for_svd(transductive))
        Z_reference = inputs.transform(problem.X_reference)
        Z_query = inputs.transform(problem.X_query)
        space = "svd"
    else:
        Z_reference, Z_query = _latents(model, problem, source)
        space = "latent"
    components = knn_ensemble(
        Z_reference,
        targets.transform(problem.Y_reference),
        Z_query,
        n_neighbors=n_neighbors,
        n_folds=n_folds,
        random_state=random_state,
    )
    settings = {
        "n_components": n_components,
        "n_neighbors": n_neighbors,
        "n_folds": n_folds,
        "space": space,
        "transductive": bool(transductive),
    }
    return problem.finish(targets.inverse(components), "knn", settings, add_to_mdata, key_added)


def _latents(model, problem: _Problem, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Latent means of the reference's paired cells and of the query, from ``source``."""
    modalities = list(getattr(model, "modalities_", []))
    if source not in modalities:
        raise missing("source", f"one of the model's modalities {modalities}", repr(source))
    # MuData views keep the model's extra inputs (e.g. gene activity beside ATAC) at hand.
    reference = problem.reference[problem.cells]
    query = problem.data if isinstance(problem.data, MuData) else problem.query
    z_reference = model.get_latent_representation(reference, modality=source)
    z_query = model.get_latent_representation(query, modality=source)
    return z_reference, z_query


def ridge_translate(
    data: AnnData | MuData,
    *,
    reference: MuData,
    source: str,
    target: str | None = None,
    kernel: Literal["rbf", "linear"] = "rbf",
    n_components: tuple[int, int] | None = None,
    alpha: float | None = None,
    length_scale: float = 10.0,
    n_fits: int = 10,
    batch_key: str | None = None,
    max_cells: int | None = 20_000,
    layer: str | None = None,
    target_layer: str | None = None,
    missing_features: Literal["auto", "error", "zero"] = "auto",
    random_state: int = 0,
    transductive: bool = False,
    add_to_mdata: bool = False,
    key_added: str | None = None,
) -> AnnData:
    """Translate by ridge regression on SVD components (Guanlab, NeurIPS 2021 GEX→ADT winner).

    The reference's source is reduced by a truncated SVD and each cell's components are
    standardised (row-wise); a ridge regression (``kernel="rbf"``: kernel ridge with a
    Gaussian kernel, as Guanlab; ``"linear"``: ordinary ridge) predicts the target's SVD
    components; ``n_fits`` fits on random halves of the batches are averaged; the result is
    projected back and clipped to the reference's range (so ≥ 0 for expression, ≤ 1 for
    binarised peaks).

    Parameters
    ----------
    data, reference, source, target, layer, target_layer, missing_features, add_to_mdata, key_added
        As in :func:`knn_translate`.
    kernel
        ``"rbf"`` (Guanlab) or ``"linear"``.
    n_components
        SVD components of (input, target). Default: Guanlab's by direction — (300, 70)
        expression → protein, (1000, 50) expression → accessibility, (100, 70)
        accessibility → expression, otherwise (300, 70). Capped by the data's size.
    alpha
        Ridge penalty (default Guanlab's: 0.1 with accessibility on either side, else 0.2).
    length_scale
        Length scale of the RBF kernel (10 as Guanlab).
    n_fits
        Fits averaged (10 as Guanlab: five shuffles of the batches, each half fitted).
    batch_key
        ``reference.obs`` column of the batches (donors, sites) halved between fits;
        ``None``: every cell is its own batch, so each fit uses a random half of the cells.
    max_cells
        Cells per fit at most (a random subset beyond it): the RBF kernel matrix takes
        8 · cells² bytes. ``None``: no limit.
    random_state
        Seed of the SVD and of the halves.
    transductive
        Fit the source's SVD on the reference and the query cells together (the NeurIPS 2021
        winners did: the query's profiles are known, only its target is not); ``False`` fits
        it on the reference alone.

    Returns
    -------
    AnnData as :func:`knn_translate`.
    """
    check_choice(kernel, name="kernel", choices=("rbf", "linear"))
    n_fits = check_positive_int(n_fits, name="n_fits")
    length_scale = positive_float(length_scale, name="length_scale")
    if max_cells is not None:
        max_cells = check_positive_int(max_cells, name="max_cells")
    check_seed(random_state, name="random_state")
    problem = _Problem.build(data, reference, source, target, layer, target_layer, missing_features)
    kinds = (problem.source_kind, problem.target_kind)
    if n_components is None:
        n_components = GUANLAB_COMPONENTS.get(kinds, (300, 70))
    if isinstance(n_components, int | np.integer) or len(n_components) != 2:
        raise wrong_type(
            "n_components", "a pair (input, target) of positive integers", n_components
        )
    n_in = check_positive_int(n_components[0], name="n_components[0]")
    n_out = check_positive_int(n_components[1], name="n_components[1]")
    if alpha is None:
        alpha = 0.1 if "accessibility" in kinds else 0.2
    alpha = positive_float(alpha, name="alpha")
    groups = None
    if batch_key is not None:
        groups = problem.reference_obs(batch_key)
    inputs = LowRank(n_in, random_state).fit(problem.source_for_svd(transductive))
    targets = LowRank(n_out, random_state).fit(problem.Y_reference)
    components = ridge_ensemble(
        standardise_rows(inputs.transform(problem.X_reference)),
        targets.transform(problem.Y_reference),
        standardise_rows(inputs.transform(problem.X_query)),
        kernel=kernel,
        alpha=alpha,
        length_scale=length_scale,
        n_fits=n_fits,
        groups=groups,
        max_cells=max_cells,
        random_state=random_state,
    )
    settings = {
        "kernel": kernel,
        "n_components": [n_in, n_out],
        "alpha": alpha,
        "length_scale": length_scale,
        "n_fits": n_fits,
        "transductive": bool(transductive),
    }
    return problem.finish(
        targets.inverse(components), f"ridge_{kernel}", settings, add_to_mdata, key_added
    )


def _too_few(argument: str, value: int, n_reference: int) -> ValueError:
    return ValueError(
        f"{argument}: expected at most the number of reference cells ({n_reference}), "
        f"found {value}."
    )


@dataclass
class _Problem:
    """The matrices of one baseline translation and the way back to an AnnData."""

    data: AnnData | MuData
    reference: MuData
    cells: pd.Index
    source: str
    target: str
    source_kind: str
    target_kind: str
    X_reference: Any
    Y_reference: Any
    X_query: Any
    query: AnnData
    target_var: pd.DataFrame
    value_range: tuple[float, float]

    def source_for_svd(self, transductive: bool):
        """The source rows an SVD of the input is fitted on (with the query's, if asked)."""
        if not transductive:
            return self.X_reference
        if sp.issparse(self.X_reference) or sp.issparse(self.X_query):
            return sp.vstack([sp.csr_matrix(self.X_reference), sp.csr_matrix(self.X_query)]).tocsr()
        return np.vstack([self.X_reference, self.X_query])

    @property
    def n_reference(self) -> int:
        return self.X_reference.shape[0]

    @classmethod
    def build(cls, data, reference, source, target, layer, target_layer, missing_features):
        from ..kinds import infer_kind
        from ..model._features import FeatureSpace
        from ..model._inference import modality_of

        check_choice(missing_features, name="missing_features", choices=("auto", "error", "zero"))
        if not isinstance(reference, MuData):
            raise wrong_type("reference", "a MuData of paired cells", reference)
        mods = list(reference.mod)
        if source not in mods:
            raise missing("source", f"a modality of reference {mods}", repr(source))
        if target is None:
            others = [m for m in mods if m != source]
            if len(others) != 1:
                raise missing("target", f"one of {others}", "None with several candidates")
            target = others[0]
        elif target not in mods or target == source:
            raise missing(
                "target", f"a modality of reference other than {source!r} {mods}", repr(target)
            )
        ref_source, ref_target = reference.mod[source], reference.mod[target]
        cells, pos_x, pos_y = paired_positions(reference, source, target)
        if len(cells) < 2:
            raise ValueError(f"reference: expected at least 2 paired cells, found {len(cells)}.")
        source_kind = infer_kind(ref_source, source) or "expression"
        target_kind = infer_kind(ref_target, target) or "expression"
        space = FeatureSpace.from_adata(ref_source, modality=source, kind=source_kind, layer=layer)
        X_reference = _matrix(ref_source, layer, "layer")[pos_x]
        Y_reference = _matrix(ref_target, target_layer, "target_layer")[pos_y]
        query, query_layer = modality_of(data, space, layer)
        X_query = space.to_model_space(
            query, preprocess="auto", missing_features=missing_features, layer=query_layer
        )
        if not (sp.issparse(X_query) or isinstance(X_query, np.ndarray)):
            X_query = _stack_blocks(X_query)
        # scipy counts a sparse matrix's implicit zeros in min/max, as wanted here
        value_range = (float(Y_reference.min()), float(Y_reference.max()))
        return cls(
            data=data,
            reference=reference,
            cells=cells,
            source=source,
            target=target,
            source_kind=source_kind,
            target_kind=target_kind,
            X_reference=X_reference,
            Y_reference=Y_reference,
            X_query=X_query,
            query=query,
            target_var=ref_target.var[[]].copy(),
            value_range=value_range,
        )

    def reference_obs(self, key: str) -> np.ndarray:
        obs = self.reference.obs
        if key in obs:
            values = obs[key].reindex(self.cells)
        elif key in self.reference.mod[self.source].obs:
            values = self.reference.mod[self.source].obs[key].reindex(self.cells)
        else:
            raise missing("batch_key", "a column of reference.obs", repr(key))
        if values.isna().any():
            raise ValueError(f"batch_key: expected a batch for every cell, found {key!r} with NaN.")
        return values.astype(str).to_numpy()

    def finish(self, prediction, method, settings, add_to_mdata, key_added) -> AnnData:
        from ..model._inference import add_prediction

        low, high = self.value_range
        np.clip(prediction, low, high, out=prediction)
        out = AnnData(
            X=sp.csr_matrix(prediction.astype(np.float32)),
            obs=self.query.obs.copy(),
            var=self.target_var,
        )
        out.uns[TRANSLATION_UNS_KEY] = {
            "source": self.source,
            "target": self.target,
            "method": method,
            "settings": settings,
            "scale": f"the reference's {self.target!r} values",
        }
        if isinstance(self.data, MuData) and add_to_mdata:
            add_prediction(self.data, out, key_added or f"{self.target}_from_{self.source}")
        return out


def _matrix(adata: AnnData, layer: str | None, argument: str):
    if layer is not None and layer not in adata.layers:
        raise missing(argument, f"one of the layers {list(adata.layers)}", repr(layer))
    matrix = adata.X if layer is None else adata.layers[layer]
    if adata.isbacked:
        matrix = matrix[:]
    return (
        sp.csr_matrix(matrix, dtype=np.float64)
        if sp.issparse(matrix)
        else np.asarray(matrix, dtype=np.float64)
    )


def _stack_blocks(blocks) -> sp.csr_matrix:
    """A backed query (row blocks read on demand) gathered into one CSR matrix."""
    n = blocks.shape[0]
    step = 10_000
    parts = [sp.csr_matrix(blocks[slice(i, min(i + step, n))]) for i in range(0, n, step)]
    return sp.vstack(parts).tocsr()
