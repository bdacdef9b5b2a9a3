"""Cell-type annotation: agreement metrics and kNN label transfer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse
from sklearn import metrics as skm
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

from .._validation import MissingKeyError
from ._inputs import as_table, check_finite, labels_of, name_indexer, obs_labels, take

#: Query cells handled at once by the vote of :func:`transfer_labels`.
_VOTE_BLOCK = 50_000


def annotation(true: Any, predicted: Any) -> dict[str, float | int]:
    r"""Agreement of predicted cell-type labels with the true ones.

    With :math:`n` cells, per-label precision :math:`p_c`, recall :math:`r_c`,
    :math:`F1_c = 2 p_c r_c / (p_c + r_c)` (0 when undefined) and support :math:`n_c`:

    - accuracy :math:`= \frac1n \sum_i [\hat y_i = y_i]`;
    - Cohen's kappa :math:`\kappa = (p_o - p_e)/(1 - p_e)`, with observed agreement
      :math:`p_o` (the accuracy) and chance agreement
      :math:`p_e = \sum_c \frac{n_c}{n}\frac{\hat n_c}{n}`;
    - F1-macro :math:`= \frac1{|L|}\sum_{c \in L} F1_c` over the labels :math:`L` found
      in ``true`` or ``predicted`` (scikit-learn's default);
    - F1-weighted :math:`= \sum_c \frac{n_c}{n} F1_c`.

    Parameters
    ----------
    true, predicted
        One label per cell (lists, arrays, pandas Series/Categorical), compared by position.
        Labels are compared as strings. Missing values (NaN/None) are refused.

    Returns
    -------
    dict
        ``accuracy``, ``kappa``, ``f1_macro``, ``f1_weighted``, ``n_cells``, ``n_labels``
        (distinct labels in ``true``).

    """
    y_true = labels_of(true, name="true").astype(str)
    y_pred = labels_of(predicted, name="predicted").astype(str)
    if y_true.size != y_pred.size:
        raise ValueError(
            "true, predicted: expected one label per cell each, found "
            f"{y_true.size} and {y_pred.size} labels."
        )
    if y_true.size == 0:
        raise ValueError("true: expected at least one labelled cell, found none.")
    return {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "kappa": float(skm.cohen_kappa_score(y_true, y_pred)),
        "f1_macro": float(skm.f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "f1_weighted": float(skm.f1_score(y_true, y_pred, average="weighted", zero_division=0)),
        "n_cells": int(y_true.size),
        "n_labels": int(pd.unique(y_true).size),
    }


def transfer_labels(
    query: Any,
    reference: AnnData,
    *,
    label_key: str = "cell_type",
    n_neighbors: int = 15,
    use_rep: str | None = None,
    n_pcs: int = 50,
    seed: int = 0,
) -> np.ndarray:
    """Label query cells by a majority vote of their nearest reference cells.

    Both sets must live in the same feature space. Without ``use_rep``, a PCA is fitted on
    the reference matrix (``min(n_pcs, n_reference - 1, n_features - 1)`` components,
    centred; sparse input stays sparse, ARPACK solver) and applied to the query, whose
    features are aligned to the reference's by ``var_names`` when it is an AnnData. With
    ``use_rep``, ``query.obsm[use_rep]`` and ``reference.obsm[use_rep]`` are used as given
    (``"X"`` means the matrices themselves).

    Each query cell takes the most frequent label among its ``k = min(n_neighbors,
    n_reference)`` Euclidean nearest reference cells; a tie goes to the tied label whose
    nearest member is closest.

    Parameters
    ----------
    query
        Cells to label: AnnData, or (without ``use_rep``) a numpy/sparse matrix with the
        reference's features in order.
    reference
        Labelled cells (AnnData).
    label_key
        Column of ``reference.obs`` with the labels (no missing values).
    n_neighbors
        Number of neighbours voting.
    use_rep
        Key of ``.obsm`` holding a shared representation, or ``"X"``; ``None`` for a PCA.
    n_pcs
        Components of the PCA (ignored with ``use_rep``).
    seed
        Random state of the ARPACK PCA.

    Returns
    -------
    numpy.ndarray
        One label per query cell (object array of the reference's labels).

    """
    ref_labels = obs_labels(reference, label_key, name="reference")
    if n_neighbors < 1:
        raise ValueError(f"n_neighbors: expected at least 1, found {n_neighbors}.")
    if reference.n_obs == 0:
        raise ValueError("reference: expected at least one cell, found none.")

    Z_ref, Z_query = _shared_space(query, reference, use_rep=use_rep, n_pcs=n_pcs, seed=seed)
    if Z_query.shape[0] == 0:
        return np.empty(0, dtype=object)

    classes, first, codes = np.unique(
        ref_labels.astype(str), return_index=True, return_inverse=True
    )
    class_objects = ref_labels[first]  # the reference's own label objects

    k = int(min(n_neighbors, Z_ref.shape[0]))
    nn = NearestNeighbors(n_neighbors=k).fit(Z_ref)
    out = np.empty(Z_query.shape[0], dtype=object)
    for start in range(0, Z_query.shape[0], _VOTE_BLOCK):
        block = slice(start, start + _VOTE_BLOCK)
        _, neighbours = nn.kneighbors(Z_query[block])
        out[block] = class_objects[_vote(codes[neighbours], n_classes=classes.size)]
    return out


def _vote(neighbour_codes: np.ndarray, *, n_classes: int) -> np.ndarray:
    """Majority class of each row (neighbours sorted by distance); ties → nearest member."""
    n, k = neighbour_codes.shape
    rows = np.repeat(np.arange(n), k)
    counts = np.zeros((n, n_classes), dtype=np.int64)
    np.add.at(counts, (rows, neighbour_codes.ravel()), 1)
    first_rank = np.full((n, n_classes), k, dtype=np.int64)
    ranks = np.tile(np.arange(k), n)
    np.minimum.at(first_rank, (rows, neighbour_codes.ravel()), ranks)
    return np.argmax(counts * (k + 1) - first_rank, axis=1)


def _shared_space(
    query: Any, reference: AnnData, *, use_rep: str | None, n_pcs: int, seed: int
) -> tuple[Any, Any]:
    if use_rep is not None and use_rep != "X":
        if not isinstance(query, AnnData):
            raise TypeError(
                f"query: expected an AnnData (use_rep={use_rep!r} reads its obsm), found "
                f"{type(query).__name__}."
            )
        for name, data in (("reference", reference), ("query", query)):
            if use_rep not in data.obsm:
                raise MissingKeyError(
                    f"use_rep: expected a key of {name}.obsm ({list(data.obsm)}), found "
                    f"{use_rep!r}."
                )
        Z_ref = np.asarray(reference.obsm[use_rep])
        Z_query = np.asarray(query.obsm[use_rep])
        if Z_ref.ndim != 2 or Z_query.ndim != 2 or Z_ref.shape[1] != Z_query.shape[1]:
            raise ValueError(
                f"obsm[{use_rep!r}]: expected the same number of columns in reference and "
                f"query, found shapes {Z_ref.shape} and {Z_query.shape}."
            )
        check_finite(Z_ref, name=f"reference.obsm[{use_rep!r}]")
        check_finite(Z_query, name=f"query.obsm[{use_rep!r}]")
        return Z_ref, Z_query

    ref = as_table(reference, name="reference")
    qry = as_table(query, name="query")
    X_query = qry.X
    if qry.var_names is not None:
        cols = name_indexer(
            ref.var_names,
            qry.var_names,
            what="var_names",
            ref_name="reference",
            other_name="query",
        )
        X_query = take(X_query, cols=cols)
    if X_query.shape[1] != ref.X.shape[1]:
        raise ValueError(
            "query, reference: expected the same features, found "
            f"{X_query.shape[1]} and {ref.X.shape[1]} columns."
        )
    check_finite(ref.X, name="reference")
    check_finite(X_query, name="query")
    if use_rep == "X":
        return ref.X, X_query

    n_ref, n_features = ref.X.shape
    n_comps = int(min(n_pcs, n_ref - 1, n_features - 1))
    if n_comps < 1:
        raise ValueError(
            "reference: expected enough cells and features for a PCA component, found "
            f"{n_ref} cells × {n_features} features (n_pcs={n_pcs}); pass `use_rep`, or more "
            "cells/features."
        )
    if sparse.issparse(ref.X):
        pca = PCA(n_components=n_comps, svd_solver="arpack", random_state=seed)
        X_ref = sparse.csr_matrix(ref.X, dtype=np.float64)
        X_qry = sparse.csr_matrix(X_query, dtype=np.float64)
    else:
        pca = PCA(n_components=n_comps, random_state=seed)
        X_ref = np.asarray(ref.X, dtype=np.float64)
        X_qry = X_query.toarray() if sparse.issparse(X_query) else X_query
        X_qry = np.asarray(X_qry, dtype=np.float64)
    Z_ref = pca.fit_transform(X_ref)
    return Z_ref, pca.transform(X_qry)
