"""The feature space of one modality: what a model knows of its features and how to map
new cells into them.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from .. import pp
from .._constants import PP_UNS_KEY
from .._validation import (
    check_batch_size,
    check_choice,
    check_finite,
    check_state,
    check_unique_names,
    invalid,
    looks_like_counts,
    missing,
)
from ..kinds import get_kind
from ..pp._map_peaks import overlap_matrix
from ..pp._peaks import peak_coordinates
from ._matching import FeatureMatch, match_by_name, overlap_report

logger = logging.getLogger(__name__)

#: ``var`` columns kept with the model, so that translations carry them.
STORED_VAR_COLUMNS = (
    "chrom",
    "start",
    "end",
    "idf",
    "feature_types",
    "gene_ids",
    "zscore_mean",
    "zscore_std",
)

#: A feature overlap below this share of the model's features is refused (``missing="error"``).
MIN_OVERLAP = 0.5


def _plain(value: Any) -> Any:
    """Numpy scalars as Python scalars (so the saved model needs no pickled numpy objects)."""
    return value.item() if isinstance(value, np.generic) else value


@dataclass
class FeatureSpace:
    """The features of one modality of a model, and the way into them.

    Holds the feature names, the stored ``var`` columns, the fitted preprocessing (from
    ``butterflyvi.pp``) and the registered layer; maps new cells (raw counts or already
    preprocessed values, any feature order) into the model's space; and serialises to plain
    Python types (saved inside ``model.pt``).

    Parameters
    ----------
    modality
        Name of the modality in the MuData.
    kind
        Its kind (:mod:`butterflyvi.kinds`).
    var_names
        The model's features, in order.
    columns
        Stored ``var`` columns (``chrom``, ``start``, ``end``, ``idf``, ...), as lists.
    preprocessing
        The fitted preprocessing state, or ``None`` when the data were not prepared with
        ``butterflyvi.pp``.
    layer
        The registered layer (``None``: ``X``).
    """

    modality: str
    kind: str
    var_names: list[str]
    columns: dict[str, list] = field(default_factory=dict)
    preprocessing: dict | None = None
    layer: str | None = None

    # ------------------------------------------------------------------ building
    @classmethod
    def from_adata(cls, adata: AnnData, *, modality: str, kind: str, layer: str | None):
        """The feature space of a registered modality."""
        columns = {
            c: [_plain(v) for v in adata.var[c].tolist()]
            for c in STORED_VAR_COLUMNS
            if c in adata.var
        }
        state = adata.uns.get(PP_UNS_KEY)
        return cls(
            modality=modality,
            kind=kind,
            var_names=adata.var_names.astype(str).tolist(),
            columns=columns,
            preprocessing={k: _plain(v) for k, v in state.items()}
            if isinstance(state, Mapping)
            else None,
            layer=layer,
        )

    @classmethod
    def from_saved(cls, features: Mapping, preprocessing: Any, layer: Any, *, modality, kind):
        """The feature space from the plain attributes a model saves (``features_`` etc.)."""
        return cls(
            modality=modality,
            kind=kind,
            var_names=list(features["var_names"]),
            columns=dict(features.get("columns", {})),
            preprocessing=dict(preprocessing) if isinstance(preprocessing, Mapping) else None,
            layer=layer,
        )

    def to_saved(self) -> dict:
        """The plain ``features_`` entry of this modality (names and stored columns)."""
        return {"var_names": list(self.var_names), "columns": dict(self.columns)}

    # ------------------------------------------------------------------ description
    @property
    def n_features(self) -> int:
        """Number of features."""
        return len(self.var_names)

    def var(self) -> pd.DataFrame:
        """The stored feature table, indexed by feature name."""
        var = pd.DataFrame(index=pd.Index(self.var_names, name=None))
        for column, values in self.columns.items():
            var[column] = values
        return var

    def layout(self) -> Any:
        """What the kind's networks need from the feature table (see ``Kind.layout``)."""
        return get_kind(self.kind).layout(self.var())

    # ------------------------------------------------------------------ new cells
    def has_coordinates(self) -> bool:
        """Whether the features are genomic intervals (stored ``chrom``/``start``/``end``)."""
        return all(c in self.columns for c in ("chrom", "start", "end"))

    def match(self, adata: AnnData) -> FeatureMatch:
        """Which features of ``adata`` feed this space's features.

        Genes and proteins by name: exact, then Ensembl id (``var["gene_ids"]`` or ids as
        names, versions stripped), then without a genome prefix (``GRCh38_CD3E``), then
        ignoring case — a human model refuses mouse data and the reverse. Genomic intervals
        (peaks) by name, then the remaining ones by overlap with the data's own peaks (from
        ``var`` ``chrom``/``start``/``end`` or names such as ``chr1:100-200``), whose counts
        are summed.
        """
        names = pd.Index(self.var_names)
        if not self.has_coordinates():
            ids = self.columns.get("gene_ids")
            positions, counts = match_by_name(names, None if ids is None else pd.Index(ids), adata)
            report = overlap_report(positions, counts, len(names), adata.n_vars)
            return FeatureMatch(names, positions, report=report)
        data_names = pd.Index(adata.var_names.astype(str))
        positions = data_names.get_indexer(names)
        positions[~pd.Index(names).isin(data_names[~data_names.duplicated(keep=False)])] = -1
        overlap = None
        if (positions < 0).any():
            overlap = self._overlap_with(adata, positions)
        report = overlap_report(positions, {"exact": 0}, len(names), adata.n_vars, overlap)
        return FeatureMatch(names, positions, overlap=overlap, report=report)

    def _overlap_with(self, adata: AnnData, positions: np.ndarray):
        """Input peaks (not matched by name) × model peaks (not matched by name) that
        overlap, or ``None`` when the data's features are not genomic intervals.
        """
        try:
            source = peak_coordinates(adata.var)
        except ValueError:
            return None
        model = pd.DataFrame({c: self.columns[c] for c in ("chrom", "start", "end")})
        overlap = overlap_matrix(source, model).tolil()
        overlap[positions[positions >= 0], :] = 0
        overlap = overlap.tocsc()
        overlap[:, np.flatnonzero(positions >= 0)] = 0
        overlap = overlap.tocsr()
        overlap.eliminate_zeros()
        return overlap if overlap.nnz else None

    def wants_preprocessing(self, adata: AnnData, matrix, preprocess: bool | str) -> bool:
        """Whether the stored preprocessing must be applied to ``adata``.

        ``"auto"``: when the model stores a fitted preprocessing, the data carry none of their
        own (no ``uns["butterflyvi_preprocessing"]``) and their values are raw counts.
        """
        has_state = self.preprocessing is not None
        if preprocess == "auto":
            return has_state and PP_UNS_KEY not in adata.uns and looks_like_counts(matrix)
        if not isinstance(preprocess, bool):
            raise invalid("preprocess", "True, False or 'auto'", repr(preprocess))
        if preprocess and not has_state:
            raise invalid(
                "preprocess",
                "a model that stores a fitted preprocessing for this modality",
                "a model trained on data not prepared with butterflyvi.pp",
                "Preprocess the data yourself and pass preprocess=False.",
            )
        return preprocess

    def to_model_space(
        self,
        adata: AnnData,
        *,
        preprocess: bool | Literal["auto"] = "auto",
        missing_features: Literal["auto", "error", "zero"] = "auto",
        layer: str | None = None,
        min_overlap: float = MIN_OVERLAP,
        match: FeatureMatch | None = None,
    ):
        """The cells of ``adata`` as a matrix in this feature space (sparse CSR or dense).

        Raw counts are preprocessed with the stored state (``preprocess="auto"``); features
        are matched as :meth:`match` does (``match``: a match computed already) and
        reordered. Model
        features absent from the data: ``"auto"`` fills them with zeros when the data hold at
        least ``min_overlap`` of the model's features and refuses otherwise; ``"error"``
        refuses any; ``"zero"`` always fills. A backed AnnData gives a :class:`RowBlocks`
        that reads and transforms row blocks on demand.
        """
        check_choice(missing_features, name="missing", choices=("auto", "error", "zero"))
        if adata.n_obs == 0:
            raise invalid("data", "at least one cell", "none")
        if layer is not None and layer not in adata.layers:
            raise missing("layer", f"one of the layers {list(adata.layers)}", repr(layer))
        matrix = adata.X if layer is None else adata.layers[layer]
        decided = self.wants_preprocessing(adata, matrix, preprocess)
        match = match or self.match(adata)
        if adata.isbacked:
            # On disk: decide once, then read, preprocess and check the rows block by block.
            def transform(block: AnnData):
                return self.to_model_space(
                    block,
                    preprocess=decided,
                    missing_features=missing_features,
                    layer=layer,
                    min_overlap=min_overlap,
                    match=match,
                )

            return RowBlocks(adata, transform, self.n_features)
        missing_features = self.resolve_missing(match.report, missing_features, min_overlap)
        view = match.apply(adata, layer)
        if decided:
            return self.preprocessed(view, layer=layer, missing_features=missing_features)
        matrix = align_features(
            view.X if layer is None else view.layers[layer],
            view.var_names,
            pd.Index(self.var_names),
            missing=missing_features,
            what=f"data ({self.modality})",
        )
        check_finite(matrix, name=f"data ({self.modality})")
        return matrix

    def preprocessed(self, adata: AnnData, *, layer: str | None, missing_features: str):
        """The stored preprocessing of this modality's kind applied to the raw counts of
        ``adata`` (features matched by name), as a CSR matrix in this feature space.
        """
        kind = get_kind(self.kind)
        check_state(
            self.preprocessing,
            required={self.kind: kind.state_keys},
            name=f"preprocessing of {self.modality!r}",
        )
        prepared = pp.apply_fitted(
            adata,
            state=self.preprocessing,
            var=self.var(),
            apply=kind.apply,
            layer=layer,
            missing=missing_features,
        )
        return prepared.X

    def resolve_missing(self, report: dict, missing_features: str, min_overlap: float) -> str:
        """``"error"`` or ``"zero"`` for data matched as ``report`` says (see
        :meth:`to_model_space`); refuses an ``"auto"`` overlap below ``min_overlap``.
        """
        if missing_features != "auto":
            return missing_features
        if report["n_matched"] == report["n_model_features"]:
            return "error"
        text = (
            f"the data hold {report['n_matched']:,} of the model's "
            f"{report['n_model_features']:,} {self.modality} features ({report['fraction']:.1%}; "
            f"matched by {report['method']})"
        )
        if report["fraction"] < min_overlap:
            raise invalid(
                "data",
                f"at least {min_overlap:.0%} of the model's {self.modality} features",
                text,
                "Check that the data are of the same species and feature type (gene symbols, "
                "Ensembl ids in var['gene_ids'], peaks with coordinates in their names or in "
                "var chrom/start/end), or pass missing='zero' to translate anyway.",
            )
        return "zero"


def align_features(matrix, var_names: pd.Index, reference: pd.Index, *, missing: str, what: str):
    """Columns of ``matrix`` reordered to ``reference``; absent ones refused or zero-filled.

    Returns a CSR matrix (or the input untouched when the features already match).
    """
    check_choice(missing, name="missing", choices=("error", "zero"))
    if var_names.equals(reference):
        return matrix
    check_unique_names(var_names, name=f"{what} var_names")
    position = var_names.get_indexer(reference)
    absent = position < 0
    if absent.any():
        examples = ", ".join(map(str, reference[absent][:5]))
        text = (
            f"{what}: {int(absent.sum())} of the model's {len(reference)} features are missing "
            f"from the data (e.g. {examples})."
        )
        if missing == "error":
            raise ValueError(
                text + " Pass missing='zero' to fill them with zeros (this lowers accuracy)."
            )
        warnings.warn(text + " They are filled with zeros.", UserWarning, stacklevel=3)
    csr = sp.csr_matrix(matrix) if not sp.issparse(matrix) else matrix.tocsr()
    # Select present columns, then place them at their reference positions.
    present = np.flatnonzero(~absent)
    selected = csr[:, position[present]].tocoo()
    return sp.csr_matrix(
        (selected.data, (selected.row, present[selected.col])),
        shape=(csr.shape[0], len(reference)),
        dtype=np.float32,
    )


def iterate_rows(
    matrix, batch_size: int, *, keep_sparse: bool = False
) -> Iterator[np.ndarray | sp.csr_matrix]:
    """Float32 row blocks of ``matrix``, dense (only one block is dense at a time) or, with
    ``keep_sparse``, CSR where ``matrix`` is sparse.
    """
    check_batch_size(batch_size)
    n = matrix.shape[0]
    for start in range(0, n, batch_size):
        block = matrix[start : start + batch_size]
        if sp.issparse(block) and keep_sparse:
            yield sp.csr_matrix(block, dtype=np.float32)
            continue
        block = block.toarray() if sp.issparse(block) else np.asarray(block)
        yield block.astype(np.float32, copy=False)


class RowBlocks:
    """The rows of an on-disk (backed) AnnData in the model's feature space, block by block.

    ``blocks[start:stop]`` reads only those rows from disk (``adata[start:stop].to_memory()``)
    and returns ``transform`` of that in-memory AnnData, so resident memory stays at one block
    whatever the number of cells. Every step of the transform (preprocessing, feature
    alignment, checks) works row by row, so the blocks equal the rows of the whole.

    Parameters
    ----------
    adata
        AnnData opened backed (``adata.isbacked``), e.g. a modality of
        ``mudata.read_h5mu(path, backed=True)``.
    transform
        Maps an in-memory row block (AnnData) to its matrix in the model's feature space.
    n_features
        Number of columns ``transform`` returns.
    """

    def __init__(self, adata: AnnData, transform: Callable[[AnnData], object], n_features: int):
        self.adata = adata
        self.transform = transform
        self.shape = (adata.n_obs, int(n_features))

    def __getitem__(self, rows: slice):
        """The transformed rows ``rows`` (a slice)."""
        if not isinstance(rows, slice):
            raise TypeError(f"rows: expected a slice, found {type(rows).__name__}.")
        return self.transform(self.adata[rows].to_memory())


def feature_mean_std(matrix, *, block_rows: int = 10_000, transform=None):
    """Per-feature mean and standard deviation of a sparse, dense or on-disk matrix.

    Never densifies the whole matrix. ``transform`` maps each CSR row block first (e.g. to
    the binarised values a Bernoulli likelihood fits). An on-disk matrix (of an AnnData
    opened backed) is read ``block_rows`` rows at a time.
    """
    n_rows = matrix.shape[0]
    total = total_sq = 0.0
    for start in range(0, n_rows, block_rows):
        block = matrix[start : start + block_rows]
        block = sp.csr_matrix(block, dtype=np.float64)
        if transform is not None:
            block = transform(block)
        total = total + np.asarray(block.sum(axis=0)).ravel()
        total_sq = total_sq + np.asarray(block.multiply(block).sum(axis=0)).ravel()
    mean, mean_sq = total / n_rows, total_sq / n_rows
    return mean, np.sqrt(np.maximum(mean_sq - mean**2, 0.0))


def binarised(block: sp.csr_matrix) -> sp.csr_matrix:
    """The non-zero pattern of a CSR block as 0/1 values."""
    out = block.copy()
    out.data = (out.data > 0).astype(np.float64)
    return out
